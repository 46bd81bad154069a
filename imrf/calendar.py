"""The calendar of an edition: every milestone of the cycle with concrete dates.

Rules come from the modalities preset (each citing its paragraph); dates are computed with
pendulum and UN Headquarters working days. Placement rules:

* a deadline that would fall on a weekend or a holiday moves to the working day before, so a
  deadline "at least N before" stays at least N before and one "no later than" is not late;
* a meeting is only ever on a working day (forum days are consecutive working days);
* a window starts on a working day and ends on one.
"""

from __future__ import annotations

import datetime as dt
from functools import cache
from pathlib import Path
from typing import Any

import pendulum

from imrf.editions import EditionError, check_forum_year, load_editions
from imrf.holidays import WorkingDays
from imrf.milestones import EditionCalendar, Milestone
from imrf.modalities import (
    DatePoint,
    ForumHours,
    MilestoneRule,
    Modalities,
    load_modalities,
)
from imrf.reference import commissions
from imrf.vocabulary import Commission, MilestoneKind


class CalendarError(ValueError):
    """The rules and the dates given cannot make a valid calendar."""


@cache
def default_working_days() -> WorkingDays:
    """The process's shared working-day tables (each year is computed once)."""
    return WorkingDays(None)


def _plain(day: dt.date) -> dt.date:
    return dt.date(day.year, day.month, day.day)


def _why_closed(day: dt.date, wd: WorkingDays) -> str:
    if day.weekday() >= 5:
        return f"a {day.strftime('%A')}"
    names = [h.name for h in wd.holidays(day.year) if h.date == day]
    return f"a UN Headquarters holiday ({', '.join(names) or 'closed'})"


class _Resolver:
    """Turns date points into dates for one edition."""

    def __init__(self, anchors: dict[str, dt.date], wd: WorkingDays) -> None:
        self.anchors = anchors
        self.wd = wd

    def raw(self, point: DatePoint) -> dt.date:
        base = self.anchors[point.anchor]
        if point.working_days:
            return self.wd.add_working_days(base, point.sign * point.working_days)
        day = pendulum.Date(base.year, base.month, base.day)
        delta = {"years": point.years, "months": point.months, "weeks": point.weeks,
                 "days": point.days}
        moved = day.subtract(**delta) if point.sign < 0 else day.add(**delta)
        return _plain(moved)

    def deadline(self, point: DatePoint) -> dt.date:
        return self.wd.previous_working_day(self.raw(point))

    def window(self, start: dt.date, end: dt.date) -> tuple[dt.date, dt.date]:
        first, last = self.wd.next_working_day(start), self.wd.previous_working_day(end)
        if last < first:
            raise CalendarError(f"window {start}..{end} contains no working day")
        return first, last


