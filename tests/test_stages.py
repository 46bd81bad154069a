"""Planning an edition's stage runs, and which reminders a sweep sends."""

from __future__ import annotations

import datetime as dt

from imrf.calendar import build_calendar
from imrf.reminders import due_reminders, reminder_days_between
from imrf.stages import load_stages, plan_edition

D = dt.date
CAL = build_calendar(2030)


def test_one_run_per_stage_instance() -> None:
    runs = plan_edition(CAL)
    by_stage: dict[str, list[str]] = {}
    for run in runs:
        by_stage.setdefault(run.stage, []).append(run.instance)
    assert sorted(by_stage["regional-review"]) == ["eca", "ece", "eclac", "escap", "escwa"]
    assert sorted(by_stage["documents"]) == ["background-notes", "sg-report"]
    assert by_stage["forum"] == ["1", "2", "3"]
    assert {s.id for s in load_stages().stages} == set(by_stage)
    keys = [r.idempotency_key for r in runs]
    assert len(keys) == len(set(keys))
    assert [r.scheduled_at for r in runs] == sorted(r.scheduled_at for r in runs)


def test_runs_at_eight_new_york_time_on_the_milestone_day() -> None:
    run = next(r for r in plan_edition(CAL) if r.instance == "sg-report")
    assert run.date == CAL.get("sg-report").due
    assert run.scheduled_at.isoformat() == "2030-04-02T08:00:00-04:00"
    assert run.idempotency_key == "imrf/2030/documents/sg-report/2030-04-02"
    assert run.human_step_deadline == D(2030, 4, 4)  # two working days


def test_a_moved_date_makes_a_new_key() -> None:
    moved = build_calendar(2030, forum_start=D(2030, 5, 21))
    old = {r.idempotency_key for r in plan_edition(CAL)}
    new = {r.idempotency_key for r in plan_edition(moved)}
    assert "imrf/2030/documents/sg-report/2030-04-09" in new - old
    # The regional reviews do not depend on the forum date: same keys.
    assert {k for k in new if "regional-review" in k} == {k for k in old if "regional-review" in k}


def test_forum_days_and_last_day_human_step() -> None:
    forum = [r for r in plan_edition(CAL) if r.stage == "forum"]
    assert forum[0].milestones[0] == "forum" and "roundtable-1" in forum[0].milestones
    assert forum[0].human_step_deadline is None
    assert forum[-1].human_step_deadline == CAL.get("summaries-distributed").due


def test_daily_sweep_sends_each_reminder_on_its_day() -> None:
    sg = CAL.get("sg-report").first_day
    days = {sg - dt.timedelta(days=d): d for d in (30, 7, 1)}
    for day, d in days.items():
        due = [r for r in due_reminders([CAL], day) if r.milestone == "sg-report"]
        assert [(r.days_before, r.on) for r in due] == [(d, day)]
    assert not [r for r in due_reminders([CAL], sg) if r.milestone == "sg-report"]


def test_catch_up_after_an_outage_sends_only_the_latest() -> None:
    sg = CAL.get("sg-report").first_day
    due = [r for r in due_reminders([CAL], sg - dt.timedelta(days=3))
           if r.milestone == "sg-report"]
    assert [r.days_before for r in due] == [7]


def test_reminder_days_between() -> None:
    days = reminder_days_between([CAL], D(2030, 1, 1), D(2030, 12, 31))
    assert CAL.get("sg-report").first_day - dt.timedelta(days=7) in days
    assert days == sorted(set(days))


def test_calendars_overlapping_spans_first_reminder_to_declaration() -> None:
    from imrf.calendar import calendars_overlapping

    first_reminder = min(m.first_day - dt.timedelta(days=max(m.reminder_days, default=0))
                         for m in CAL.milestones)
    end = CAL.get("progress-declaration").last_day
    assert [c.edition for c in calendars_overlapping(first_reminder, first_reminder)] == [2030]
    before = first_reminder - dt.timedelta(days=1)
    assert 2030 not in [c.edition for c in calendars_overlapping(before, before)]
    assert [c.edition for c in calendars_overlapping(end, end)] == [2030]
    assert [c.edition for c in calendars_overlapping(D(2020, 1, 1), D(2031, 1, 1))] == [
        2022, 2026, 2030]
