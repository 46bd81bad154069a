"""The computed calendar of one edition: its milestones with concrete dates.

These are the values every other layer consumes (notifications, flows, the website, the
programme); they are frozen so a calendar can be shared without being changed under a reader.
"""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, model_validator

from imrf.vocabulary import Audience, MilestoneKind

NEW_YORK = "America/New_York"


class Milestone(BaseModel):
    """One dated step of an edition's cycle.

    A deadline has ``due``; a meeting or a window has ``start`` and ``end`` (inclusive).
    ``start_time``/``end_time`` are local times at UN Headquarters (America/New_York) for
    meetings that have set hours.
    """

    model_config = ConfigDict(frozen=True)

    id: str
    title: str
    paragraph: str
    kind: MilestoneKind
    basis: str  # "text" when the paragraph fixes the date, "operational-default" otherwise
    rule: str  # the rule in words, e.g. "at least six weeks before the forum (OP15)"
    action: str  # what the recipients must do, and by when
    audiences: tuple[Audience, ...]
    reminder_days: tuple[int, ...] = ()
    start: dt.date | None = None
    end: dt.date | None = None
    due: dt.date | None = None
    start_time: dt.time | None = None
    end_time: dt.time | None = None
    objectives: tuple[int, ...] = ()
    cluster: str | None = None

    @model_validator(mode="after")
    def _dates_match_kind(self) -> Milestone:
        if self.kind is MilestoneKind.DEADLINE:
            if self.due is None or self.start is not None or self.end is not None:
                raise ValueError(f"deadline {self.id!r} needs 'due' and no start/end")
        else:
            if self.start is None or self.end is None or self.due is not None:
                raise ValueError(f"{self.kind} {self.id!r} needs 'start' and 'end' and no due")
            if self.end < self.start:
                raise ValueError(f"{self.id!r} ends ({self.end}) before it starts ({self.start})")
        return self

    @property
    def first_day(self) -> dt.date:
        """The day the milestone happens (a deadline's due date, a meeting's first day)."""
        day = self.due if self.kind is MilestoneKind.DEADLINE else self.start
        assert day is not None
        return day

    @property
    def last_day(self) -> dt.date:
        day = self.due if self.kind is MilestoneKind.DEADLINE else self.end
        assert day is not None
        return day


class EditionCalendar(BaseModel):
    """Every milestone of one forum edition, in date order."""

    model_config = ConfigDict(frozen=True)

    edition: int
    modalities: str
    forum_start: dt.date
    forum_end: dt.date
    milestones: tuple[Milestone, ...]

    def get(self, milestone_id: str) -> Milestone:
        for milestone in self.milestones:
            if milestone.id == milestone_id:
                return milestone
        known = ", ".join(m.id for m in self.milestones)
        raise KeyError(f"unknown milestone {milestone_id!r}; known: {known}")

    @property
    def ids(self) -> list[str]:
        return [m.id for m in self.milestones]
