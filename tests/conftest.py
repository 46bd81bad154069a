"""Shared fixtures. Prefect integration fixtures live in tests/integration/conftest.py."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CONFIG = REPO / "config"


@pytest.fixture
def config_copy(tmp_path: Path) -> Path:
    """A private copy of `config/` that a test may break."""
    target = tmp_path / "config"
    shutil.copytree(CONFIG, target)
    return target
