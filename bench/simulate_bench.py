"""Issue 4: `imrf simulate` over three cycles with 10,000 synthetic contacts, and the
orchestration overhead of one stage against the same domain work called directly."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import tempfile
import time
from pathlib import Path

from bench.common import PYTHON, Figure, median_time

SPAN = ("2020-01-01", "2031-01-01")
CONTACTS = int(os.environ.get("IMRF_BENCH_CONTACTS", "10000"))
KEY = "SG.bench"


def _env(data: Path, host: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(IMRF_DATA_DIR=str(data), SENDGRID_API_KEY=KEY, IMRF_SENDGRID_HOST=host,
               PREFECT_HOME=str(data / "prefect"), PREFECT_LOGGING_LEVEL="WARNING")
    env.pop("PREFECT_API_URL", None)
    env.pop("PREFECT_UI_API_URL", None)
    return env


def run() -> list[Figure]:
    from imrf.devtools.fake_sendgrid import FakeSendGrid
    from imrf.prefect_env import database_template

    figures = [_overhead()]  # the quick one first: a failure there must not cost the long one
    speed_before = _machine_reference()
    imrf = str(Path(PYTHON).with_name("imrf"))
    # The first simulation with a Prefect version also migrates its database (and keeps a
    # copy for later ones): the figure says which kind of run it was.
    template = database_template()
    boot = ("Prefect database from the cached template" if template and template.exists()
            else "Prefect database migrated by this run (no template cached yet)")
    with FakeSendGrid(api_keys=(KEY,), max_records=1000) as fake, \
            tempfile.TemporaryDirectory() as tmp:
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        start = time.perf_counter()
        out = subprocess.run(
            [imrf, "simulate", "--from", SPAN[0], "--to", SPAN[1],
             "--synthetic-contacts", str(CONTACTS), "--format", "json"],
            env=_env(Path(tmp), fake.host), capture_output=True, text=True, check=True)
        wall = time.perf_counter() - start
        peak_mb = max(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, before) / 1024
        result = json.loads(out.stdout)
        emails = result["emails"]
        figures.append(Figure(
            f"simulate {SPAN[0]}..{SPAN[1]}, {CONTACTS} contacts", wall, target_s=60.0,
            extra=(f"flow runs {len(result['stage_runs']) + 1}, e-mails sent {emails['sent']}, "
                   f"requests {fake.request_count}, duplicates {result['duplicates']}, "
                   f"peak RSS {peak_mb:.0f} MB; {boot}")))
    speed_after = _machine_reference()
    figures.append(Figure(
        "machine reference: 10M pure-Python additions", (speed_before + speed_after) / 2,
        extra=(f"before the simulation {speed_before:.2f} s, after {speed_after:.2f} s: "
               "compare simulations of different runs by this, the machine is shared")))
    return figures


def _machine_reference() -> float:
    """A fixed CPU-bound loop: how fast this shared machine is at the moment (median of 3)."""
    def loop() -> None:
        total = 0
        for i in range(10_000_000):
            total += i

    return median_time(loop, repeats=3)


def _overhead() -> Figure:
    """One stage flow (input-collection) against its notices sent by the domain directly."""
    code = r'''
import datetime as dt, json, os, sys, tempfile, time
from prefect.settings import temporary_settings, PREFECT_FLOWS_HEARTBEAT_FREQUENCY
from tasks import context
from imrf.contacts import read_csv
from pathlib import Path
root = Path(tempfile.mkdtemp())
def fresh(name):
    os.environ["IMRF_DATA_DIR"] = str(root / name); context.reset()
    context.app().registry.import_rows(read_csv(Path("config/contacts-sample.csv")))
from flows.stages import input_collection
from imrf.vocabulary import MessageKind
with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
    fresh("warm"); input_collection(edition=2030, as_of=dt.date(2030, 1, 22))
    flows, direct = [], []
    for i in range(3):
        fresh(f"f{i}"); t = time.perf_counter()
        input_collection(edition=2030, as_of=dt.date(2030, 1, 22))
        flows.append(time.perf_counter() - t)
        fresh(f"d{i}"); t = time.perf_counter()
        context.app().notifier.notify(calendar=context.calendar(2030), milestone_id="inputs-due",
                                      kind=MessageKind.NOTICE)
        direct.append(time.perf_counter() - t)
print(json.dumps({"flow": sorted(flows)[1], "direct": sorted(direct)[1]}))
'''
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, PREFECT_HOME=str(Path(tmp) / "prefect"),
                   PREFECT_LOGGING_LEVEL="WARNING",
                   PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="120")
        env.pop("SENDGRID_API_KEY", None)
        out = subprocess.run([PYTHON, "-c", code], env=env, capture_output=True, text=True,
                             check=False)
    if out.returncode:
        raise RuntimeError(f"overhead measurement failed: {out.stderr.strip()[-800:]}")
    data = json.loads(out.stdout.strip().splitlines()[-1])
    return Figure("stage input-collection as a flow run (43 contacts)", data["flow"],
                  baseline="same notices called directly", baseline_s=data["direct"])
