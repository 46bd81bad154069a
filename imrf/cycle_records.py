"""What the stages did: stage runs and human steps, kept in the domain store.

The Prefect UI shows runs; these records are what the domain needs to decide (a step still
open after its deadline gets one escalation; the calendar artifact shows each milestone's
status) and they survive a deleted deployment or a pruned Prefect database.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict
from sqlalchemy import Table, and_, select, update

from imrf.store import Store
from imrf.store.tables import human_steps, stage_runs

StageState = Literal["running", "waiting", "completed", "failed"]


class StageRecord(BaseModel):
    model_config = ConfigDict(frozen=True)

    edition: int
    stage: str
    instance: str
    run_date: dt.date
    state: StageState
    flow_run_id: str | None
    summary: dict[str, Any]
    started_at: dt.datetime
    finished_at: dt.datetime | None


class StepRecord(BaseModel):
    model_config = ConfigDict(frozen=True)

    edition: int
    stage: str
    instance: str
    step: str
    title: str
    milestone: str
    deadline: dt.date | None
    state: Literal["open", "answered"]
    flow_run_id: str | None
    ui_link: str | None
    answer: dict[str, Any] | None
    problems: list[str]
    opened_at: dt.datetime
    answered_at: dt.datetime | None
    escalated_at: dt.datetime | None


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class CycleRecords:
    def __init__(self, store: Store) -> None:
        self._store = store

    def _upsert(self, table: Table, key: dict[str, Any], values: dict[str, Any]) -> None:
        where = and_(*(table.c[k] == v for k, v in key.items()))
        with self._store.unit_of_work() as uow:
            conn = uow.connection
            found = conn.execute(select(table.c.id).where(where)).first()
            if found is None:
                conn.execute(table.insert().values(**key, **values))
            else:
                conn.execute(update(table).where(where).values(**values))
            uow.commit()

    # --- stage runs ---------------------------------------------------------------------------

    def stage_started(self, *, edition: int, stage: str, instance: str, run_date: dt.date,
                      flow_run_id: str | None) -> None:
        self._upsert(stage_runs, {"edition": edition, "stage": stage, "instance": instance},
                     {"run_date": run_date, "state": "running", "flow_run_id": flow_run_id,
                      "started_at": _now(), "finished_at": None})

    def stage_state(self, *, edition: int, stage: str, instance: str, state: StageState,
                    summary: dict[str, Any] | None = None) -> None:
        values: dict[str, Any] = {"state": state}
        if summary is not None:
            values["summary"] = json.dumps(summary, default=str)
        if state in ("completed", "failed"):
            values["finished_at"] = _now()
        with self._store.unit_of_work() as uow:
            uow.connection.execute(update(stage_runs).where(
                stage_runs.c.edition == edition, stage_runs.c.stage == stage,
                stage_runs.c.instance == instance).values(**values))
            uow.commit()

    def stages(self, edition: int) -> list[StageRecord]:
        with self._store.unit_of_work(read_only=True) as uow:
            rows = uow.connection.execute(select(stage_runs).where(
                stage_runs.c.edition == edition).order_by(stage_runs.c.run_date)).mappings()
            return [StageRecord(**{**row, "summary": json.loads(row["summary"] or "{}")})
                    for row in rows]

    # --- human steps --------------------------------------------------------------------------

    def step_opened(self, *, edition: int, stage: str, instance: str, step: str, title: str,
                    milestone: str, deadline: dt.date | None, flow_run_id: str | None,
                    ui_link: str | None, problems: list[str]) -> None:
        """Record (or refresh) an open step; an answered step is not reopened."""
        key: dict[str, Any] = {"edition": edition, "stage": stage, "instance": instance}
        existing = self.step(edition=edition, stage=stage, instance=instance)
        if existing is not None and existing.state == "answered":
            return
        values: dict[str, Any] = {
            "step": step, "title": title, "milestone": milestone, "deadline": deadline,
            "state": "open", "flow_run_id": flow_run_id, "ui_link": ui_link,
            "problems": json.dumps(problems),
        }
        if existing is None:
            values["opened_at"] = _now()
        self._upsert(human_steps, key, values)

    def step_answered(self, *, edition: int, stage: str, instance: str,
                      answer: dict[str, Any]) -> None:
        with self._store.unit_of_work() as uow:
            uow.connection.execute(update(human_steps).where(
                human_steps.c.edition == edition, human_steps.c.stage == stage,
                human_steps.c.instance == instance).values(
                state="answered", answer=json.dumps(answer, default=str), problems="[]",
                answered_at=_now()))
            uow.commit()

    def step(self, *, edition: int, stage: str, instance: str) -> StepRecord | None:
        with self._store.unit_of_work(read_only=True) as uow:
            row = uow.connection.execute(select(human_steps).where(
                human_steps.c.edition == edition, human_steps.c.stage == stage,
                human_steps.c.instance == instance)).mappings().first()
        return _step(row) if row is not None else None

    def steps(self, edition: int | None = None) -> list[StepRecord]:
        query = select(human_steps).order_by(human_steps.c.deadline)
        if edition is not None:
            query = query.where(human_steps.c.edition == edition)
        with self._store.unit_of_work(read_only=True) as uow:
            return [_step(row) for row in uow.connection.execute(query).mappings()]

    def overdue_steps(self, as_of: dt.date) -> list[StepRecord]:
        """Open steps whose deadline has passed (escalated or not: the ledger sends once)."""
        query = select(human_steps).where(human_steps.c.state == "open",
                                          human_steps.c.deadline < as_of)
        with self._store.unit_of_work(read_only=True) as uow:
            return [_step(row) for row in uow.connection.execute(query).mappings()]

    def mark_escalated(self, step: StepRecord) -> None:
        with self._store.unit_of_work() as uow:
            uow.connection.execute(update(human_steps).where(
                human_steps.c.edition == step.edition, human_steps.c.stage == step.stage,
                human_steps.c.instance == step.instance,
                human_steps.c.escalated_at.is_(None)).values(escalated_at=_now()))
            uow.commit()


def _step(row: Any) -> StepRecord:
    data = dict(row)
    data["answer"] = json.loads(data["answer"]) if data["answer"] else None
    data["problems"] = json.loads(data["problems"] or "[]")
    return StepRecord(**data)
