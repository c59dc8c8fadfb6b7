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


#: The parity check under the portable CPU kernels runs in a subprocess started as soon as the tests
#: are collected, so it overlaps the many single-threaded data tests; its test waits for it.
OTHER_KERNELS_TEST = "test_parity_cli_passes_on_other_cpu_kernels"


def pytest_collection_finish(session: pytest.Session) -> None:
    if not any(item.name == OTHER_KERNELS_TEST for item in session.items):
        return
    from model_fixtures import PARITY_FILE

    env = {**os.environ, "ONEDNN_MAX_CPU_ISA": "SSE41", "ATEN_CPU_CAPABILITY": "default"}
    cmd = [sys.executable, "-m", "acgpn.cli.main", "parity", str(PARITY_FILE)]
    session.config._other_kernels_parity = subprocess.Popen(  # type: ignore[attr-defined]
        cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def pytest_unconfigure(config: pytest.Config) -> None:
    proc = getattr(config, "_other_kernels_parity", None)
    if proc is not None and proc.poll() is None:
        proc.kill()


@pytest.fixture(scope="session")
def other_kernels_parity(request: pytest.FixtureRequest) -> tuple[int, str]:
    """(exit code, output) of ``acgpn parity`` under ONEDNN_MAX_CPU_ISA=SSE41 ATEN_CPU_CAPABILITY=default."""
    proc = request.config._other_kernels_parity  # type: ignore[attr-defined]
    out, _ = proc.communicate(timeout=900)
    return proc.returncode, out


@pytest.fixture
def one_thread():
    """Run a test on one thread: tiny nets run ~10x faster than on two busy cores (no OpenMP
    hand-offs), and it is the thread count of torchrun's workers (OMP_NUM_THREADS=1), so kernels
    round alike in single-process and sharded runs."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