def compute_calendar(
    edition: int,
    *,
    modalities: Modalities,
    forum_start: dt.date,
    review_dates: dict[Commission, tuple[dt.date, dt.date]] | None = None,
    working_days: WorkingDays | None = None,
    config_dir: Path | None = None,
) -> EditionCalendar:
    """Every milestone of `edition` under `modalities`, the forum opening on `forum_start`."""
    wd = working_days or default_working_days()
    forum = modalities.forum
    forum_start = _plain(forum_start)
    if forum_start.year != edition:
        raise CalendarError(f"forum start {forum_start} is not in the edition's year {edition}")
    if not wd.is_working_day(forum_start):
        raise CalendarError(
            f"forum start {forum_start} is {_why_closed(forum_start, wd)}: "
            "the forum meets on UN Headquarters working days"
        )
    days = [forum_start]
    for _ in range(forum.length_days - 1):
        days.append(wd.add_working_days(days[-1], 1))
    forum_end = days[-1]
    season = forum.season
    if not (season.first_month <= forum_start.month and forum_end.month <= season.last_month
            and forum_end.year == edition):
        raise CalendarError(
            f"the forum {forum_start}..{forum_end} is not {season.words} "
            f"({season.paragraph}, modalities {modalities.id})"
        )

    review_year = edition - modalities.regional_reviews.lead_years
    resolve = _Resolver(
        {"forum-start": forum_start, "forum-end": forum_end,
         "review-year": dt.date(review_year, 1, 1)},
        wd,
    )
    ordered: list[tuple[dt.date, int, Milestone]] = []

    def add(milestone: Milestone) -> None:
        ordered.append((milestone.first_day, len(ordered), milestone))

    start_time, end_time = forum.hours.of("full")
    add(Milestone(
        id="forum", title=forum.title, paragraph=f"{forum.paragraph}, {forum.length_paragraph}",
        kind=MilestoneKind.MEETING, basis="text",
        rule=f"{season.words}, {forum.length_days} days, {forum.venue}",
        action=forum.action, audiences=forum.audiences, reminder_days=forum.reminders,
        start=forum_start, end=forum_end, start_time=start_time, end_time=end_time,
    ))
    for session in modalities.sessions:
        rt = modalities.roundtable(session.roundtable) if session.roundtable else None
        defaults = modalities.roundtable_defaults if rt else None
        begin, finish = forum.hours.of(session.part)
        first, last = days[session.day - 1], days[(session.last_day or session.day) - 1]
        audiences = session.audiences or (defaults.audiences if defaults else forum.audiences)
        add(Milestone(
            id=session.id, title=f"{session.title}: {rt.title}" if rt else session.title,
            paragraph=session.paragraph, kind=MilestoneKind.MEETING, basis="text",
            rule=f"day {session.day}" + (f" to {session.last_day}" if session.last_day else "")
            + f" of the forum, {session.part}",
            action=session.action or (defaults.action if defaults else forum.action),
            audiences=audiences,
            reminder_days=session.reminders if session.reminders is not None
            else (defaults.reminders if defaults else ()),
            start=first, end=last, start_time=begin, end_time=finish,
            objectives=rt.objectives if rt else (), cluster=rt.cluster if rt else None,
        ))

    reviews = modalities.regional_reviews
    names = commissions(config_dir)
    for commission, window in reviews.windows.items():
        if review_dates and commission in review_dates:
            raw_start, raw_end = review_dates[commission]
            basis, words = "text", "as held (config/editions.yaml)"
        else:
            raw_start = resolve.raw(window.start)
            raw_end = resolve.raw(window.until) - dt.timedelta(days=1)
            basis, words = reviews.basis, (
                f"round of {review_year}, alternating with the forum at a four-year interval"
            )
        first, last = resolve.window(raw_start, raw_end)
        add(Milestone(
            id=f"regional-review-{commission.value}",
            title=f"Regional review: {names[commission].name}",
            paragraph=reviews.paragraph, kind=MilestoneKind.WINDOW, basis=basis, rule=words,
            action=reviews.action, audiences=reviews.audiences,
            reminder_days=reviews.reminders, start=first, end=last,
        ))

    for rule in modalities.milestones:
        milestone = _milestone(rule, resolve, forum.hours)
        _check_timing(rule, milestone, forum_start, forum_end, modalities)
        add(milestone)

    ordered.sort(key=lambda item: (item[0], item[1]))
    return EditionCalendar(
        edition=edition, modalities=modalities.id, forum_start=forum_start,
        forum_end=forum_end, milestones=tuple(m for _, _, m in ordered),
    )


def _milestone(rule: MilestoneRule, resolve: _Resolver, hours: ForumHours) -> Milestone:
    common: dict[str, Any] = dict(
        id=rule.id, title=rule.title, paragraph=rule.paragraph, kind=rule.kind,
        basis=rule.basis, rule=f"{rule.words} ({rule.paragraph})", action=rule.action,
        audiences=rule.audiences, reminder_days=rule.reminders,
    )
    if rule.kind is MilestoneKind.DEADLINE:
        assert rule.due is not None
        return Milestone(**common, due=resolve.deadline(rule.due))
    assert rule.start is not None and rule.end is not None
    raw_start, raw_end = resolve.raw(rule.start), resolve.raw(rule.end)
    if rule.kind is MilestoneKind.MEETING:
        # A meeting before the forum moves earlier (it must stay before), one after it later.
        move = (resolve.wd.previous_working_day if rule.timing == "before-forum"
                else resolve.wd.next_working_day)
        start, end = move(raw_start), move(raw_end)
        times = hours.of(rule.part) if rule.part else (None, None)
        return Milestone(**common, start=start, end=end,
                         start_time=times[0], end_time=times[1])
    start, end = resolve.window(raw_start, raw_end)
    return Milestone(**common, start=start, end=end)


