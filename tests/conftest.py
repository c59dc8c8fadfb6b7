"""Shared fixtures: small synthetic datasets generated once per test session."""

from __future__ import annotations

from pathlib import Path

import pytest

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
