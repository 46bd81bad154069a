"""The inputs to each forum (OP13-14) as flows: the drop folder, held inputs, the tracker.

Docstrings of the flows are what operators read in the UI. The work is in
:mod:`imrf.inputs`; these flows only call it, send the acknowledgements, publish the
tracker artifact ``imrf-<edition>-inputs`` and ask for the website to be rebuilt.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run

from flows.human import ask
from flows.planning import deployment_name
from imrf.delivery.base import DeliveryError
from imrf.human_steps import InputDecision, ReviewOutcome
from imrf.inputs import dropfolder
from imrf.inputs.acknowledge import acknowledge, safe_text
from imrf.inputs.models import Status, Submission
from imrf.inputs.registry import InputRegistry
from imrf.inputs.review_outcome import register_review_outcome
from imrf.inputs.tracker import to_markdown
from imrf.vocabulary import Commission, MessageKind
from tasks import context
from tasks.notifications import notify_milestone, transient

DROP_FOLDER_FLOW = "imrf-inputs-drop-folder"
HELD_INPUT_FLOW = "imrf-held-input"
FLOW_OPTIONS: dict[str, Any] = {"persist_result": True, "log_prints": True}
_MARKDOWN_SPECIAL = str.maketrans({c: f"\\{c}" for c in "\\`*_{}[]()<>#+-.!|~"})


def registry() -> InputRegistry:
    app = context.app()
    config_dir = app.settings.config_dir
    return InputRegistry(app.store, data_dir=app.settings.data_dir,
                         config_dir=config_dir if config_dir.exists() else None)


def tracker_key(edition: int) -> str:
    return f"imrf-{edition}-inputs"


@task(name="publish-inputs-tracker", cache_policy=NO_CACHE)
def publish_tracker(edition: int) -> dict[str, Any]:
    """The tracker artifact: who has submitted for the edition and who has not."""
    tracker = registry().tracker(edition)
    create_markdown_artifact(
        to_markdown(tracker), key=tracker_key(edition),
        description=(f"IMRF {edition} inputs: {tracker.member_states.submitted} Member States "
                     f"submitted, {tracker.member_states.missing} missing"))
    return tracker.model_dump(mode="json", include={"member_states", "commissions"})


@task(name="acknowledge-input", retries=3, retry_delay_seconds=[5, 30, 120],
      retry_condition_fn=transient, cache_policy=NO_CACHE, task_run_name="ack-{input_id}")
def acknowledge_input(input_id: str) -> dict[str, Any]:
    """E-mail the submitter of an accepted input (once: the ledger keeps it)."""
    submission = registry().get(input_id)
    try:
        summary = acknowledge(context.app().notifier, context.calendar(submission.edition),
                              submission)
    except DeliveryError as exc:  # re-raised without the HTTP client's chain (see tasks)
        clean = DeliveryError(str(exc), status=exc.status, retryable=exc.retryable,
                              maybe_delivered=exc.maybe_delivered)
        clean.summary = exc.summary
        raise clean from None
    return summary.model_dump(mode="json")


def rebuild_site(edition: int) -> None:
    """Rebuild the public inputs website (OP14) if the site flow is installed.

    As a task of the calling flow (the build task of `imrf-rebuild-site`), not as that
    flow: a subflow run costs several server calls more, for the same build.
    """
    logger = get_run_logger()
    try:
        from flows import site
    except ImportError:
        logger.info("Website not rebuilt: flows.site is not installed")
        return
    build = getattr(site, "build_edition_site", None)
    if build is None:
        logger.info("Website not rebuilt: flows.site has no build_edition_site task")
        return
    try:
        build(edition)
    except Exception as exc:  # the input is registered; the next rebuild will include it
        logger.warning("Website rebuild for %s failed: %s", edition, exc)


def after_accepted(submission: Submission) -> dict[str, Any]:
    """What follows an acceptance: the acknowledgement, then the website."""
    sent = acknowledge_input(submission.id)
    rebuild_site(submission.edition)
    return sent


def request_review(input_id: str) -> str | None:
    """Start the held-input flow for ``input_id`` (its own run, waiting for an operator)."""
    from prefect.deployments import run_deployment

    logger = get_run_logger()
    try:
        run: Any = run_deployment(
            name=deployment_name(HELD_INPUT_FLOW), parameters={"input_id": input_id},
            timeout=0, as_subflow=False, flow_run_name=f"held-{input_id}",
            idempotency_key=f"held-input-{input_id}", tags=["imrf", "imrf-inputs"])
    except Exception as exc:  # no such deployment served (tests, a bare `python -m`)
        why = type(exc).__name__ + (f": {exc}" if str(exc) not in ("", "None") else "")
        logger.warning("Input %s is held; no %s run started (%s): decide with `imrf inputs "
                       "accept %s` or `imrf inputs reject %s --reason ...`", input_id,
                       deployment_name(HELD_INPUT_FLOW), why, input_id, input_id)
        return None
    return str(run.id)


@task(name="register-arrival", cache_policy=NO_CACHE, task_run_name="register-{name}")
def register_arrival(folder: Path, arrival: dropfolder.Arrival, name: str,
                     grace_seconds: float) -> dict[str, Any]:
    outcome = dropfolder.process(registry(), folder, arrival, grace_seconds=grace_seconds)
    return outcome.model_dump(mode="json")


@flow(name=DROP_FOLDER_FLOW, **FLOW_OPTIONS)
def drop_folder(folder: str | None = None) -> dict[str, Any]:
    """Register the inputs dropped in the inputs folder (OP13), every few minutes.

    Each document needs a sidecar `<document>.yaml` (or `.json`) with its metadata: edition,
    level, submitter, state or commission, objectives, title, language. Registered files
    move to `processed/`; refused ones to `rejected/` with `<document>.reason.txt`. An input
    from a known contact is accepted, acknowledged by e-mail and published; from anyone
    else it is held and an `imrf-held-input` run asks an operator to accept or reject it.
    The tracker artifact `imrf-<edition>-inputs` is updated. `folder`: empty for the one in
    config/inputs.yaml.
    """
    logger = get_run_logger()
    reg = registry()
    rule = reg.config.drop_folder
    where = Path(folder) if folder else reg.config.drop_folder_path(reg.data_dir)
    grace = rule.sidecar_grace_minutes * 60.0
    found = dropfolder.scan(where, grace_seconds=grace)
    outcomes: list[dict[str, Any]] = []
    acknowledgements: list[dict[str, Any]] = []
    editions: set[int] = set()
    for arrival in found.arrivals:
        name = (arrival.document or arrival.sidecar).name
        outcome = register_arrival(where, arrival, name, grace)
        outcomes.append(outcome)
        status, input_id = outcome["status"], outcome["input_id"]
        if input_id is None:
            if outcome["moved_to"]:
                logger.warning("Refused %s: %s", name, outcome["reason"])
            continue
        editions.add(outcome["edition"])
        logger.info("Registered %s as %s (%s)", name, input_id, status)
        if status == Status.ACCEPTED.value:
            acknowledgements.append(after_accepted(reg.get(input_id)))
        elif status == Status.HELD.value:
            request_review(input_id)
    for document in found.expired:
        outcome = dropfolder.expire(where, document, rule.sidecar_grace_minutes).model_dump(
            mode="json")
        logger.warning("Refused %s: %s", document.name, outcome["reason"])
        outcomes.append(outcome)
    trackers = {edition: publish_tracker(edition) for edition in sorted(editions)}
    return {"folder": str(where), "outcomes": outcomes,
            "waiting": [p.name for p in found.waiting], "acknowledgements": acknowledgements,
            "trackers": trackers}


def _markdown_text(value: str) -> str:
    return safe_text(" ".join(value.split())).translate(_MARKDOWN_SPECIAL)


@flow(name=HELD_INPUT_FLOW, **FLOW_OPTIONS)
def held_input(input_id: str, answer: dict[str, Any] | None = None) -> dict[str, Any]:
    """Review an input held because its submitter is not a known contact (OP13-14).

    Opens a form on this run's page: accept (the input is published and its submitter
    acknowledged) or reject it with a reason. Only accepted inputs are ever published. The
    operators get an e-mail with the link to this run. `answer` (decision, reason) decides
    without asking, e.g. when triggering by hand.
    """
    logger = get_run_logger()
    reg = registry()
    record = reg.record(input_id)
    s = record.submission
    if s.status is not Status.HELD:
        logger.info("Input %s is already %s: nothing to decide", input_id, s.status)
        return {"input_id": input_id, "status": s.status.value, "decided": False}
    calendar = context.calendar(s.edition)
    title = f"Accept or reject input {input_id}"
    origin = s.state or (s.commission.value if s.commission else s.organization)
    document = s.document.link or f"{s.document.filename} ({s.document.media_type})"
    description = "\n".join([
        f"IMRF {s.edition}: an input is held ({_markdown_text(record.reason or 'held')}).", "",
        f"- **Title**: {_markdown_text(s.title)}",
        f"- **Level**: {s.level.value}, from {_markdown_text(origin)}",
        f"- **Submitter**: {_markdown_text(s.submitter_name)} "
        f"({_markdown_text(s.submitter_email)}), {_markdown_text(s.organization)}",
        f"- **Objectives**: {', '.join(map(str, s.objectives))}; language {s.language}",
        f"- **Document**: {_markdown_text(document)}", "",
        "Only accepted inputs are published (OP14). A rejection needs a reason."])
    if answer is None:
        link = context.ui_run_link(str(flow_run.get_id() or "") or None)
        notify_milestone(s.edition, "inputs-due", MessageKind.NOTICE, step=f"held-{input_id}",
                         ui_link=link, operators_only=True,
                         extra={"step": title, "title": safe_text(s.title),
                                "submitter": s.submitter_email})
    decision: Any = ask(step_input="input-decision", title=title, context=description,
                        modalities_id=calendar.modalities, scripted=answer,
                        on_problems=lambda problems: None)
    assert isinstance(decision, InputDecision)
    current = reg.get(input_id).status
    if current is not Status.HELD:  # decided meanwhile, e.g. with `imrf inputs accept`
        logger.info("Input %s was %s meanwhile: answer not applied", input_id, current)
        return {"input_id": input_id, "status": current.value, "decided": False}
    actor = f"prefect run {flow_run.get_id() or ''}".strip()
    acknowledgement = None
    if decision.decision == "accept":
        submission = reg.accept(input_id, actor=actor)
        acknowledgement = after_accepted(submission)
    else:
        submission = reg.reject(input_id, decision.reason, actor=actor)
    publish_tracker(s.edition)
    return {"input_id": input_id, "status": submission.status.value, "decided": True,
            "acknowledgement": acknowledgement}


def record_review_outcome(edition: int, commission: str, answer: dict[str, Any],
                          as_of: dt.date) -> list[dict[str, Any]]:
    """The regional-review stage's hook: its outcome becomes a regional input (OP10, OP13).

    Returns the acknowledgement's send summary (for the stage's summary), if one was due.
    """
    logger = get_run_logger()
    registered = register_review_outcome(
        registry(), edition=edition, commission=Commission(commission),
        answer=ReviewOutcome.model_validate(answer), received_on=as_of,
        secretariat_email=str(context.app().settings.from_email))
    logger.info("Regional review outcome of %s registered as input %s", commission,
                registered.submission.id)
    sends = [acknowledge_input(registered.submission.id)] if registered.acknowledge else []
    rebuild_site(edition)
    publish_tracker(edition)
    return sends


