"""Every stage flow on the real engine, with scripted answers to its human step."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from prefect.artifacts import Artifact

from flows.stages import STAGE_FLOWS
from imrf.calendar import build_calendar
from imrf.cycle_records import CycleRecords
from imrf.ledger import Ledger
from imrf.simulation import scripted_answers
from imrf.stages import plan_edition
from tasks import context

pytestmark = pytest.mark.prefect
CAL = build_calendar(2030)
RUNS = {(r.stage, r.instance): r for r in plan_edition(CAL)}


@pytest.mark.parametrize(("stage", "instance"), sorted(RUNS))
def test_every_stage_sends_its_notices_and_records(stage: str, instance: str,
                                                   sample_contacts: int,
                                                   data_dir: Path) -> None:
    run = RUNS[(stage, instance)]
    params = dict(run.parameters, as_of=run.date,
                  answers=scripted_answers(CAL, stage, run.date))
    result = STAGE_FLOWS[stage](**params)
    sent = {s["milestone"]: s for s in result["sends"]}
    assert set(run.milestones) <= set(sent)
    for milestone in run.milestones:
        audiences = set(CAL.get(milestone).audiences)
        expected = len(context.app().registry.contacts_for(audiences))
        assert sent[milestone]["sent"] == expected > 0, milestone
    records = CycleRecords(context.app().store)
    assert [(r.stage, r.instance, r.state) for r in records.stages(2030)] == [
        (stage, instance, "completed")]
    if run.human_step_deadline is not None:
        step = records.step(edition=2030, stage=stage, instance=instance)
        assert step is not None and step.state == "answered"
    assert len(list((data_dir / "outbox").glob("*.eml"))) == sum(
        s["sent"] for s in result["sends"])


@pytest.mark.parametrize(("stage", "instance"), [("documents", "sg-report"), ("forum", "1")])
def test_a_rerun_sends_nothing_again(stage: str, instance: str, sample_contacts: int) -> None:
    run = RUNS[(stage, instance)]
    params = dict(run.parameters, as_of=run.date,
                  answers=scripted_answers(CAL, stage, run.date))
    first = STAGE_FLOWS[stage](**params)
    again = STAGE_FLOWS[stage](**params)  # a retry, or an operator's manual re-trigger
    assert sum(s["sent"] for s in first["sends"]) > 0
    assert sum(s["sent"] for s in again["sends"]) == 0
    assert sum(s["already_sent"] for s in again["sends"]) == sum(
        s["sent"] for s in first["sends"])


def test_calendar_artifact_shows_status(sample_contacts: int) -> None:
    run = RUNS[("documents", "sg-report")]
    STAGE_FLOWS["documents"](edition=2030, instance="sg-report", as_of=run.date,
                             answers=scripted_answers(CAL, "documents", run.date))
    artifact = Artifact.get("imrf-2030-calendar")
    assert artifact is not None and artifact.type == "table"
    rows = artifact.data if isinstance(artifact.data, list) else __import__("json").loads(
        artifact.data)
    status = {r["id"]: r["status"] for r in rows}
    assert status["sg-report"] == "done"
    assert status["background-notes"] == "scheduled"
    assert status["regional-review-ece"] == "past (not run here)"


def test_bad_scripted_answer_fails_with_the_problems(sample_contacts: int) -> None:
    from flows.human import ScriptedAnswerError

    answers = scripted_answers(CAL, "co-chairs", dt.date(2030, 2, 14))
    answers["co-chairs"]["roundtables"][0]["co_chairs"][1]["state"] = "GHA"  # KEN + GHA
    state = STAGE_FLOWS["co-chairs"](edition=2030, as_of=dt.date(2030, 2, 14),
                                     answers=answers, return_state=True)
    assert state.is_failed()
    with pytest.raises(ScriptedAnswerError, match="african group"):
        state.result()


def test_ledger_counts_are_exact(sample_contacts: int) -> None:
    run = RUNS[("hearing", "")]
    STAGE_FLOWS["hearing"](edition=2030, as_of=run.date,
                           answers=scripted_answers(CAL, "hearing", run.date))
    rows = Ledger(context.app().store).summary(2030)
    by = {(r.milestone, r.kind.value, r.state.value): r.count for r in rows}
    reg = context.app().registry
    assert by[("hearing", "notice", "sent")] == len(reg.contacts_for(CAL.get("hearing").audiences))
    assert by[("hearing-summary", "notice", "sent")] == len(
        reg.contacts_for(CAL.get("hearing-summary").audiences))
