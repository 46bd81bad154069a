"""`imrf simulate`: the real flows over years of the cycle, on an injected clock.

The clock jumps from event to event (a stage's date, a day some reminder comes due); stage
flows run as subflows, the sweep's work runs as tasks of the simulation's own flow (a flow run
costs about a second of orchestration, a task a few milliseconds), human steps are answered
with scripted answers. Running the same simulation again sends nothing new: the ledger.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter
from typing import Any

from prefect import flow, get_run_logger

from flows.stages import STAGE_FLOWS
from flows.sweep import sweep
from imrf.calendar import calendars_overlapping
from imrf.delivery.base import ChunkResult, Sender
from imrf.delivery.message import MessageBatch
from imrf.reminders import reminder_days_between
from imrf.simulation import scripted_answers
from imrf.stages import PlannedRun, plan_edition
from tasks import context
from tasks.artifacts import publish_calendar, publish_stage_summary


class CountingSender(Sender):
    """Counts every (ledger occasion, recipient) handed to the real sender: duplicates show."""

    def __init__(self, inner: Sender) -> None:
        self.inner = inner
        self.seen: dict[tuple[int, str, str], set[str]] = {}
        self.duplicates = 0
        self._lock = threading.Lock()  # the notifier sends from several threads

    def chunks(self, batch: MessageBatch) -> list[MessageBatch]:
        return self.inner.chunks(batch)

    def send_chunk(self, chunk: MessageBatch) -> ChunkResult:
        # Set arithmetic per chunk: the simulation hands over hundreds of thousands.
        emails = [p.email.lower() for p in chunk.recipients]
        with self._lock:
            seen = self.seen.setdefault((chunk.edition, chunk.milestone, chunk.kind.value),
                                        set())
            before = len(seen)
            seen.update(emails)
            self.duplicates += len(emails) - (len(seen) - before)
        return self.inner.send_chunk(chunk)


@flow(name="imrf-simulate", log_prints=True)
def simulate(start: dt.date, end: dt.date) -> dict[str, Any]:
    """Run the cycle from `start` to `end` on an injected clock, answering human steps with
    scripted answers. Every e-mail goes through the ledger to the configured sender."""
    logger = get_run_logger()
    app = context.app()
    counting = CountingSender(app.notifier.sender)
    app.notifier.sender = counting
    calendars = {cal.edition: cal for cal in calendars_overlapping(start, end)}
    runs: dict[dt.date, list[PlannedRun]] = {}
    for cal in calendars.values():
        for run in plan_edition(cal):
            if start <= run.date <= end:
                runs.setdefault(run.date, []).append(run)
    days = sorted(set(runs) | set(reminder_days_between(calendars.values(), start, end)))
    stage_runs: list[dict[str, Any]] = []
    emails: Counter[str] = Counter()
    # Per edition, the days a sweep sent something: one summary artifact each at the end
    # (a sweep artifact per day costs a server call each, hundreds in a simulation).
    sweeps: dict[int, dict[dt.date, list[dict[str, Any]]]] = {}
    try:
        for day in days:
            for sent in sweep(day, publish=False)["sends"]:
                days_swept = sweeps.setdefault(sent["edition"], {})
                days_swept.setdefault(day, []).append(sent)
                for field in ("sent", "already_sent", "failed", "unknown"):
                    emails[field] += sent[field]
            for run in runs.get(day, []):
                stage_flow: Any = STAGE_FLOWS[run.stage]
                params: dict[str, Any] = dict(run.parameters)
                params.update(as_of=day, answers=scripted_answers(
                    calendars[run.edition], run.stage, day))
                state = stage_flow(**params, return_state=True)
                result = state.result(raise_on_failure=False) if state.is_completed() else {}
                for sent in (result or {}).get("sends", []):
                    for field in ("sent", "already_sent", "failed", "unknown"):
                        emails[field] += sent[field]
                stage_runs.append({"stage": run.stage, "instance": run.instance,
                                   "edition": run.edition, "date": day.isoformat(),
                                   "state": state.name})
        for year in calendars:
            publish_calendar(year, end)
        for year, days_swept in sweeps.items():
            publish_stage_summary(
                year, "reminder-sweep", "", f"Reminder sweeps from {start} to {end} (simulated)",
                [f"{len(days_swept)} days with reminders or escalations: "
                 + ", ".join(map(str, days_swept)) + "."],
                [sent for sends in days_swept.values() for sent in sends])
    finally:
        app.notifier.sender = counting.inner
    logger.info("Simulated %s to %s: %d stage runs, %s", start, end, len(stage_runs),
                dict(emails))
    return {"from": start.isoformat(), "to": end.isoformat(), "editions": list(calendars),
            "stage_runs": stage_runs,
            "emails": {k: emails[k] for k in ("sent", "already_sent", "failed", "unknown")},
            "duplicates": counting.duplicates}



