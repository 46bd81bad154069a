"""Planning, the human step through the API, the sweep's catch-up and a whole cycle."""

from __future__ import annotations

import asyncio
import datetime as dt
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prefect import get_client
from prefect.client.schemas.filters import (
    ArtifactFilter,
    ArtifactFilterFlowRunId,
    ArtifactFilterKey,
    FlowRunFilter,
    FlowRunFilterTags,
)
from prefect.deployments import run_deployment
from prefect.flow_runs import resume_flow_run
from prefect.runner import Runner

from deployments.definitions import runner_deployments
from flows.planning import plan_cycle
from flows.simulation import simulate
from flows.sweep import reminder_sweep
from imrf.calendar import build_calendar
from imrf.cycle_records import CycleRecords
from imrf.ledger import Ledger
from imrf.simulation import scripted_answers
from imrf.stages import plan_edition
from tasks import context

pytestmark = pytest.mark.prefect
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def served() -> Iterator[Runner]:
    """Every deployment served from a background thread, as `make run` serves them."""
    runner = Runner(pause_on_shutdown=False, query_seconds=1)
    for deployment in runner_deployments():
        runner.add_deployment(deployment)
    thread = threading.Thread(target=lambda: asyncio.run(runner.start()), daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not runner.started:
        assert time.monotonic() < deadline, "runner did not start"
        time.sleep(0.05)
    yield runner
    runner.execute_in_background(runner.astop).result(30)
    thread.join(30)


def scheduled(edition: int) -> dict[str, Any]:
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(flow_run_filter=FlowRunFilter(
            tags=FlowRunFilterTags(all_=["imrf", f"imrf-edition-{edition}"])))
    return {r.idempotency_key: r.state.name if r.state else None for r in runs}


def test_planning_is_idempotent_and_follows_a_date_change(
        served: Runner, data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    as_of = dt.date(2029, 1, 1)
    first = plan_cycle(edition=2034, as_of=as_of)
    expected = [r for r in plan_edition(build_calendar(2034)) if r.date >= as_of]
    assert first["created"] == len(expected) and first["cancelled"] == 0
    again = plan_cycle(edition=2034, as_of=as_of)
    assert (again["created"], again["existing"]) == (0, len(expected))
    runs = scheduled(2034)
    assert {r.idempotency_key for r in expected} <= set(runs)
    assert set(runs.values()) == {"Scheduled"}
    # The forum moves a week later in config/editions.yaml: stale runs cancelled, new made.
    config = tmp_path / "config"
    shutil.copytree(REPO / "config", config)
    editions = config / "editions.yaml"
    editions.write_text(editions.read_text() + "  - edition: 2034\n    forum_start: 2034-05-16\n")
    monkeypatch.setenv("IMRF_CONFIG_DIR", str(config))
    context.reset()
    moved = plan_cycle(edition=2034, as_of=as_of)
    assert moved["cancelled"] > 0 and moved["created"] == moved["cancelled"]
    runs = scheduled(2034)
    assert runs["imrf/2034/documents/sg-report/2034-03-28"] == "Cancelled"
    assert runs["imrf/2034/documents/sg-report/2034-04-04"] == "Scheduled"
    # The regional reviews did not move: untouched.
    assert runs["imrf/2034/regional-review/ece/2032-11-01"] == "Scheduled"


def wait_for(run_id: Any, names: set[str], *, key: str | None = None,
             timeout: float = 90) -> Any:
    deadline = time.monotonic() + timeout
    with get_client(sync_client=True) as client:
        while True:
            run = client.read_flow_run(run_id)
            if run.state and run.state.name in names and (
                    key is None or run.state.state_details.pause_key == key):
                return run
            assert time.monotonic() < deadline, f"still {run.state.name if run.state else None}"
            time.sleep(0.3)


def test_human_step_answered_through_the_api(served: Runner, sample_contacts: int) -> None:
    """Co-chairs entered in the run's form: a one-group pair is shown back, then accepted."""
    run = run_deployment("imrf-co-chairs/cycle", timeout=0, as_subflow=False,
                         parameters={"edition": 2030, "as_of": "2030-02-14"})
    suspended = wait_for(run.id, {"Suspended"}, key="co-chairs-1")
    records = CycleRecords(context.app().store)
    step = records.step(edition=2030, stage="co-chairs", instance="")
    assert step is not None and step.state == "open" and step.ui_link is not None
    assert str(run.id) in step.ui_link
    # The operators got the e-mail with the link, once.
    outbox = list((context.app().settings.outbox_dir).glob("*co-chairs-appointed*co-chairs*"))
    assert outbox and str(run.id) in outbox[0].read_text()
    assert suspended.state.state_details.run_input_keyset

    answer = scripted_answers(build_calendar(2030), "co-chairs", dt.date(2030, 2, 14))
    bad = {"roundtables": [dict(rt) for rt in answer["co-chairs"]["roundtables"]]}
    bad["roundtables"][0] = {"roundtable": 1, "co_chairs": [
        {"state": "KEN", "representative": "Rep A", "gender": "female"},
        {"state": "GHA", "representative": "Rep B", "gender": "male"}]}
    resume_flow_run(run.id, run_input=bad)
    wait_for(run.id, {"Suspended"}, key="co-chairs-2")
    step = records.step(edition=2030, stage="co-chairs", instance="")
    assert step is not None and any("african group" in p for p in step.problems)

    resume_flow_run(run.id, run_input=answer["co-chairs"])
    done = wait_for(run.id, {"Completed", "Failed", "Crashed"})
    assert done.state.name == "Completed"
    step = records.step(edition=2030, stage="co-chairs", instance="")
    assert step is not None and step.state == "answered"
    assert step.answer is not None and step.answer["roundtables"][0]["co_chairs"][1]["state"] \
        == "DEU"


def test_overdue_step_is_escalated_once(sample_contacts: int) -> None:
    records = CycleRecords(context.app().store)
    records.step_opened(edition=2030, stage="documents", instance="sg-report",
                        step="document-issued", title="Confirm the document was issued",
                        milestone="sg-report", deadline=dt.date(2030, 4, 4),
                        flow_run_id="abc", ui_link="http://127.0.0.1:4200/runs/flow-run/abc",
                        problems=[])
    operators = len(context.app().registry.contacts_for(["operators"]))  # type: ignore[list-item]
    on_time = reminder_sweep(as_of=dt.date(2030, 4, 4))
    assert not [s for s in on_time["sends"] if s["kind"] == "escalation"]
    late = reminder_sweep(as_of=dt.date(2030, 4, 5))
    escalations = [s for s in late["sends"] if s["kind"] == "escalation"]
    assert [e["sent"] for e in escalations] == [operators]
    later = reminder_sweep(as_of=dt.date(2030, 4, 8))
    assert sum(s["sent"] for s in later["sends"] if s["kind"] == "escalation") == 0


def test_sweep_catches_up_once_after_an_outage(sample_contacts: int) -> None:
    cal = build_calendar(2030)
    sg = cal.get("sg-report").first_day
    # Down from 40 to 3 days before the SG report: the 30-day and 7-day reminders were missed.
    back = reminder_sweep(as_of=sg - dt.timedelta(days=3))
    sent = {s["milestone"]: s["sent"] for s in back["sends"]}
    assert sent["sg-report@7d"] > 0 and "sg-report@30d" not in sent
    same_day = reminder_sweep(as_of=sg - dt.timedelta(days=3))
    assert sum(s["sent"] for s in same_day["sends"]) == 0
    next_day = reminder_sweep(as_of=sg - dt.timedelta(days=1))
    assert {s["milestone"] for s in next_day["sends"] if s["sent"]} >= {"sg-report@1d"}


def expected_emails(start: dt.date, end: dt.date) -> int:
    """Count, from the calendar alone, the messages one cycle must produce."""
    registry = context.app().registry
    cal = build_calendar(2030)
    total = 0
    for milestone in cal.milestones:
        recipients = len(registry.contacts_for(milestone.audiences))
        day = milestone.first_day
        if start <= day <= end:
            total += recipients  # the notice, sent by the stage on its day
        total += recipients * sum(1 for d in milestone.reminder_days
                                  if start <= day - dt.timedelta(days=d) <= end)
    # The Progress Declaration's notice follows the negotiations' human step.
    return total + inputs_adjustment(cal, start, end)


def inputs_adjustment(cal: Any, start: dt.date, end: dt.date) -> int:
    """Issue 5: each regional review's outcome becomes an input, acknowledged once to the
    commission's contacts, who are then no longer reminded of inputs-due."""
    from imrf.reference import commissions
    from imrf.vocabulary import Audience, Commission

    contacts = context.app().registry.contacts_for([Audience.REGIONAL_COMMISSIONS])
    due = cal.get("inputs-due")
    adjustment = 0
    for commission in Commission:
        review = cal.get(f"regional-review-{commission.value}")
        if not start <= review.first_day <= end:
            continue
        name = commissions()[commission].name.casefold()
        count = sum(c.organization.casefold().startswith(name) for c in contacts)
        skipped = sum(1 for d in due.reminder_days
                      if review.first_day < due.first_day - dt.timedelta(days=d) <= end)
        adjustment += count * (1 - skipped)
    return adjustment


def test_simulate_one_whole_cycle_counted_exactly(sample_contacts: int) -> None:
    start, end = dt.date(2028, 1, 1), dt.date(2030, 12, 31)
    state = simulate(start, end, return_state=True)
    result = state.result()
    planned = [r for r in plan_edition(build_calendar(2030)) if start <= r.date <= end]
    assert len(result["stage_runs"]) == len(planned) == 19
    assert {r["state"] for r in result["stage_runs"]} == {"Completed"}
    expected = expected_emails(start, end)
    assert result["emails"]["sent"] == expected
    assert result["duplicates"] == 0
    assert (result["emails"]["failed"], result["emails"]["unknown"]) == (0, 0)
    ledger = Ledger(context.app().store)
    assert sum(r.count for r in ledger.summary(2030) if r.state.value == "sent") == expected
    # The sweeps' summary: one artifact at the end, listing the days, not one per day.
    key = ArtifactFilter(key=ArtifactFilterKey(any_=["imrf-2030-reminder-sweep"]),
                         flow_run_id=ArtifactFilterFlowRunId(
                             any_=[state.state_details.flow_run_id]))
    with get_client(sync_client=True) as client:
        sweeps = client.read_artifacts(artifact_filter=key)
    assert len(sweeps) == 1
    assert "Reminder sweeps from 2028-01-01 to 2030-12-31 (simulated)" in str(sweeps[0].data)
    assert "| reminder of stakeholder-registration@" in str(sweeps[0].data)
    # Running it again sends nothing new (the forum weeks: the busiest stretch of the cycle).
    again = simulate(dt.date(2030, 5, 1), dt.date(2030, 5, 31))
    assert again["emails"]["sent"] == 0 and again["emails"]["already_sent"] > 0
    assert again["duplicates"] == 0
