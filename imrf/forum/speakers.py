"""The general debate's list of speakers (OP23) and whether it fits the plenary's time.

Member and observer States inscribe with their level of representation. The list follows the
Assembly's practice as the modalities state it: by level (highest first), observer States after
the Member States of the same level when the modalities say so, then in order of inscription.
Each statement has the time limit of OP23 (four minutes). The general debate has the hours of
its days less the parts the sessions sharing the plenary take (the opening and the closing);
statements are placed in those blocks in order, none across a block's end, and whatever does
not fit is the overflow, with a warning.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Collection, Sequence
from pathlib import Path
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy.exc import IntegrityError

from imrf.calendar import default_working_days
from imrf.fields import Iso3
from imrf.forum.rows import ForumError, fetch, now
from imrf.human_steps import StatesByCode
from imrf.milestones import NEW_YORK, EditionCalendar
from imrf.modalities import GeneralDebateRules, Modalities, Part
from imrf.store import Store
from imrf.store.tables_forum import forum_speakers

_TZ = ZoneInfo(NEW_YORK)
SHOWN = 5  # problems named in a refused batch's one-line error


class Inscription(BaseModel):
    """A State's request to speak in the general debate."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    state: Iso3
    level: str = Field(min_length=1, max_length=40)
    speaker: str = Field(min_length=1, max_length=200, description="Name and title")


