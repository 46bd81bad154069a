"""The stages of the cycle (`config/stages.yaml`) and the plan of their runs for an edition.

A stage is what an operator sees as one flow in the Prefect UI. Planning turns an edition's
calendar into one dated run per stage instance (per commission, per document, per forum day),
each with an idempotency key built from edition, stage, instance and date: re-planning finds
the same keys, and a moved date makes a new key (the stale run is then cancelled).
"""

from __future__ import annotations

import datetime as dt
from functools import cache
from pathlib import Path
from typing import Literal

import pendulum
from pydantic import BaseModel, ConfigDict, Field, NonNegativeInt, model_validator

from imrf.calendar import default_working_days
from imrf.configfile import default_config_dir, load_model
from imrf.holidays import WorkingDays
from imrf.milestones import EditionCalendar
from imrf.vocabulary import Commission

NEW_YORK = "America/New_York"
InputName = Literal["review-outcome", "document-issued", "objections", "co-chairs",
                    "co-facilitators", "technical-summaries", "declaration-agreed"]


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class StepDeadline(_Strict):
    working_days: NonNegativeInt | None = None
    milestone: str | None = None

    @model_validator(mode="after")
    def _one(self) -> StepDeadline:
        if (self.working_days is None) == (self.milestone is None):
            raise ValueError("give exactly one of 'working_days' or 'milestone'")
        return self


class HumanStepSpec(_Strict):
    input: InputName
    title: str
    deadline: StepDeadline
    last_day_only: bool = False
    then_notify: tuple[str, ...] = ()


class StageSpec(_Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9-]*$")
    flow: str = Field(pattern=r"^imrf-[a-z0-9-]+$")
    title: str
    paragraph: str
    milestones: tuple[str, ...] = Field(min_length=1)
    per: Literal["commission", "document", "forum-day"] | None = None
    documents: tuple[str, ...] = ()
    human_step: HumanStepSpec | None = None


class StagesFile(_Strict):
    run_at: dt.time
    stages: tuple[StageSpec, ...]

    @model_validator(mode="after")
    def _unique(self) -> StagesFile:
        ids = [s.id for s in self.stages]
        if len(set(ids)) != len(ids):
            raise ValueError("stage ids must be unique")
        return self

    def get(self, stage_id: str) -> StageSpec:
        for stage in self.stages:
            if stage.id == stage_id:
                return stage
        known = ", ".join(s.id for s in self.stages)
        raise KeyError(f"unknown stage {stage_id!r}; known: {known}")


@cache
def load_stages(config_dir: Path | None = None) -> StagesFile:
    return load_model(StagesFile, (config_dir or default_config_dir()) / "stages.yaml")


class PlannedRun(_Strict):
    """One scheduled run of a stage flow."""

    stage: str
    flow: str
    edition: int
    instance: str  # the commission, the document, the forum day, or "" when there is one run
    date: dt.date
    scheduled_at: dt.datetime  # aware, America/New_York
    milestones: tuple[str, ...]
    human_step_deadline: dt.date | None = None

    @property
    def idempotency_key(self) -> str:
        return f"imrf/{self.edition}/{self.stage}/{self.instance or '-'}/{self.date.isoformat()}"

    @property
    def run_name(self) -> str:
        suffix = f"-{self.instance}" if self.instance else ""
        return f"{self.edition}-{self.stage}{suffix}"

    @property
    def parameters(self) -> dict[str, object]:
        params: dict[str, object] = {"edition": self.edition}
        if self.instance:
            params["instance"] = self.instance
        return params


def _instances(stage: StageSpec, calendar: EditionCalendar) -> list[tuple[str, tuple[str, ...],
                                                                          dt.date, bool]]:
    """(instance, milestone ids, date, is the last instance) for each run of `stage`."""
    if stage.per == "commission":
        runs = []
        for commission in Commission:
            ids = tuple(m.replace("{commission}", commission.value) for m in stage.milestones)
            runs.append((commission.value, ids, calendar.get(ids[0]).first_day))
    elif stage.per == "document":
        runs = [(doc, (doc,), calendar.get(doc).first_day) for doc in stage.documents]
    elif stage.per == "forum-day":
        days = sorted({m.first_day for m in calendar.milestones
                       if m.kind.value == "meeting" and calendar.forum_start <= m.first_day
                       <= calendar.forum_end})
        runs = []
        for number, day in enumerate(days, start=1):
            ids = tuple(m.id for m in calendar.milestones
                        if m.kind.value == "meeting" and m.first_day == day
                        and calendar.forum_start <= m.first_day <= calendar.forum_end)
            runs.append((str(number), ids, day))
    else:
        runs = [("", stage.milestones, calendar.get(stage.milestones[0]).first_day)]
    return [(inst, ids, day, i == len(runs) - 1) for i, (inst, ids, day) in enumerate(runs)]


def plan_edition(calendar: EditionCalendar, *, config_dir: Path | None = None,
                 working_days: WorkingDays | None = None) -> list[PlannedRun]:
    """Every stage run of an edition, in date order."""
    spec = load_stages(config_dir)
    wd = working_days or default_working_days()
    planned: list[PlannedRun] = []
    for stage in spec.stages:
        for instance, ids, day, last in _instances(stage, calendar):
            step = stage.human_step
            deadline = None
            if step is not None and (last or not step.last_day_only):
                if step.deadline.milestone:
                    deadline = calendar.get(step.deadline.milestone).first_day
                else:
                    deadline = wd.add_working_days(wd.next_working_day(day),
                                                   step.deadline.working_days or 0)
            at = pendulum.datetime(day.year, day.month, day.day, spec.run_at.hour,
                                   spec.run_at.minute, tz=NEW_YORK)
            planned.append(PlannedRun(
                stage=stage.id, flow=stage.flow, edition=calendar.edition, instance=instance,
                date=day, scheduled_at=at, milestones=ids, human_step_deadline=deadline,
            ))
    planned.sort(key=lambda r: (r.scheduled_at, r.stage, r.instance))
    return planned
