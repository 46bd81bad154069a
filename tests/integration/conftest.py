"""The real Prefect engine: one temporary server for the whole session (it takes seconds).

Each test gets its own domain store and outbox (IMRF_DATA_DIR) so counts are exact; flows
reach the store through `tasks.context`, which is reset per test.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tasks import context


@pytest.fixture(scope="session", autouse=True)
def prefect_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
    from prefect.testing.utilities import prefect_test_harness

    # Heartbeats detect crashed runs in production; here they only add a second per flow run.
    with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}), \
            prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh store and outbox for one test; no SendGrid key: e-mail goes to the outbox."""
    monkeypatch.setenv("IMRF_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("SENDGRID_API_KEY", raising=False)
    monkeypatch.delenv("IMRF_DATABASE_URL", raising=False)
    context.reset()
    yield tmp_path / "data"
    context.reset()


@pytest.fixture
def sample_contacts(data_dir: Path) -> int:
    from imrf.contacts import read_csv

    rows = read_csv(Path(__file__).resolve().parents[2] / "config" / "contacts-sample.csv")
    report = context.app().registry.import_rows(rows)
    assert not report.errors
    return report.imported
