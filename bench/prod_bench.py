"""E-mails per second through the whole path, production topology against embedded default.

The same work both ways: two stage runs of one edition (input-collection, ~10,000 recipients,
and stakeholder-registration, ~8,500) over 11,000 synthetic contacts, each e-mail going flow
run → task → notifier → ledger → SendGrid's API, answered by the local fake SendGrid served
from this process (both sides share it).

- production: PostgreSQL (cluster `imrftest`, databases of its own), the Prefect server with
  its auth string, two process workers; the two runs are triggered at once, one per worker.
  Rate = e-mails / (last run's end − first run's start), the server's own timestamps; the
  figure with the workers' pick-up delay (trigger to last end) is shown beside it.
- embedded default: SQLite store, Prefect's local server on SQLite, the flows called in one
  process, one after the other (what `make run` does with one process serving).

Three editions each; the median is shown. Prefect is driven over its REST API here, so this
suite does not depend on which Prefect settings other suites imported first.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import secrets
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench.common import PYTHON, Figure
from imrf.devtools.fake_sendgrid import FakeSendGrid

CONTACTS = 11_000
EDITIONS = (2030, 2034, 2038)
STAGES = {  # stage flow → the as_of of its run
    "imrf-input-collection": "01-20",
    "imrf-stakeholder-registration": "03-01",
}


def run() -> list[Figure]:
    key = f"SG.bench-{secrets.token_urlsafe(16)}"
    with FakeSendGrid(api_keys=(key,), port=0, max_records=1000) as fake:
        prod_rates, prod_e2e, sent = _production(fake, key)
        embedded_rates = _embedded(fake, key)
    prod_rate, embedded_rate = statistics.median(prod_rates), statistics.median(embedded_rates)
    return [Figure(
        f"{sent} e-mails, 2 stage runs, PostgreSQL + 2 workers",
        sent / prod_rate, baseline="embedded default (SQLite, one process)",
        baseline_s=sent / embedded_rate,
        extra=(f"{prod_rate:.0f} vs {embedded_rate:.0f} e-mails/s, ratio "
               f"{prod_rate / embedded_rate:.2f}x; with worker pick-up "
               f"{statistics.median(prod_e2e):.0f} e-mails/s"),
    )]


# --- production ----------------------------------------------------------------------------


def _production(fake: FakeSendGrid, key: str) -> tuple[list[float], list[float], int]:
    from imrf.contacts import ContactRegistry
    from imrf.ledger import Ledger
    from imrf.simulation import synthetic_contacts
    from imrf.store import Store
    from prod.topology import Topology, create_database, down, ensure_postgresql, up

    topo = Topology(name="prod-bench", server_port=4320, pg_cluster="imrftest", pg_port=5434,
                    prefect_db="imrf_prefect_bench", store_db="imrf_store_bench")
    down(topo)
    ensure_postgresql(topo)
    for database in (topo.prefect_db, topo.store_db):
        create_database(topo, database, fresh=True)
    store = Store(topo.store_url)
    store.ensure_schema()
    ContactRegistry(store).import_rows(synthetic_contacts(CONTACTS))
    saved = dict(os.environ)
    try:
        up(topo, sendgrid_host=fake.host, sendgrid_key=key)
        api = _Api(topo.api_url, topo.auth_string)
        rates, e2e, sent = [], [], 0
        for edition in EDITIONS:
            started = time.time()
            ids = [api.trigger(flow, edition, f"{edition}-{day}") for flow, day in STAGES.items()]
            runs = [api.wait(run_id) for run_id in ids]
            sent = sum(row.count for row in Ledger(store).summary(edition)
                       if row.state.value == "sent")
            first = min(_ts(r["start_time"]) for r in runs)
            last = max(_ts(r["end_time"]) for r in runs)
            rates.append(sent / (last - first))
            e2e.append(sent / (last - started))
        return rates, e2e, sent
    finally:
        down(topo)
        store.dispose()
        os.environ.clear()
        os.environ.update(saved)


class _Api:
    def __init__(self, url: str, auth: str) -> None:
        token = base64.b64encode(auth.encode()).decode()
        self.client = httpx.Client(base_url=url, timeout=30,
                                   headers={"Authorization": f"Basic {token}"})
        self.deployments = {d["name"]: d["id"] for d in self._deployments()}

    def _deployments(self) -> list[dict[str, Any]]:
        answer = self.client.post("/deployments/filter", json={"limit": 100}).json()
        flows = {f["id"]: f["name"] for f in self.client.post("/flows/filter", json={}).json()}
        return [{"name": flows[d["flow_id"]], "id": d["id"]} for d in answer]

    def trigger(self, flow: str, edition: int, as_of: str) -> str:
        answer = self.client.post(
            f"/deployments/{self.deployments[flow]}/create_flow_run",
            json={"parameters": {"edition": edition, "as_of": as_of}})
        answer.raise_for_status()
        return str(answer.json()["id"])

    def wait(self, run_id: str, timeout: float = 300) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            run = self.client.get(f"/flow_runs/{run_id}").json()
            state = run["state"]["type"]
            if state == "COMPLETED":
                return dict(run)
            if state in ("FAILED", "CRASHED", "CANCELLED"):
                raise RuntimeError(f"bench run {run['name']} ended {state}")
            time.sleep(0.5)
        raise RuntimeError(f"bench run {run_id} did not finish in {timeout:.0f} s")


def _ts(value: str) -> float:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


# --- the embedded default -----------------------------------------------------------------

_EMBEDDED = r'''
import datetime as dt, json, sys, time
from prefect.settings import temporary_settings, PREFECT_FLOWS_HEARTBEAT_FREQUENCY
from flows.stages import input_collection, stakeholder_registration
from imrf.ledger import Ledger
from imrf.simulation import synthetic_contacts
from tasks import context
context.app().registry.import_rows(synthetic_contacts(int(sys.argv[1])))
rates = []
with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
    for edition in json.loads(sys.argv[2]):
        start = time.perf_counter()
        input_collection(edition=edition, as_of=dt.date(edition, 1, 20))
        stakeholder_registration(edition=edition, as_of=dt.date(edition, 3, 1))
        seconds = time.perf_counter() - start
        sent = sum(r.count for r in Ledger(context.app().store).summary(edition)
                   if r.state.value == "sent")
        rates.append(sent / seconds)
print(json.dumps(rates))
'''


def _embedded(fake: FakeSendGrid, key: str) -> list[float]:
    with tempfile.TemporaryDirectory() as tmp:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("PREFECT_", "IMRF_"))}
        env.update(IMRF_DATA_DIR=str(Path(tmp) / "data"), SENDGRID_API_KEY=key,
                   IMRF_SENDGRID_HOST=fake.host, PREFECT_HOME=str(Path(tmp) / "prefect"),
                   PREFECT_LOGGING_LEVEL="WARNING", PREFECT_SERVER_ANALYTICS_ENABLED="false",
                   PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="120")
        out = subprocess.run([PYTHON, "-c", _EMBEDDED, str(CONTACTS), json.dumps(EDITIONS)],
                             env=env, capture_output=True, text=True, check=False,
                             cwd=Path(__file__).resolve().parents[1])
    if out.returncode:
        raise RuntimeError(f"embedded measurement failed: {out.stderr.strip()[-800:]}")
    return [float(x) for x in json.loads(out.stdout.strip().splitlines()[-1])]
