"""Sending a milestone's notices, reminders and escalations: one task per batch."""

from __future__ import annotations

import time
from typing import Any

from prefect import task
from prefect.artifacts import create_progress_artifact, update_progress_artifact
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.objects import TaskRun
from prefect.states import State

from imrf.delivery.base import DeliveryError
from imrf.vocabulary import Audience, MessageKind
from tasks import context

PROGRESS_FROM = 1000  # recipients: below this a progress bar is noise
PROGRESS_AFTER_S = 2.0  # a fan-out shows a bar once it has taken this long
PROGRESS_EVERY_S = 1.0  # and updates it at most this often (and when it ends)


def transient(task: Any, task_run: TaskRun, state: State[Any]) -> bool:
    """Retry only what may succeed later without risking a second delivery."""
    error = state.data if isinstance(state.data, BaseException) else None
    if error is None:
        try:
            state.result()
        except BaseException as exc:
            error = exc
    return isinstance(error, DeliveryError) and error.retryable and not error.maybe_delivered


@task(name="notify-milestone", retries=3, retry_delay_seconds=[5, 30, 120],
      retry_condition_fn=transient, cache_policy=NO_CACHE,
      task_run_name="{kind}-{milestone_id}")
def notify_milestone(
    edition: int,
    milestone_id: str,
    kind: MessageKind,
    *,
    days_before: int | None = None,
    audiences: list[Audience] | None = None,
    step: str | None = None,
    ui_link: str | None = None,
    extra: dict[str, str] | None = None,
    operators_only: bool = False,
) -> dict[str, Any]:
    """Send one message of a milestone to its audiences (batched); return the summary."""
    app = context.app()
    cal = context.calendar(edition)
    progress_id = None
    started = last = time.monotonic()

    def progress(done: int, total: int) -> None:
        # A bar for a fan-out that takes a while (many recipients, SendGrid making us wait);
        # one that ends within seconds is summarised by the stage instead, and each update
        # is a request to the Prefect server.
        nonlocal progress_id, last
        now = time.monotonic()
        if total < PROGRESS_FROM or (progress_id is None and now - started < PROGRESS_AFTER_S):
            return
        if progress_id is not None and now - last < PROGRESS_EVERY_S and done < total:
            return
        last = now
        value = 100.0 * done / total
        if progress_id is None:
            progress_id = create_progress_artifact(
                value, key=f"imrf-{edition}-sending",
                description=f"{kind} of {milestone_id}: {done} of {total} recipients")
        else:
            update_progress_artifact(progress_id, value,
                                     description=f"{kind} of {milestone_id}: {done} of {total}")

    if operators_only:
        audiences = [Audience.OPERATORS]
    try:
        summary = app.notifier.notify(
            calendar=cal, milestone_id=milestone_id, kind=kind, days_before=days_before,
            audiences=audiences, step=step, ui_link=ui_link, extra=extra, progress=progress)
    except DeliveryError as exc:
        # Re-raised without its chain: the HTTP client's exceptions hold the request (and so
        # the key) and Prefect persists a failed task's exception. The message says what to
        # fix; the summary says what was done before the error.
        clean = DeliveryError(str(exc), status=exc.status, retryable=exc.retryable,
                              maybe_delivered=exc.maybe_delivered)
        clean.summary = exc.summary
        raise clean from None
    return summary.model_dump(mode="json")
