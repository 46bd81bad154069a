"""The production topology under test: PostgreSQL, an authenticated Prefect server, two workers.

Run with `make test-prod` (or `pytest tests/prod`, `pytest -m prod`); the default `pytest`
run leaves these modules out. The session brings up its own topology (`prod.topology`, the
code behind `make up-prod`) on ports of its own: PostgreSQL cluster `imrftest` on 5434 with
fresh databases, the Prefect server on 4310, and a fake SendGrid served from this process on
3310, so each test can inject faults and count what was delivered. Logs stay under
`.imrf/prod-test/` after the session.

The workers get the SendGrid key from the Secret block only. Each test uses its own edition,
so the ledger's rows and the fake's deliveries of one test are told apart by edition.
"""

from __future__ import annotations

import os
import secrets
import shutil
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:  # the driver in prod/ is not an installed package
    sys.path.insert(0, str(REPO))

from prod_harness import Prod  # noqa: E402

from imrf.devtools.fake_sendgrid import FakeSendGrid  # noqa: E402
from prod.topology import (  # noqa: E402
    Topology,
    apply_client_env,
    create_database,
    down,
    ensure_postgresql,
    up,
)

PROD_DIR = Path(__file__).resolve().parent
TOPO = Topology(name="prod-test", server_port=4310, pg_cluster="imrftest", pg_port=5434,
                fake_sendgrid_port=3310)
CONTACTS = 11_000  # enough that the inputs-due notice goes to more than 10,000 people


def _selected(config: pytest.Config) -> bool:
    if "prod" in (config.getoption("markexpr") or "").replace("not prod", ""):
        return True
    for arg in config.args:
        target = Path(arg.split("::")[0]).resolve()
        if target == PROD_DIR or PROD_DIR in target.parents:
            return True
    return False


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """Leave tests/prod out unless the run names it or selects the prod marker."""
    if collection_path.suffix != ".py" or not collection_path.name.startswith("test_"):
        return None
    return None if _selected(config) else True


def pytest_configure(config: pytest.Config) -> None:
    # Before any test module imports Prefect: its settings are read once, at import.
    if _selected(config):
        apply_client_env(TOPO)


@pytest.fixture(scope="session")
def prod() -> Iterator[Prod]:
    from imrf.contacts import ContactRegistry
    from imrf.simulation import synthetic_contacts
    from imrf.store import Store

    if os.geteuid() != 0 and shutil.which("pg_createcluster"):
        pytest.skip("the production topology makes its own PostgreSQL cluster: run as root")
    down(TOPO)  # leftovers of an interrupted session
    for leftover in ("results", "data", "client-home", "server-home"):
        shutil.rmtree(TOPO.dir / leftover, ignore_errors=True)
    ensure_postgresql(TOPO)
    for database in (TOPO.prefect_db, TOPO.store_db):
        create_database(TOPO, database, fresh=True)
    store = Store(TOPO.store_url)
    store.ensure_schema()
    report = ContactRegistry(store).import_rows(synthetic_contacts(CONTACTS))
    assert not report.errors
    key = f"SG.prod-test-{secrets.token_urlsafe(18)}"
    fake = FakeSendGrid(api_keys=(key,), port=TOPO.fake_sendgrid_port).start()
    try:
        up(TOPO, sendgrid_host=fake.host, sendgrid_key=key)
        yield Prod(TOPO, fake, key, store)
    finally:
        down(TOPO)
        fake.stop()
        store.dispose()


@pytest.fixture
def blocking_request(prod: Prod) -> Iterator[Callable[[int], Any]]:
    """Make the fake SendGrid hold request N (after accepting it) until released."""
    import threading

    from imrf.devtools.fake_sendgrid import Fault

    gates: list[tuple[threading.Event, threading.Event]] = []

    def hold(after: int) -> tuple[threading.Event, threading.Event]:
        reached, release = threading.Event(), threading.Event()

        def hook(_: Any) -> None:
            reached.set()
            release.wait(300)
            if getattr(release, "drop", False):
                raise ConnectionAbortedError("the client is gone")

        passing = Fault.accept_then_hook(lambda _: None)
        prod.fake.inject(*([passing] * (after - 1)), Fault.accept_then_hook(hook))
        gates.append((reached, release))
        return reached, release

    yield hold
    for _, release in gates:
        release.set()
    prod.fake.reset()
