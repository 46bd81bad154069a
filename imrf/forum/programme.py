"""The forum's programme (OP20-OP35): days and sessions, the opening, the round tables with
their co-chairs and objectives, and the general debate's speakers with estimated times.

`load` reads what the store holds for an edition; `build` is pure (calendar, modalities,
reference data and those records in, a :class:`Programme` out); `to_html` renders the
printable page (Jinja2, autoescaped: a name with markup is shown as text) and `to_json` the
machine-readable one.
"""

from __future__ import annotations

import datetime as dt
from functools import cache
from typing import Literal

import jinja2
from pydantic import BaseModel, ConfigDict

from imrf.forum import documents, opening, roundtables, speakers
from imrf.forum.cochairs import co_chairs
from imrf.human_steps import CoChairs, StatesByCode
from imrf.milestones import EditionCalendar
from imrf.modalities import Modalities, Part
from imrf.reference import Objective
from imrf.store import Store

Track = Literal["plenary", "parallel"]


class SessionLine(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    title: str
    paragraph: str
    track: Track
    part: Part
    start: dt.datetime
    end: dt.datetime
    roundtable: int | None = None
    order: int = 0  # the session's place in the modalities (ties at the same hour)


class ProgrammeDay(BaseModel):
    model_config = ConfigDict(frozen=True)

    number: int
    date: dt.date
    sessions: list[SessionLine]


class Records(BaseModel):
    """What the store holds for an edition's programme."""

    model_config = ConfigDict(frozen=True)

    co_chairs: CoChairs | None = None
    received: list[documents.Received] = []
    participants: list[roundtables.Participant] = []
    opening_names: dict[str, str] = {}
    inscriptions: list[speakers.Inscription] = []


class Programme(BaseModel):
    model_config = ConfigDict(frozen=True)

    edition: int
    modalities: str
    title: str
    venue: str
    forum_start: dt.date
    forum_end: dt.date
    as_of: dt.date
    days: list[ProgrammeDay]
    opening: list[opening.OpeningSpeaker]
    opening_paragraph: str
    roundtables: list[roundtables.RoundtableView]
    speakers: speakers.SpeakersList
    warnings: list[str]


def load(store: Store, edition: int) -> Records:
    return Records(co_chairs=co_chairs(store, edition),
                   received=documents.received(store, edition),
                   participants=roundtables.participants(store, edition),
                   opening_names=opening.names(store, edition),
                   inscriptions=speakers.inscriptions(store, edition))


def _days(calendar: EditionCalendar, modalities: Modalities,
          debate: speakers.SpeakersList) -> list[ProgrammeDay]:
    rules = speakers.rules_of(modalities)
    plenary = {rules.session, *rules.shares_plenary_with}
    dates = speakers.forum_days(calendar, modalities)
    result = []
    for number, date in enumerate(dates, start=1):
        lines = []
        for order, session in enumerate(modalities.sessions):
            if not session.day <= number <= (session.last_day or session.day):
                continue
            milestone = calendar.get(session.id)
            if session.id == rules.session:
                blocks = [b for b in debate.blocks if b.day == number]
                if not blocks:
                    continue
                start, end = blocks[0].start, blocks[-1].end
            else:
                begin, finish = modalities.forum.hours.of(session.part)
                start, end = speakers.local(date, begin), speakers.local(date, finish)
            lines.append(SessionLine(
                id=session.id, title=milestone.title, paragraph=session.paragraph,
                track="plenary" if session.id in plenary else "parallel", part=session.part,
                start=start, end=end, roundtable=session.roundtable, order=order))
        lines.sort(key=lambda s: (s.start, s.track != "plenary", s.order))
        result.append(ProgrammeDay(number=number, date=date, sessions=lines))
    return result


def build(calendar: EditionCalendar, modalities: Modalities, records: Records, *,
          states: StatesByCode, objectives: dict[int, Objective],
          as_of: dt.date) -> Programme:
    debate = speakers.build(records.inscriptions, calendar, modalities, states)
    statuses = documents.statuses(calendar, modalities, records.received, as_of)
    tables = roundtables.roundtable_views(
        modalities, days=speakers.forum_days(calendar, modalities), objectives=objectives,
        chairs=records.co_chairs, state_names={c: s.name for c, s in states.items()},
        documents=statuses, people=records.participants)
    warnings = [debate.warning] if debate.warning else []
    unchaired = [str(rt.number) for rt in tables if not rt.co_chairs]
    if unchaired:
        warnings.append(f"co-chairs not yet appointed for round table(s) {', '.join(unchaired)}"
                        f" ({modalities.co_chairs.paragraph})")
    assert modalities.plenary is not None  # speakers.build refused modalities without it
    return Programme(
        edition=calendar.edition, modalities=modalities.id, title=modalities.forum.title,
        venue=modalities.forum.venue, forum_start=calendar.forum_start,
        forum_end=calendar.forum_end, as_of=as_of,
        days=_days(calendar, modalities, debate),
        opening=opening.programme(modalities, records.opening_names),
        opening_paragraph=modalities.plenary.opening_session.paragraph,
        roundtables=tables, speakers=debate, warnings=warnings)


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.PackageLoader("imrf", "templates"),
                              autoescape=True, undefined=jinja2.StrictUndefined,
                              trim_blocks=True, lstrip_blocks=True)


def to_html(programme: Programme) -> str:
    from imrf.rendering import human_date

    template = _environment().get_template("programme/programme.html.j2")
    return template.render(p=programme, human_date=human_date)


def to_json(programme: Programme) -> str:
    return programme.model_dump_json(indent=2) + "\n"
