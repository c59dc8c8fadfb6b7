"""Shared fixtures: small synthetic datasets generated once per test session, and the run's schedule.

Schedule on 2 cores. ``make test`` runs two pytest-xdist workers (``-n 2 --dist worksteal``), one
thread each: the long tests (those marked ``slow``: full-size nets, subprocess and browser runs)
are handed out first, so that the short ones fill the gaps and neither core waits at the end. A
plain ``pytest`` run (one process) keeps its own schedule: tests marked ``slow`` run last, on
every core; the others first, on one thread (their small nets gain nothing from a second one).
Meanwhile the web demo's server starts in the background for the browser test. The parity run on
the portable CPU kernels is ``make check-kernels`` (CI runs it after ``make test``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
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


@dataclass
class Background:
    """A process started at collection and ended with the session, which also removes its folder."""

    proc: subprocess.Popen
    folder: Path
    url: str = ""


#: The session's background processes by name: "demo" (test_demo_browser's server).
BACKGROUND = pytest.StashKey[dict[str, Background]]()


@pytest.hookimpl(trylast=True)  # after -m / -k deselection
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Order and background processes (see the module docstring). Under xdist every worker
    collects the same items and sorts them alike, as it must; nothing starts in the background."""
    if XDIST_WORKER is not None:
        items.sort(key=lambda item: item.get_closest_marker("slow") is None)
        return
    items.sort(key=lambda item: item.get_closest_marker("slow") is not None)
    background = config.stash.setdefault(BACKGROUND, {})
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
