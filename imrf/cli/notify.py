"""`imrf notify`: send one milestone's notice or reminder to its audiences, exactly once.

Through SendGrid when ``SENDGRID_API_KEY`` is set, else into the local outbox (``.eml`` files).
The message ledger makes a re-run safe: whoever already has the message is skipped.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from imrf.cli.app import app, fail
from imrf.cli.contacts import OutputFormat
from imrf.vocabulary import Audience, MessageKind

if TYPE_CHECKING:
    from imrf.bootstrap import App
    from imrf.delivery.base import DeliveryError
    from imrf.milestones import EditionCalendar
    from imrf.notify import NotifySummary

DELIVERY_FAILED = 1
# Escalations need a human step and its link: the flows send them, not this command.
KINDS = (MessageKind.NOTICE, MessageKind.REMINDER)


@app.command()
def notify(
    edition: Annotated[int, typer.Option(help="Forum edition (year), e.g. 2030.")],
    milestone: Annotated[str, typer.Option(help="Milestone id, e.g. sg-report "
                                                "(`imrf calendar` lists them).")],
    kind: Annotated[str, typer.Option(help="notice or reminder.")],
    days_before: Annotated[int | None, typer.Option(
        help="Required for a reminder: how many days before the milestone it is sent "
             "(each offset is its own message).")] = None,
    audience: Annotated[list[str] | None, typer.Option(
        help="Only this audience of the milestone (repeat for several); "
             "default: all of its audiences.")] = None,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="Count the recipients and what they already have; send nothing.")]
    = False,
    output: Annotated[OutputFormat, typer.Option(
        "--format", help="table for people, json for scripts.")] = OutputFormat.TABLE,
) -> None:
    """Send a milestone's notice or reminder to its audiences; nobody gets it twice.

    Exit code 0: every recipient has the message (now or from an earlier run); 1: delivery
    failed, or some recipients' messages failed or have an unknown outcome (see
    `imrf ledger show --state unknown`); 2: bad options, settings or database.
    """
    from sqlalchemy.exc import SQLAlchemyError

    from imrf.bootstrap import build_app
    from imrf.delivery.base import DeliveryError
    from imrf.settings import SettingsError, load_settings

    message_kind = _kind(kind)
    try:
        # Read afresh on every invocation: load_settings keeps no cache.
        settings = load_settings()
    except SettingsError as exc:
        fail(str(exc))
    cal = _calendar(edition, settings.config_dir)
    if milestone not in cal.ids:
        fail(f"--milestone: unknown milestone {milestone!r} in edition {edition}; "
             f"known: {', '.join(cal.ids)}")
    target = cal.get(milestone)
    _check_days_before(message_kind, days_before, milestone, target.reminder_days)
    audiences = _audiences(audience, milestone, target.audiences)

    imrf = build_app(settings)
    handled = 0

    def progress(done: int, total: int) -> None:
        nonlocal handled
        handled = done

    try:
        _open(imrf)
        summary = imrf.notifier.notify(
            calendar=cal, milestone_id=milestone, kind=message_kind, days_before=days_before,
            audiences=audiences, dry_run=dry_run, progress=progress)
    except DeliveryError as exc:
        _delivery_failed(exc, handled, output, _describe_sender(imrf), edition=edition,
                         milestone=milestone, kind=message_kind, days_before=days_before)
    except SQLAlchemyError as exc:
        # The first line only: the rest quotes the SQL and its parameters (addresses).
        fail(f"database error while sending: {_first_line(exc)}; nothing was sent twice, run "
             "the same command again", DELIVERY_FAILED)
    finally:
        if "store" in vars(imrf):  # built lazily: only dispose what was opened
            imrf.store.dispose()
    sender = _describe_sender(imrf)
    if output is OutputFormat.JSON:
        typer.echo(json.dumps(_summary_json(summary, milestone, sender), indent=2,
                              ensure_ascii=False))
    else:
        _print_summary(summary, milestone, sender)
    if not dry_run and (summary.failed or summary.unknown):
        raise typer.Exit(DELIVERY_FAILED)


def _kind(value: str) -> MessageKind:
    names = [k.value for k in KINDS]
    if value.strip().lower() not in names:
        fail(f"--kind: {value!r} is not one of {', '.join(names)}")
    return MessageKind(value.strip().lower())


def _calendar(edition: int, config_dir: Any) -> EditionCalendar:
    from imrf.calendar import CalendarError, build_calendar
    from imrf.configfile import ConfigError
    from imrf.editions import EditionError
    from imrf.holidays import HolidayFileError, UnsupportedYearError

    try:
        # As the flows build it (tasks/context.py): the configured config dir when it exists.
        return build_calendar(edition, config_dir=config_dir if config_dir.exists() else None)
    except (CalendarError, ConfigError, EditionError, HolidayFileError,
            UnsupportedYearError) as exc:
        fail(f"--edition {edition}: {exc}")


def _check_days_before(kind: MessageKind, days_before: int | None, milestone: str,
                       offsets: tuple[int, ...]) -> None:
    scheduled = (f"its scheduled offsets: {', '.join(map(str, offsets))}" if offsets
                 else "it has no scheduled reminders")
    if kind is MessageKind.REMINDER and days_before is None:
        fail(f"--kind reminder needs --days-before N for {milestone!r} ({scheduled})")
    if kind is MessageKind.REMINDER and days_before is not None and days_before < 0:
        fail(f"--days-before: {days_before} is negative; 0 is the day itself")
    if kind is not MessageKind.REMINDER and days_before is not None:
        fail(f"--days-before is only for --kind reminder, not {kind}")


def _audiences(names: list[str] | None, milestone: str,
               allowed: tuple[Audience, ...]) -> list[Audience] | None:
    if not names:
        return None
    known = {a.value: a for a in Audience}
    chosen: list[Audience] = []
    for name in names:
        value = name.strip().lower()
        if value not in known:
            fail(f"--audience: unknown audience {name!r}; known: {', '.join(known)}")
        if known[value] not in allowed:
            # The text is written for the milestone's audiences; anyone else gets it by mistake.
            fail(f"--audience: {value!r} is not an audience of {milestone!r}; its audiences: "
                 f"{', '.join(a.value for a in allowed)}")
        if known[value] not in chosen:
            chosen.append(known[value])
    return chosen


def _open(imrf: App) -> None:
    """Build the store and the sender now, so their errors are reported before any work."""
    from sqlalchemy.exc import SQLAlchemyError

    from imrf.store import StoreError
    from imrf.store.engine import describe_url

    try:
        imrf.store.ensure_schema()
    except StoreError as exc:
        fail(str(exc))
    except (SQLAlchemyError, ImportError) as exc:  # a malformed URL, an unknown driver
        url = describe_url(imrf.settings.database_url.get_secret_value())
        fail(f"cannot open database {url}: {_first_line(exc)}")
    try:
        imrf.sender  # noqa: B018  (a cached property: building it validates the settings)
    except ValueError as exc:
        fail(f"cannot set up delivery: {exc}")


def _describe_sender(imrf: App) -> str:
    from imrf.delivery.sendgrid_sender import SendGridSender

    sender = imrf.sender
    if isinstance(sender, SendGridSender):
        return f"SendGrid at {sender.host}" + (" (sandbox)" if sender.sandbox else "")
    return f"outbox {imrf.settings.outbox_dir}"


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def _delivery_failed(exc: DeliveryError, handled: int, output: OutputFormat, sender: str,
                     **what: Any) -> NoReturn:
    if exc.maybe_delivered:
        advice = ("the last request may have been delivered: its recipients stay 'unknown' "
                  "(imrf ledger show --state unknown, then imrf ledger resolve)")
    elif exc.retryable:
        advice = "run the same command again later: only the messages not yet sent go out"
    else:
        advice = "fix this, then run the same command again: nothing is sent twice"
    # What the fan-out did before the error (the Notifier attaches it).
    summary = exc.summary
    done = ""
    if summary is not None:
        done = (f" ({summary.sent} sent, {summary.already_sent} already sent, "
                f"{summary.failed} failed, {summary.unknown} unknown)")
    if output is OutputFormat.JSON:
        report: dict[str, Any] = dict(what)
        if summary is not None:
            report = _summary_json(summary, str(what["milestone"]), sender)
        typer.echo(json.dumps({**report, "error": str(exc),
                               "retryable": exc.retryable,
                               "maybe_delivered": exc.maybe_delivered,
                               "recipients_handled": handled}, indent=2, ensure_ascii=False))
    fail(f"delivery failed after {handled} recipient(s) were handled{done}: {exc}; {advice}",
         DELIVERY_FAILED)


def _summary_json(summary: NotifySummary, milestone: str, sender: str) -> dict[str, Any]:
    return {
        "edition": summary.edition,
        "milestone": milestone,
        "ledger_milestone": summary.milestone,  # what `imrf ledger show --milestone` takes
        "kind": summary.kind.value,
        "days_before": summary.days_before,
        "dry_run": summary.dry_run,
        "sender": sender,
        "recipients": summary.recipients,
        "sent": summary.sent,
        "already_sent": summary.already_sent,
        "failed": summary.failed,
        "unknown": summary.unknown,
        "requests": summary.requests,
        "errors": summary.errors,
    }


def _print_summary(summary: NotifySummary, milestone: str, sender: str) -> None:
    what = f"{summary.kind} of {milestone}"
    if summary.days_before is not None:
        what += f" ({summary.days_before} days before)"
    what += f", edition {summary.edition}"
    if summary.dry_run:
        due = summary.recipients - summary.already_sent - summary.failed - summary.unknown
        typer.echo(f"dry run: {what}: {summary.recipients} recipient(s): {due} to send, "
                   f"{summary.already_sent} already sent, {summary.failed} failed, "
                   f"{summary.unknown} unknown (would go through {sender})")
        return
    typer.echo(f"{what}: {summary.recipients} recipient(s): {summary.sent} sent, "
               f"{summary.already_sent} already sent, {summary.failed} failed, "
               f"{summary.unknown} unknown; {summary.requests} request(s) through {sender}")
    for error in summary.errors:
        typer.echo(f"imrf: failed: {error}", err=True)
    if summary.unknown:
        typer.echo(f"imrf: {summary.unknown} message(s) have an unknown outcome: see "
                   f"imrf ledger show --edition {summary.edition} --milestone "
                   f"{summary.milestone} --state unknown", err=True)
