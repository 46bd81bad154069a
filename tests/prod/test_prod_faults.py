"""What production does to the topology, and that nothing is lost or sent twice after it.

Each test names its outcome in `.imrf/prod-test/outcomes.txt` (kept for the closing report).
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from collections.abc import Callable
from typing import Any
from uuid import UUID

import pytest
from prod_harness import Prod

from imrf.calendar import build_calendar, calendars_overlapping
from imrf.contacts import ContactRegistry
from imrf.cycle_records import CycleRecords
from imrf.delivery.message import DeliveryState
from imrf.devtools.fake_sendgrid import Fault
from imrf.ledger import Ledger
from imrf.reminders import due_reminders
from imrf.simulation import scripted_answers
from imrf.stages import plan_edition
from imrf.vocabulary import MessageKind
from prod.topology import (
    kill_worker,
    pid_of,
    restart_postgresql,
    restart_server,
    start_worker,
    wait_for_workers,
)

pytestmark = pytest.mark.prod


def outcome(prod: Prod, line: str) -> None:
    with (prod.topo.dir / "outcomes.txt").open("a") as out:
        out.write(f"{dt.datetime.now():%H:%M:%S} {line}\n")


def operator_retry(prod: Prod, run_id: UUID) -> None:
    """What an operator does with a crashed or failed run: `prefect flow-run retry ID`."""
    subprocess.run([sys.executable, "-m", "prefect", "flow-run", "retry", str(run_id)],
                   check=True, capture_output=True)


def resolve_from_provider(prod: Prod, edition: int, milestone: str) -> dict[str, int]:
    """The operator's reconciliation of `unknown` rows against SendGrid's activity (here, the
    fake's record): accepted ones are sent, the others go back to pending."""
    ledger = Ledger(prod.store)
    unknown = {e.key.recipient for e in ledger.entries(edition=edition, milestone=milestone,
                                                        state=DeliveryState.UNKNOWN)}
    accepted = {email for (occasion, email) in prod.delivered(edition) if occasion == milestone}
    done = {"sent": 0, "pending": 0}
    if unknown & accepted:
        done["sent"] = ledger.resolve(
            edition=edition, milestone=milestone, kind=MessageKind.NOTICE,
            as_state=DeliveryState.SENT, reason="accepted per SendGrid's activity feed",
            actor="prod test", recipients=sorted(unknown & accepted)).resolved
    if unknown - accepted:
        done["pending"] = ledger.resolve(
            edition=edition, milestone=milestone, kind=MessageKind.NOTICE,
            as_state=DeliveryState.PENDING, reason="not in SendGrid's activity feed",
            actor="prod test", recipients=sorted(unknown - accepted)).resolved
    return done


def worker_running(prod: Prod, run: Any) -> int:
    """Which worker's process tree holds the flow run's process."""
    from prod.topology import descendants

    pid = int(str(run.infrastructure_pid).rsplit(":", 1)[-1])
    for number in range(1, prod.topo.workers + 1):
        worker = pid_of(prod.topo, f"worker-{number}")
        if worker is not None and pid in [worker, *descendants(worker)]:
            return number
    raise AssertionError(f"no worker runs pid {pid}")


def test_a_worker_killed_mid_fan_out_loses_and_repeats_nothing(
        prod: Prod, blocking_request: Callable[[int], Any]) -> None:
    edition = 2050
    cal = build_calendar(edition)
    reached, release = blocking_request(4)  # three requests settle; the fourth is accepted
    run_id = prod.trigger("imrf-input-collection", edition=edition, as_of="2050-01-20")
    assert reached.wait(240), "the fan-out never reached its fourth request"
    victim = worker_running(prod, prod.run(run_id))
    killed = kill_worker(prod.topo, victim)
    release.drop = True  # the answer is lost with the process
    release.set()
    outcome(prod, f"worker kill: SIGKILL worker-{victim} and its flow run ({len(killed)} "
                  f"processes) after SendGrid accepted request 4")
    crashed = prod.wait(run_id, {"CRASHED"}, timeout=240)  # no heartbeat: the automation
    assert "heartbeat" in (crashed.state.message or "")
    start_worker(prod.topo, victim, prod.fake.host)
    operator_retry(prod, run_id)
    resumed = prod.wait(run_id, timeout=300)
    assert resumed.state.is_completed(), resumed.state
    sends = prod.result(run_id)["sends"]
    (notice,) = [s for s in sends if s["milestone"] == "inputs-due"]
    audience = len(ContactRegistry(prod.store).recipients_for(cal.get("inputs-due").audiences))
    assert audience >= 10_000
    # The notifier keeps two requests in flight: the killed one held at most two chunks.
    assert 1000 <= notice["unknown"] <= 2000 and notice["already_sent"] >= 2000
    assert notice["already_sent"] + notice["unknown"] + notice["sent"] == audience
    resolved = resolve_from_provider(prod, edition, "inputs-due")
    assert resolved["sent"] >= 1000  # the held request was accepted
    assert resolved["sent"] + resolved["pending"] == notice["unknown"]
    if resolved["pending"]:  # in flight but never reached SendGrid: sent by a re-run
        prod.wait(prod.trigger("imrf-input-collection", edition=edition, as_of="2050-01-20"))
    assert prod.assert_each_once(edition) == audience
    wait_for_workers(prod.topo)
    outcome(prod, f"worker kill: run Crashed by the heartbeat automation, retried by the "
                  f"operator: {notice['already_sent']} already sent, {notice['sent']} sent on "
                  f"resume, {notice['unknown']} unknown (in flight at the kill) resolved from "
                  f"the provider's record {resolved}: {audience} recipients once each")


def test_a_server_restart_keeps_the_schedule_and_the_waiting_step(prod: Prod) -> None:
    from prefect import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterTags
    from prefect.flow_runs import resume_flow_run

    edition = 2058
    cal = build_calendar(edition)
    prod.wait(prod.trigger("imrf-plan-cycle", edition=edition, as_of="2055-01-01"))
    run = next(r for r in plan_edition(cal) if r.stage == "co-facilitators")
    waiting = prod.trigger("imrf-co-facilitators", edition=edition, as_of=run.date.isoformat())
    prod.wait(waiting, {"PAUSED"})

    def scheduled() -> set[tuple[str, str]]:
        with get_client(sync_client=True) as client:
            runs = client.read_flow_runs(flow_run_filter=FlowRunFilter(
                tags=FlowRunFilterTags(all_=["imrf", f"imrf-edition-{edition}"])))
            sweep = client.read_deployment_by_name("imrf-reminder-sweep/cycle")
        return ({(str(r.id), str(r.expected_start_time)) for r in runs
                 if r.state is not None and r.state.is_scheduled()}
                | {("sweep", str(s.schedule)) for s in sweep.schedules if s.active})

    before = scheduled()
    assert len(before) == len(plan_edition(cal)) + 1
    restart_server(prod.topo)
    assert scheduled() == before
    assert prod.run(waiting).state.is_paused()
    resume_flow_run(waiting, run_input=scripted_answers(cal, "co-facilitators",
                                                         run.date)["co-facilitators"])
    done = prod.wait(waiting, timeout=240)
    assert done.state.is_completed(), done.state
    step = CycleRecords(prod.store).step(edition=edition, stage="co-facilitators", instance="")
    assert step is not None and step.state == "answered"
    prod.assert_each_once(edition)
    outcome(prod, f"server restart: {len(before) - 1} scheduled runs and the sweep's schedule "
                  "unchanged; the suspended co-facilitators step answered after the restart "
                  "and its run completed on a worker")


def test_a_postgresql_restart_mid_run_leaves_the_store_consistent(
        prod: Prod, blocking_request: Callable[[int], Any]) -> None:
    edition = 2054
    reached, release = blocking_request(3)
    run_id = prod.trigger("imrf-stakeholder-registration", edition=edition,
                          as_of="2054-03-01")
    assert reached.wait(240)
    restart_postgresql(prod.topo)  # both databases: Prefect's and the domain store
    release.set()  # SendGrid answers 202 once PostgreSQL is back
    first = prod.wait(run_id, timeout=240)
    how = first.state.type.value
    if not first.state.is_completed():
        resolve_from_provider(prod, edition, "stakeholder-registration")
        operator_retry(prod, run_id)
        assert prod.wait(run_id, timeout=240).state.is_completed()
    resolved = resolve_from_provider(prod, edition, "stakeholder-registration")
    if resolved["pending"]:
        prod.wait(prod.trigger("imrf-stakeholder-registration", edition=edition,
                               as_of="2054-03-01"))
    total = prod.assert_each_once(edition)
    outcome(prod, f"PostgreSQL restart mid-fan-out: first run {how}; unknown rows resolved "
                  f"{resolved}; {total} recipients once each")


def test_sendgrid_429_and_5xx_are_waited_out_and_shown(prod: Prod) -> None:
    edition = 2038
    prod.fake.reset()
    # Two requests are in flight: 15 faults make one of them give up after its 6 attempts.
    faults = [Fault.rate_limited(reset_in=2)] * 2 + [Fault.server_error(503)] * 13
    prod.fake.inject(*faults)
    run_id = prod.trigger("imrf-stakeholder-registration", edition=edition,
                          as_of="2038-03-01")
    done = prod.wait(run_id, timeout=300)
    assert done.state.is_completed(), done.state
    assert prod.fake.pending_faults == 0
    logs = prod.wait_for_logs(run_id, "(429); retrying", "(503); retrying", "Retry 1/3")
    assert "SendGrid rate limit reached (429); retrying" in logs
    assert "SendGrid server error (503); retrying" in logs
    assert "Retry 1/3" in logs  # the chunk gave up after 6 attempts; the task retried
    total = prod.assert_each_once(edition)
    statuses = [r.status for r in prod.fake.requests]
    outcome(prod, f"SendGrid faults: {statuses.count(429)}×429 and {statuses.count(503)}×503 "
                  f"waited out (sender backoff, then a task retry); {total} recipients once "
                  "each; the waits are log lines of the run in the UI")


def _sweep_day(after: dt.date) -> dt.date:
    day = after
    while not due_reminders(calendars_overlapping(day, day), day):
        day += dt.timedelta(days=1)
    return day


def test_two_triggers_and_two_sweeps_at_once_send_once(prod: Prod) -> None:
    edition = 2042
    cal = build_calendar(edition)
    run = next(r for r in plan_edition(cal) if r.stage == "co-facilitators")
    params = dict(edition=edition, as_of=run.date.isoformat(),
                  answers=scripted_answers(cal, "co-facilitators", run.date))
    day = _sweep_day(dt.date(2041, 6, 1))
    stages = [prod.trigger("imrf-co-facilitators", **params) for _ in range(2)]
    sweeps = [prod.trigger("imrf-reminder-sweep", as_of=day.isoformat()) for _ in range(2)]
    for run_id in stages + sweeps:
        assert prod.wait(run_id, timeout=300).state.is_completed()
    stage_sent = [sum(s["sent"] for s in prod.result(r)["sends"]) for r in stages]
    sweep_sent = [sum(s["sent"] for s in prod.result(r)["sends"]) for r in sweeps]
    assert sorted(stage_sent)[0] == 0 < sorted(stage_sent)[1]
    assert sorted(sweep_sent)[0] == 0 < sorted(sweep_sent)[1]
    for year in {int(r.custom_args["edition"]) for r in prod.fake.delivered} & {2042, 2046}:
        prod.assert_each_once(year)
    outcome(prod, f"two triggers of co-facilitators at once: sent {stage_sent}; two sweeps of "
                  f"{day}: sent {sweep_sent} (deployment concurrency 1, ENQUEUE)")
