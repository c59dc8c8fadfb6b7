"""Shared fixtures: small synthetic datasets generated once per test session."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from acgpn.synth import generate_dataset

pytest_plugins = ["model_fixtures"]  # recipe-weight nets shared by the model tests


@pytest.fixture(scope="session")
def synth_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """6 synthetic samples at 256x192, seed 0, phase "test" (VITON layout); the dataset root."""
    return generate_dataset(tmp_path_factory.mktemp("synth") / "data", 6, (256, 192), seed=0)


@pytest.fixture(scope="session")
def small_synth_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """4 synthetic samples at 64x48, seed 0, phase "test"; the dataset root."""
    return generate_dataset(tmp_path_factory.mktemp("synth_small") / "data", 4, (64, 48), seed=0)


@pytest.fixture(scope="session")
def other_kernels_parity(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, str]:
    """(exit code, output) of ``acgpn parity`` under ONEDNN_MAX_CPU_ISA=SSE41 ATEN_CPU_CAPABILITY=default,
    on sample 1 of the vectors with every output (a one-sample file: the portable kernels run the
    official-size nets about 3x slower; the whole file is checked by ``make check-kernels``).

    Run alone, not beside the other tests: on 2 cores two multi-threaded torch processes slow each
    other down several times over (their OpenMP threads spin while waiting)."""
    from model_fixtures import PARITY_FILE
    from safetensors import safe_open
    from safetensors.torch import save_file

    with safe_open(str(PARITY_FILE), "pt") as f:
        one = {k: f.get_tensor(k) if k == "out.tps_inverse_kernel" else f.get_tensor(k)[1:2].contiguous() for k in f.keys()}
        path = tmp_path_factory.mktemp("kernels") / "parity_seed1_sample1.safetensors"
        save_file(one, str(path), metadata=f.metadata())
    env = {**os.environ, "ONEDNN_MAX_CPU_ISA": "SSE41", "ATEN_CPU_CAPABILITY": "default"}
    cmd = [sys.executable, "-m", "acgpn.cli.main", "parity", str(path)]
    done = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=900)
    return done.returncode, done.stdout


@pytest.fixture
def one_thread():
    """Run a test on one thread: tiny nets run ~10x faster than on two busy cores (no OpenMP
    hand-offs), and it is the thread count of torchrun's workers (OMP_NUM_THREADS=1), so kernels
    round alike in single-process and sharded runs."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
