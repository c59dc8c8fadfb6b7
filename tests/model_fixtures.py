"""Shared model fixtures (registered by conftest via ``pytest_plugins``).

Official-size nets with the reference recipe weights: building them takes a few seconds, a
forward about 3 s per 256x192 image on 2 CPU cores, so tests share one instance.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from acgpn import checkpoints
from acgpn.parity import recipe_nets

REPO = Path(__file__).resolve().parents[1]


def roughness(pixels: np.ndarray) -> float:
    """Mean absolute difference of neighbouring pixels over the image's spread: about 1.1 for
    noise, 0.12-0.16 for the embedded model's try-ons, ~0.7 for a random-weight model's (noise
    outside the preserved pixels). The picture-not-noise check of the photo and browser tests."""
    x = pixels.astype(np.float64)
    steps = np.abs(np.diff(x, axis=0)).mean() + np.abs(np.diff(x, axis=1)).mean()
    return float(steps / 2 / (x.std() + 1e-9))


def shared_reference() -> Path:
    """Reference data kept in the repository (tests/data): the parity vectors of seed 1 and the
    official state-dict manifests (copies of the project's shared reference, see tests/data/README.md)."""
    return REPO / "tests" / "data"


PARITY_FILE = shared_reference() / "parity_seed1.safetensors"


def one_sample_vectors(folder: Path, index: int = 1) -> Path:
    """A copy of the parity vectors holding sample ``index`` alone (every input and output; the
    shared TPS buffer whole): half the cost of a protocol run. Sample 1 holds near-tie G1 pixels
    that any weight perturbation flips (2-3 of them for perturbation seeds 0-2), sample 0 not always."""
    from safetensors import safe_open
    from safetensors.torch import save_file

    path = Path(folder) / f"parity_seed1_sample{index}.safetensors"
    with safe_open(str(PARITY_FILE), "pt") as f:
        one = {k: f.get_tensor(k) if k == "out.tps_inverse_kernel" else f.get_tensor(k)[index : index + 1].contiguous() for k in f.keys()}
        save_file(one, str(path), metadata=f.metadata())
    return path


@pytest.fixture(scope="session")
def recipe_seed1():
    """The four official nets with recipe weights of case seed 1 (eval mode, CPU, float32)."""
    torch.set_num_threads(max(1, torch.get_num_threads()))
    return recipe_nets(1)


@pytest.fixture(scope="session")
def official_dir(tmp_path_factory, recipe_seed1) -> Path:
    """The recipe nets saved as official ``latest_net_{U,G1,G2,G}.pth`` files."""
    folder = tmp_path_factory.mktemp("official")
    checkpoints.save_official(folder, recipe_seed1)
    return folder
