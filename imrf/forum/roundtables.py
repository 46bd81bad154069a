"""The four interactive round tables (OP26-OP31): who takes part, and each one's status.

Non-governmental stakeholders and representatives of regional processes may have space in
each round table (OP30); this module records them and assembles, per round table, its cluster
and objectives (OP27), its co-chairs (OP28), its background note (OP29) and its technical
summary (OP31).
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import IntegrityError

from imrf.forum.documents import DocumentStatus
from imrf.forum.rows import ForumError, fetch, now
from imrf.human_steps import CoChairs, Person
from imrf.modalities import Modalities
from imrf.reference import Objective
from imrf.store import Store
from imrf.store.tables_forum import forum_roundtable_participants

ParticipantKind = Literal["non-governmental", "regional-process"]


class Participant(BaseModel):
    """A non-governmental or regional participant in one round table (OP30)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    roundtable: int = Field(ge=1)
    kind: ParticipantKind
    name: str = Field(min_length=1, max_length=300)
    organisation: str = Field(default="", max_length=300)


def add_participant(store: Store, edition: int, participant: Participant,
                    modalities: Modalities) -> None:
    count = len(modalities.roundtables)
    if participant.roundtable > count:
        raise ForumError(f"round table {participant.roundtable} does not exist (1 to {count})")
    try:
        with store.unit_of_work() as uow:
            uow.connection.execute(forum_roundtable_participants.insert().values(
                edition=edition, recorded_at=now(), **participant.model_dump()))
            uow.commit()
    except IntegrityError:
        raise ForumError(f"{participant.name!r} of {participant.organisation!r} is already a "
                         f"participant of round table {participant.roundtable}") from None


def participants(store: Store, edition: int) -> list[Participant]:
    return [Participant(roundtable=r["roundtable"], kind=r["kind"], name=r["name"],
                        organisation=r["organisation"])
            for r in fetch(store, forum_roundtable_participants, {"edition": edition})]


class RoundtableView(BaseModel):
    """One round table as the programme and the operators see it."""

    model_config = ConfigDict(frozen=True)

    number: int
    cluster: str
    title: str
    session: str
    day: int
    date: dt.date
    part: str
    objectives: list[Objective]
    co_chairs: list[Person]
    co_chair_states: list[str]
    documents: list[DocumentStatus]
    participants: dict[str, int]


def roundtable_views(modalities: Modalities, *, days: list[dt.date],
                     objectives: dict[int, Objective], chairs: CoChairs | None,
                     state_names: dict[str, str], documents: list[DocumentStatus],
                     people: list[Participant]) -> list[RoundtableView]:
    by_rt = {rt.roundtable: rt.co_chairs for rt in chairs.roundtables} if chairs else {}
    views = []
    for rt in modalities.roundtables:
        session = next(s for s in modalities.sessions if s.roundtable == rt.number)
        pair = by_rt.get(rt.number, [])
        counts = {kind: sum(1 for p in people if p.roundtable == rt.number and p.kind == kind)
                  for kind in ("non-governmental", "regional-process")}
        views.append(RoundtableView(
            number=rt.number, cluster=rt.cluster, title=rt.title, session=session.id,
            day=session.day, date=days[session.day - 1], part=session.part,
            objectives=[objectives[n] for n in rt.objectives], co_chairs=pair,
            co_chair_states=[state_names.get(p.state, p.state) for p in pair],
            documents=[d for d in documents if d.roundtable == rt.number],
            participants=counts))
    return views
