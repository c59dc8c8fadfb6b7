"""Shared fixtures: small synthetic datasets generated once per test session, and the run's schedule.

Schedule on 2 cores. ``make test`` runs two pytest-xdist workers (``-n 2 --dist worksteal``), one
thread each: the long tests (the other-kernels parity run, then those marked ``slow``: full-size
nets, subprocess and browser runs) are handed out first, so that the short ones fill the gaps and
neither core waits at the end. A plain ``pytest`` run (one process) keeps its own schedule: tests
marked ``slow`` run last, on every core; the others first, on one thread (their small nets gain
nothing from a second one). Meanwhile the parity check on other CPU kernels runs in a one-thread
subprocess started at collection, on the core they leave free (its test, the very last, collects
the result), and the web demo's server starts there for the browser test.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch

from acgpn.synth import generate_dataset

pytest_plugins = ["model_fixtures"]  # recipe-weight nets shared by the model tests

ALL_THREADS = torch.get_num_threads()
#: This process's pytest-xdist worker id (gw0, gw1, ...), or None in a plain run.
XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER")
OTHER_KERNELS_TEST = "test_parity_cli_passes_on_other_cpu_kernels"


@dataclass
class Background:
    """A process started at collection and ended with the session, which also removes its folder."""

    proc: subprocess.Popen
    folder: Path
    url: str = ""


#: The session's background processes by name: "other_kernels", "demo" (test_demo_browser's server).
BACKGROUND = pytest.StashKey[dict[str, Background]]()


def _start_other_kernels_parity() -> Background:
    """``acgpn parity`` under ONEDNN_MAX_CPU_ISA=SSE41 ATEN_CPU_CAPABILITY=default, one thread, on
    sample 1 of the vectors with every output (the portable kernels run the official-size nets
    about 3x slower; ``make check-kernels`` runs the whole file); output in ``folder/output.txt``."""
    from model_fixtures import PARITY_FILE
    from safetensors import safe_open
    from safetensors.torch import save_file

    folder = Path(tempfile.mkdtemp(prefix="acgpn-kernels-"))
    path = folder / "parity_seed1_sample1.safetensors"
    with safe_open(str(PARITY_FILE), "pt") as f:
        one = {k: f.get_tensor(k) if k == "out.tps_inverse_kernel" else f.get_tensor(k)[1:2].contiguous() for k in f.keys()}
        save_file(one, str(path), metadata=f.metadata())
    env = {**os.environ, "ONEDNN_MAX_CPU_ISA": "SSE41", "ATEN_CPU_CAPABILITY": "default", "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "acgpn.cli.main", "parity", str(path)]
    with (folder / "output.txt").open("w") as log:
        return Background(subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT), folder)


@pytest.hookimpl(trylast=True)  # after -m / -k deselection
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Order and background processes (see the module docstring). Under xdist every worker
    collects the same items and sorts them alike, as it must; nothing starts in the background."""
    if XDIST_WORKER is not None:
        items.sort(key=lambda item: (item.name != OTHER_KERNELS_TEST, item.get_closest_marker("slow") is None))
        return
    items.sort(key=lambda item: (item.name == OTHER_KERNELS_TEST, item.get_closest_marker("slow") is not None))
    background = config.stash.setdefault(BACKGROUND, {})
    if any(item.name == OTHER_KERNELS_TEST for item in items):
        background["other_kernels"] = _start_other_kernels_parity()
    browser = next((item for item in items if item.module.__name__ == "test_demo_browser"), None)  # type: ignore[attr-defined]
    if browser is not None and browser.module.demo_available():  # type: ignore[attr-defined]
        work = Path(tempfile.mkdtemp(prefix="acgpn-demo-"))
        proc, url = browser.module.start_demo_server(work)  # type: ignore[attr-defined]
        background["demo"] = Background(proc, work, url)


def pytest_runtest_setup(item: pytest.Item) -> None:
    """One thread per test, except ``slow`` ones in a plain run: every core (set before their fixtures are built)."""
    torch.set_num_threads(ALL_THREADS if item.get_closest_marker("slow") and XDIST_WORKER is None else 1)


def pytest_sessionfinish(session: pytest.Session) -> None:
    for job in session.config.stash.get(BACKGROUND, {}).values():
        if job.proc.poll() is None:
            job.proc.kill()
            job.proc.wait()
        shutil.rmtree(job.folder, ignore_errors=True)


@pytest.fixture(scope="session")
def other_kernels_parity(request: pytest.FixtureRequest) -> tuple[int, str]:
    """(exit code, output) of the other-kernels parity run: the one started at collection in a
    plain run, else started now (see the module docstring)."""
    background = request.config.stash.setdefault(BACKGROUND, {})  # its folder goes at the session's end
    if "other_kernels" not in background:  # under xdist: nothing was started at collection
        background["other_kernels"] = _start_other_kernels_parity()
    job = background["other_kernels"]
    code = job.proc.wait(timeout=900)
    return code, (job.folder / "output.txt").read_text()


@pytest.fixture(scope="session")
def synth_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """6 synthetic samples at 256x192, seed 0, phase "test" (VITON layout); the dataset root."""
    return generate_dataset(tmp_path_factory.mktemp("synth") / "data", 6, (256, 192), seed=0)


@pytest.fixture(scope="session")
def small_synth_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """4 synthetic samples at 64x48, seed 0, phase "test"; the dataset root."""
    return generate_dataset(tmp_path_factory.mktemp("synth_small") / "data", 4, (64, 48), seed=0)


@pytest.fixture
def one_thread():
    """Run a test on one thread: tiny nets run ~10x faster than on two busy cores (no OpenMP
    hand-offs), and it is the thread count of torchrun's workers (OMP_NUM_THREADS=1), so kernels
    round alike in single-process and sharded runs."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
