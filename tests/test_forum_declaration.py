"""The Progress Declaration (OP36-OP41): negotiation rounds, escalation, dossier, check."""

from __future__ import annotations

import datetime as dt

import pytest

from imrf.calendar import build_calendar, default_working_days
from imrf.forum import declaration, documents, dossier, negotiations
from imrf.forum.cochairs import appoint_co_facilitators
from imrf.human_steps import CoFacilitators, DeclarationAgreed
from imrf.modalities import load_modalities
from imrf.reference import states
from imrf.store import Store

M = load_modalities("zero-draft-2019")
CAL = build_calendar(2030)
WD = default_working_days()
COMPLETE = dict(agreed_on="2030-07-01", symbol="A/84/L.50", link="https://undocs.org/x",
                evaluation_of_progress=True, challenges_and_opportunities=True,
                recommendations=True, annex_plenary_summaries=True,
                annex_technical_summaries=True, annex_policy_debate_summary=True)


def test_rounds_run_from_after_the_forum_to_before_the_deadline() -> None:
    plan = negotiations.plan(CAL, M)
    deadline = CAL.get("progress-declaration").due
    assert plan.deadline == deadline
    assert plan.start == WD.next_working_day(CAL.forum_end + dt.timedelta(days=1))  # OP36
    assert len(plan.rounds) == 4 and plan.rounds[0] == plan.start
    assert plan.rounds == sorted(set(plan.rounds))
    assert all(WD.is_working_day(day) for day in plan.rounds)
    assert WD.working_days_between(plan.rounds[-1], deadline) == 5


def test_escalation_when_the_deadline_is_near_or_past() -> None:
    plan = negotiations.plan(CAL, M)
    early = negotiations.status(plan, M, plan.start, agreed=False)
    assert early.phase == "under-way" and not early.escalate
    assert early.next_round == plan.start
    near_day = WD.add_working_days(plan.deadline, -3)
    near = negotiations.status(plan, M, near_day, agreed=False)
    assert near.phase == "near-deadline" and near.escalate and near.working_days_left == 3
    late = negotiations.status(plan, M, plan.deadline + dt.timedelta(days=1), agreed=False)
    assert late.phase == "overdue" and late.escalate
    done = negotiations.status(plan, M, near_day, agreed=True)
    assert done.phase == "agreed" and not done.escalate
    before = negotiations.status(plan, M, CAL.forum_start, agreed=False)
    assert before.phase == "before" and not before.escalate


def test_declaration_check_lists_op40_and_op41_parts() -> None:
    assert declaration.missing(None, M) == ["no Progress Declaration is recorded yet (OP37)"]
    lacking = DeclarationAgreed.model_validate({**COMPLETE, "recommendations": False,
                                                "annex_plenary_summaries": False})
    assert declaration.missing(lacking, M) == [
        "the declaration lacks recommendations from the policy debate (OP40 iii)",
        "the declaration lacks the summaries of the plenary meetings annexed (OP41)"]
    assert declaration.missing(DeclarationAgreed.model_validate(COMPLETE), M) == []


def test_dossier_collects_links_and_lists_what_is_missing(store: Store) -> None:
    as_of = dt.date(2030, 7, 2)
    first = dossier.build(store, CAL, M, as_of)
    assert "the two co-facilitators are not appointed (OP36)" in first.missing
    assert "no Progress Declaration is recorded yet (OP37)" in first.missing
    assert sum("Technical summary of round table" in m for m in first.missing) == 4
    documents.record(store, 2030, documents.Received(
        document="sg-report", link="https://undocs.org/A/85/1",
        received_on=dt.date(2030, 3, 1)), M)
    appoint_co_facilitators(store, 2030, CoFacilitators.model_validate({"co_facilitators": [
        {"state": "IRL", "representative": "Rep A", "gender": "female"},
        {"state": "SEN", "representative": "Rep B", "gender": "male"}]}), M, states())
    declaration.record(store, 2030, DeclarationAgreed.model_validate(
        {**COMPLETE, "annex_technical_summaries": False}))
    second = dossier.build(store, CAL, M, as_of)
    sg = next(d for d in second.basis if d.document == "sg-report")
    assert sg.received is not None and sg.received.link == "https://undocs.org/A/85/1"
    assert not any("Secretary-General" in m for m in second.missing)
    assert not any("co-facilitators" in m for m in second.missing)
    assert "the declaration lacks the round tables' technical summaries annexed (OP41)" in \
        second.missing
    assert second.negotiation_status.phase == "agreed"
    assert declaration.recorded(store, 2030) == DeclarationAgreed.model_validate(
        {**COMPLETE, "annex_technical_summaries": False})


def test_inputs_are_unknown_without_a_registry(store: Store,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    def absent(name: str) -> object:
        raise ModuleNotFoundError(f"No module named {name!r}", name=name)

    monkeypatch.setattr(dossier.importlib, "import_module", absent)
    assert dossier.accepted_inputs(store, 2030) is None


def test_an_open_declaration_step_near_its_deadline_is_found_once_near() -> None:
    from imrf.cycle_records import StepRecord

    deadline = CAL.get("progress-declaration").last_day
    wd = default_working_days()

    def step(name: str, state: str) -> StepRecord:
        return StepRecord(edition=2030, stage="negotiations", instance="", step=name,
                          title="The Progress Declaration agreed", milestone="negotiations",
                          deadline=deadline, state=state, flow_run_id=None, ui_link=None,
                          answer=None, problems=[], opened_at=dt.datetime.now(dt.UTC),
                          answered_at=None, escalated_at=None)  # type: ignore[arg-type]

    steps = [step("declaration-agreed", "open"), step("declaration-agreed", "answered"),
             step("co-chairs", "open")]
    near_day = wd.add_working_days(deadline, -3)
    found = negotiations.near_deadline(steps, near_day, lambda edition: CAL)
    assert [(s.step, s.state) for s, _ in found] == [("declaration-agreed", "open")]
    assert found[0][1].phase == "near-deadline" and "3 working day" in found[0][1].message
    early = wd.add_working_days(deadline, -20)
    assert negotiations.near_deadline(steps, early, lambda edition: CAL) == []
    past = deadline + dt.timedelta(days=3)  # overdue: the sweep's overdue escalation says so
    assert negotiations.near_deadline(steps, past, lambda edition: CAL) == []