class Block(BaseModel):
    """A stretch of plenary time the general debate has (New York time)."""

    model_config = ConfigDict(frozen=True)

    day: int
    start: dt.datetime
    end: dt.datetime

    @property
    def minutes(self) -> int:
        return int((self.end - self.start).total_seconds() // 60)


class Speaker(BaseModel):
    model_config = ConfigDict(frozen=True)

    position: int
    inscribed: int  # 1 = first to inscribe
    state: str
    state_name: str
    observer: bool
    level: str
    level_title: str
    speaker: str
    day: int | None = None  # the forum's day; None: in the overflow
    start: dt.datetime | None = None
    end: dt.datetime | None = None


class SpeakersList(BaseModel):
    model_config = ConfigDict(frozen=True)

    paragraph: str
    minutes_per_statement: int
    available_minutes: int
    needed_minutes: int
    capacity: int
    blocks: list[Block]
    scheduled: list[Speaker]
    overflow: list[Speaker]

    @property
    def fits(self) -> bool:
        return not self.overflow

    @property
    def warning(self) -> str | None:
        if self.fits:
            return None
        return (f"the list of speakers does not fit: {len(self.scheduled) + len(self.overflow)}"
                f" statements of {self.minutes_per_statement} minutes need "
                f"{self.needed_minutes} minutes, the general debate has "
                f"{self.available_minutes} ({self.capacity} statements, {self.paragraph}); "
                f"{len(self.overflow)} speaker(s) overflow, from position "
                f"{self.overflow[0].position} ({self.overflow[0].state_name})")


def rules_of(modalities: Modalities) -> GeneralDebateRules:
    if modalities.plenary is None:
        raise ForumError(f"modalities {modalities.id} give no plenary rules (plenary: OP21-OP23)")
    return modalities.plenary.general_debate


def plenary_blocks(calendar: EditionCalendar, modalities: Modalities) -> list[Block]:
    """The general debate's time: its days and parts less those of the sessions sharing it."""
    rules = rules_of(modalities)
    sessions = {s.id: s for s in modalities.sessions}
    debate = sessions[rules.session]
    days = forum_days(calendar, modalities)
    taken: set[tuple[int, Part]] = set()
    for other in (sessions[i] for i in rules.shares_plenary_with):
        for day in range(other.day, (other.last_day or other.day) + 1):
            taken.update((day, part) for part in _parts(other.part))
    blocks = []
    for day in range(debate.day, (debate.last_day or debate.day) + 1):
        for part in _parts(debate.part):
            if (day, part) in taken:
                continue
            start, end = modalities.forum.hours.of(part)
            date = days[day - 1]
            blocks.append(Block(day=day, start=local(date, start), end=local(date, end)))
    return blocks


def local(date: dt.date, time: dt.time) -> dt.datetime:
    """``date`` at ``time`` in New York (the forum's hours are UN Headquarters' hours)."""
    return dt.datetime.combine(date, time, _TZ)


def _parts(part: Part) -> tuple[Part, ...]:
    return ("morning", "afternoon") if part == "full" else (part,)


def forum_days(calendar: EditionCalendar, modalities: Modalities) -> list[dt.date]:
    """The forum's days: consecutive UN Headquarters working days from its opening."""
    wd = default_working_days()
    days = [calendar.forum_start]
    while len(days) < modalities.forum.length_days:
        days.append(wd.add_working_days(days[-1], 1))
    return days


def check_inscription(inscription: Inscription, modalities: Modalities, states: StatesByCode,
                      inscribed: Collection[str] = ()) -> list[str]:
    """Why the inscription cannot go on the list (empty: it can)."""
    rules = rules_of(modalities)
    problems = []
    state = states.get(inscription.state)
    if state is None:
        problems.append(f"{inscription.state} is not a Member or observer State: only States "
                        f"deliver statements in the general debate ({rules.paragraph})")
    elif inscription.state in inscribed:
        problems.append(f"{state.name} ({state.iso3}) is already inscribed")
    levels = [level.id for level in rules.levels]
    if inscription.level not in levels:
        problems.append(f"level {inscription.level!r} is not one of {', '.join(levels)}")
    return problems


def build(inscriptions: Sequence[Inscription], calendar: EditionCalendar,
          modalities: Modalities, states: StatesByCode) -> SpeakersList:
    """The ordered list, each speaker's estimated time, and the overflow.

    `inscriptions` are in order of inscription and already checked.
    """
    rules = rules_of(modalities)
    rank = {level.id: i for i, level in enumerate(rules.levels)}
    titles = {level.id: level.title for level in rules.levels}
    after = rules.observers_after_members

    def key(item: tuple[int, Inscription]) -> tuple[int, bool, int]:
        observer = states[item[1].state].status == "observer-state"
        return rank[item[1].level], after and observer, item[0]

    ordered = sorted(enumerate(inscriptions, start=1), key=key)
    blocks = plenary_blocks(calendar, modalities)
    length = dt.timedelta(minutes=rules.minutes_per_statement)
    slots: list[tuple[int, dt.datetime, dt.datetime]] = []
    for block in blocks:
        start = block.start
        while start + length <= block.end:
            slots.append((block.day, start, start + length))
            start += length
    scheduled: list[Speaker] = []
    overflow: list[Speaker] = []
    for position, (seq, item) in enumerate(ordered, start=1):
        state = states[item.state]
        slot = slots[position - 1] if position <= len(slots) else None
        speaker = Speaker(position=position, inscribed=seq, state=item.state,
                          state_name=state.name, observer=state.status == "observer-state",
                          level=item.level, level_title=titles[item.level],
                          speaker=item.speaker, day=slot[0] if slot else None,
                          start=slot[1] if slot else None, end=slot[2] if slot else None)
        (scheduled if speaker.start else overflow).append(speaker)
    return SpeakersList(
        paragraph=rules.paragraph, minutes_per_statement=rules.minutes_per_statement,
        available_minutes=sum(b.minutes for b in blocks),
        needed_minutes=len(ordered) * rules.minutes_per_statement, capacity=len(slots),
        blocks=blocks, scheduled=scheduled, overflow=overflow)


def inscribe(store: Store, edition: int, inscription: Inscription, modalities: Modalities,
             states: StatesByCode) -> None:
    """Add the inscription at the end of the order of inscription, or refuse it."""
    taken = [i.state for i in inscriptions(store, edition)]
    problems = check_inscription(inscription, modalities, states, taken)
    if problems:
        raise ForumError("; ".join(problems))
    try:
        with store.unit_of_work() as uow:
            uow.connection.execute(forum_speakers.insert().values(
                edition=edition, inscribed_at=now(), **inscription.model_dump()))
            uow.commit()
    except IntegrityError:  # a concurrent inscription of the same State
        raise ForumError(f"{inscription.state} is already inscribed") from None


def inscribe_many(store: Store, edition: int, items: Sequence[Inscription],
                  modalities: Modalities, states: StatesByCode) -> None:
    """Inscribe a batch in its order, all or nothing."""
    taken = {i.state for i in inscriptions(store, edition)}
    problems = []
    for number, item in enumerate(items, start=1):
        problems += [f"item {number}: {p}"
                     for p in check_inscription(item, modalities, states, taken)]
        taken.add(item.state)
    if problems:
        more = f"; and {len(problems) - SHOWN} more" if len(problems) > SHOWN else ""
        raise ForumError("; ".join(problems[:SHOWN]) + more)
    at = now()
    with store.unit_of_work() as uow:
        for item in items:  # one statement each: the id keeps the order of inscription
            uow.connection.execute(forum_speakers.insert().values(
                edition=edition, inscribed_at=at, **item.model_dump()))
        uow.commit()


def inscriptions(store: Store, edition: int) -> list[Inscription]:
    """The inscriptions of `edition` in order of inscription."""
    return [Inscription(state=r["state"], level=r["level"], speaker=r["speaker"])
            for r in fetch(store, forum_speakers, {"edition": edition})]


def read_csv(path: Path) -> list[Inscription]:
    """Inscriptions from a CSV file with columns state, level, speaker (in inscription order)."""
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle)
            missing = {"state", "level", "speaker"} - set(reader.fieldnames or ())
            if missing:
                raise ForumError(f"{path}: missing column(s) {', '.join(sorted(missing))}")
            items = []
            for line, row in enumerate(reader, start=2):
                try:
                    items.append(Inscription(state=(row["state"] or "").strip(),
                                             level=(row["level"] or "").strip(),
                                             speaker=(row["speaker"] or "").strip()))
                except ValidationError as exc:
                    err = exc.errors(include_url=False)[0]
                    raise ForumError(f"{path}: line {line}: {err['loc'][0]}: "
                                     f"{err['msg']}") from None
            return items
    except (OSError, UnicodeDecodeError) as exc:
        raise ForumError(f"{path}: cannot read: {exc}") from None
