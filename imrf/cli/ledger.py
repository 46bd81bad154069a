"""`imrf ledger`: what was sent to whom, and the operator's resolution of open outcomes."""

from __future__ import annotations

import enum
import getpass
from typing import TYPE_CHECKING, Annotated

import typer

from imrf.cli.app import app, fail
from imrf.cli.contacts import OutputFormat, opened_store
from imrf.vocabulary import MessageKind

if TYPE_CHECKING:
    from imrf.ledger import LedgerEntry, SummaryRow

ledger_app = typer.Typer(
    help="The message ledger: counts by state, the rows, and resolving unknown outcomes."
)
app.add_typer(ledger_app, name="ledger")

NOT_ALL_RESOLVED = 1


class ResolveAs(enum.StrEnum):
    SENT = "sent"
    RESEND = "resend"


def _operator() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name in some containers
        return "unknown-operator"


@ledger_app.callback(invoke_without_command=True)
def ledger(
    ctx: typer.Context,
    edition: Annotated[int | None, typer.Option(help="Only this edition (year).")] = None,
    output: Annotated[OutputFormat, typer.Option(
        "--format", help="table for people, json for scripts.")] = OutputFormat.TABLE,
) -> None:
    """Message counts by edition, milestone, kind and state."""
    if ctx.invoked_subcommand is not None:
        return
    from imrf.ledger import Ledger

    with opened_store() as store:
        rows = Ledger(store).summary(edition)
    if output is OutputFormat.JSON:
        _echo_json(rows)
    else:
        _print_summary(rows)


@ledger_app.command("show")
def show(
    edition: Annotated[int, typer.Option(help="Edition (year).")],
    milestone: Annotated[str | None, typer.Option(help="Milestone id.")] = None,
    kind: Annotated[MessageKind | None, typer.Option(help="notice or reminder.")] = None,
    # A plain string: importing DeliveryState (pydantic) here would slow down `imrf --help`.
    state: Annotated[str | None, typer.Option(help="pending, sent, failed or unknown.")] = None,
    output: Annotated[OutputFormat, typer.Option(
        "--format", help="table for people, json for scripts.")] = OutputFormat.TABLE,
) -> None:
    """The ledger's rows (e.g. the unknown ones, before resolving them)."""
    from imrf.delivery.message import DeliveryState
    from imrf.ledger import Ledger

    states = [s.value for s in DeliveryState]
    if state is not None and state not in states:
        fail(f"--state: {state!r} is not one of {', '.join(states)}")
    with opened_store() as store:
        entries = Ledger(store).entries(
            edition=edition, milestone=milestone, kind=kind,
            state=DeliveryState(state) if state else None,
        )
    if output is OutputFormat.JSON:
        _echo_json(entries)
    else:
        _print_entries(entries)


@ledger_app.command("resolve")
def resolve(
    edition: Annotated[int, typer.Option(help="Edition (year).")],
    milestone: Annotated[str, typer.Option(help="Milestone id.")],
    kind: Annotated[MessageKind, typer.Option(help="notice or reminder.")],
    as_: Annotated[ResolveAs, typer.Option(
        "--as", help="sent: it was delivered, never send it again; resend: back to pending.")],
    reason: Annotated[str, typer.Option(help="Why (goes into the audit trail).")],
    recipient: Annotated[list[str] | None, typer.Option(
        help="Only this address (repeat for several); may also settle a failed row.")] = None,
    by: Annotated[str | None, typer.Option(help="Who resolves (default: the login name).")]
    = None,
) -> None:
    """Settle messages whose outcome is unknown, with an audit record (who, when, why).

    Exit code 0: everything asked for was resolved; 1: nothing, or not every named recipient.
    """
    from imrf.delivery.message import DeliveryState
    from imrf.ledger import Ledger

    target = DeliveryState.SENT if as_ is ResolveAs.SENT else DeliveryState.PENDING
    with opened_store() as store:
        try:
            result = Ledger(store).resolve(
                edition=edition, milestone=milestone, kind=kind, as_state=target,
                reason=reason, actor=by or _operator(), recipients=recipient,
            )
        except ValueError as exc:
            fail(str(exc))
    typer.echo(f"resolved {result.resolved} message(s) of {edition}/{milestone}/{kind} "
               f"as {target}")
    for address, state in sorted(result.skipped.items()):
        typer.echo(f"skipped {address}: {state}", err=True)
    if result.resolved == 0 or result.skipped:
        raise typer.Exit(NOT_ALL_RESOLVED)


def _echo_json(rows: list[SummaryRow] | list[LedgerEntry]) -> None:
    import json

    typer.echo(json.dumps([row.model_dump(mode="json") for row in rows], indent=2,
                          ensure_ascii=False))


def _print_summary(rows: list[SummaryRow]) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table("edition", "milestone", "kind", "state", "count",
                  caption="no messages yet" if not rows else None)
    for row in rows:
        table.add_row(str(row.edition), Text(row.milestone), row.kind.value, row.state.value,
                      str(row.count))
    Console(highlight=False).print(table)


def _print_entries(entries: list[LedgerEntry]) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table("milestone", "kind", "recipient", "state", "attempt", "message id", "reason",
                  caption=f"{len(entries)} message(s)")
    for e in entries:
        table.add_row(*(Text(v or "") for v in (
            e.key.milestone, e.key.kind.value, e.key.recipient, e.state.value, e.attempt,
            e.message_id, e.reason)))
    Console(highlight=False).print(table)
