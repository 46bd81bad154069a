"""Shared fixtures. Prefect integration fixtures live in tests/integration/conftest.py."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from imrf.store import Store
from imrf.store.scratch import POSTGRESQL, SQLITE, empty_database, unavailable

REPO = Path(__file__).resolve().parents[1]
CONFIG = REPO / "config"


@pytest.fixture
def config_copy(tmp_path: Path) -> Path:
    """A private copy of `config/` that a test may break."""
    target = tmp_path / "config"
    shutil.copytree(CONFIG, target)
    return target


@pytest.fixture
def cli_data_dir(tmp_path: Path, config_copy: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A clean environment for a command: no IMRF_* or SendGrid variables from the outside
    world (so e-mail goes to the outbox), a private copy of config/, an empty data directory
    (returned) under ``tmp_path``."""
    for name in list(os.environ):
        if name.startswith("IMRF_") or name == "SENDGRID_API_KEY":
            monkeypatch.delenv(name)
    monkeypatch.setenv("IMRF_CONFIG_DIR", str(config_copy))
    monkeypatch.setenv("IMRF_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


@pytest.fixture(scope="session")
def child_env() -> Callable[..., dict[str, str]]:
    """The environment for a command run as a child process: this one without the outside
    world's IMRF_*, PREFECT_* and SendGrid variables, plus the given ones."""

    def build(**extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("PREFECT_", "IMRF_")) and k != "SENDGRID_API_KEY"}
        env.update(extra)
        return env

    return build


@pytest.fixture(params=[SQLITE, pytest.param(POSTGRESQL, marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of each kind (PostgreSQL skipped when its server is not reachable)."""
    if why := unavailable(request.param):
        pytest.skip(why)
    with empty_database(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def store(url: str) -> Iterator[Store]:
    store = Store(url)
    yield store
    store.dispose()