def _check_timing(rule: MilestoneRule, milestone: Milestone, forum_start: dt.date,
                  forum_end: dt.date, modalities: Modalities) -> None:
    where = f"modalities {modalities.id}: milestones[{rule.id}]"
    if rule.timing == "before-forum" and milestone.last_day >= forum_start:
        raise CalendarError(f"{where}: falls on {milestone.last_day}, not before the forum "
                            f"opening {forum_start} ({rule.paragraph})")
    if rule.timing == "after-forum" and milestone.first_day <= forum_end:
        raise CalendarError(f"{where}: falls on {milestone.first_day}, not after the forum "
                            f"closes {forum_end} ({rule.paragraph})")


def build_calendar(
    edition: int | None = None,
    *,
    modalities: str | None = None,
    forum_start: dt.date | None = None,
    config_dir: Path | None = None,
    working_days: WorkingDays | None = None,
) -> EditionCalendar:
    """The calendar of an edition as configured in `config/editions.yaml`.

    `modalities` (a preset name or a path) and `forum_start` override the configuration.
    With only `forum_start`, the edition is that date's year.
    """
    if edition is None:
        if forum_start is None:
            raise EditionError("give an edition year or a forum start date")
        edition = forum_start.year
    editions = load_editions(config_dir)
    entry = editions.get(edition)
    name = modalities or (entry.modalities if entry else None) or editions.default_modalities
    rules = load_modalities(name, config_dir)
    check_forum_year(edition, first_edition=rules.forum.first_edition,
                     interval=rules.forum.interval_years, paragraph=rules.forum.paragraph)
    wd = working_days or default_working_days()
    if forum_start is not None and forum_start.year != edition:
        raise EditionError(f"forum start {forum_start} is not in the edition's year {edition}")
    start = forum_start or (entry.forum_start if entry else None)
    if start is None:
        start = wd.next_working_day(editions.default_start.for_year(edition))
    review_dates = {
        commission: (dates.start, dates.end)
        for commission, dates in (entry.regional_reviews.items() if entry else ())
    } if forum_start is None or (entry and entry.forum_start == forum_start) else None
    return compute_calendar(edition, modalities=rules, forum_start=start,
                            review_dates=review_dates, working_days=wd, config_dir=config_dir)


def calendars_overlapping(start: dt.date, end: dt.date, *,
                          config_dir: Path | None = None) -> list[EditionCalendar]:
    """Calendars of the editions whose cycle overlaps [start, end].

    An edition's cycle runs from the first reminder of its earliest milestone to the
    Progress Declaration's deadline: the span in which it sends anything.
    """
    editions = load_editions(config_dir)
    rules = load_modalities(editions.default_modalities, config_dir)
    result = []
    year = rules.forum.first_edition
    while year <= end.year + 2 + rules.forum.interval_years:
        cal = build_calendar(year, config_dir=config_dir)
        opens = min(m.first_day - dt.timedelta(days=max(m.reminder_days, default=0))
                    for m in cal.milestones)
        if opens <= end and cal.get("progress-declaration").last_day >= start:
            result.append(cal)
        year += rules.forum.interval_years
    return result


def next_edition(today: dt.date, *, config_dir: Path | None = None) -> int:
    """The first forum edition whose negotiations have not closed by `today`."""
    editions = load_editions(config_dir)
    rules = load_modalities(editions.default_modalities, config_dir)
    year = rules.forum.first_edition
    while True:
        if year >= today.year and build_calendar(year, config_dir=config_dir).get(
                "progress-declaration").last_day >= today:
            return year
        year += rules.forum.interval_years


__all__ = ["CalendarError", "build_calendar", "calendars_overlapping", "compute_calendar",
           "next_edition"]
