"""The common body of every stage flow: notices, the human step, records and artifacts."""

from __future__ import annotations

import datetime as dt
from typing import Any

from prefect import get_run_logger
from prefect.runtime import flow_run

from flows.human import ask
from imrf.human_steps import store_hook
from imrf.stages import load_stages, plan_edition
from imrf.vocabulary import MessageKind
from tasks import context
from tasks.artifacts import publish_calendar, publish_stage_summary
from tasks.notifications import notify_milestone
from tasks.records import record_stage, record_step_answer, record_step_open


def run_stage(stage_id: str, edition: int, instance: str = "", *, as_of: dt.date | None,
              answers: dict[str, Any] | None) -> dict[str, Any]:
    """Send the stage's notices, then open its human step (if any) and record the answer."""
    logger = get_run_logger()
    as_of = as_of or context.today_new_york()
    cal = context.calendar(edition)
    spec = load_stages().get(stage_id)
    try:
        run = next(r for r in plan_edition(cal) if r.stage == stage_id
                   and r.instance == instance)
    except StopIteration:
        raise ValueError(f"stage {stage_id!r} has no run {instance!r} in edition {edition}") \
            from None
    run_id = str(flow_run.get_id() or "") or None
    record_stage(edition, stage_id, instance, "running", run_date=run.date, flow_run_id=run_id)
    sends = [notify_milestone(edition, m, MessageKind.NOTICE) for m in run.milestones]
    lines = [f"Edition {edition}, {spec.title} ({spec.paragraph}), run for {run.date:%d %B %Y}"
             f" as of {as_of}."]
    answer_data: dict[str, Any] | None = None
    step = spec.human_step
    if step is not None and run.human_step_deadline is not None:
        milestone = run.milestones[-1]
        link = context.ui_run_link(run_id)
        opening: dict[str, Any] = dict(
            edition=edition, stage=stage_id, instance=instance, step=step.input,
            title=step.title, milestone=milestone, deadline=run.human_step_deadline,
            flow_run_id=run_id, ui_link=link)
        scripted = (answers or {}).get(step.input)
        record_step_open(**opening, problems=[])
        if scripted is None:
            # The operators' e-mail carries the link to this run's form (sent once).
            sends.append(notify_milestone(
                edition, milestone, MessageKind.NOTICE, step=step.input, ui_link=link,
                operators_only=True,
                extra={"step": step.title,
                       "deadline": f"{run.human_step_deadline:%A %d %B %Y}"}))
            record_stage(edition, stage_id, instance, "waiting")
            publish_calendar(edition, as_of)
        logger.info("Human step %r, due %s", step.title, run.human_step_deadline)
        hook = store_hook(step.input)  # an area's checks and record (e.g. objections)
        answer = ask(
            step_input=step.input, title=step.title, modalities_id=cal.modalities,
            context=(f"IMRF {edition} — {cal.get(milestone).title} ({spec.paragraph}). "
                     f"Please answer by {run.human_step_deadline:%A %d %B %Y}."),
            scripted=scripted,
            on_problems=lambda problems: record_step_open(**opening, problems=problems),
            extra_check=None if hook is None else (
                lambda given: hook.check(context.app().store, edition, given)),
        )
        if hook is not None:
            hook.record(context.app().store, edition, answer)
        answer_data = answer.model_dump(mode="json")
        record_step_answer(edition, stage_id, instance, answer_data)
        if step.input == "review-outcome":  # the outcome is a regional input (OP13, issue 5)
            from flows.inputs import record_review_outcome

            sends += record_review_outcome(edition, instance, answer_data, as_of)
        lines.append(f"Operator's answer to “{step.title}”: `{answer_data}`")
        for then in step.then_notify:
            sends.append(notify_milestone(edition, then, MessageKind.NOTICE))
    summary = {"edition": edition, "stage": stage_id, "instance": instance,
               "date": run.date.isoformat(), "as_of": as_of.isoformat(), "sends": sends,
               "answer": answer_data}
    record_stage(edition, stage_id, instance, "completed", summary=summary)
    publish_stage_summary(edition, stage_id, instance, f"IMRF {edition}: {spec.title}"
                          + (f" ({instance})" if instance else ""), lines, sends)
    publish_calendar(edition, as_of)
    return summary
