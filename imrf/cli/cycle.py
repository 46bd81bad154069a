"""`imrf simulate`, `imrf plan` and `imrf trigger`: the cycle's flows from the shell."""

from __future__ import annotations

import atexit
import datetime as dt
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from imrf.cli.app import app, fail
from imrf.cli.calendar import parse_date

if TYPE_CHECKING:
    from imrf.prefect_env import TemporaryServer


def _prefect_defaults() -> None:
    """Local-server defaults unless the user points at a server (PREFECT_API_URL)."""
    from imrf.prefect_env import apply_defaults, local_env
    from imrf.settings import SettingsError, load_settings

    try:
        settings = load_settings()
    except SettingsError as exc:
        fail(str(exc))
    env = local_env(settings.data_dir)
    if "PREFECT_API_URL" not in os.environ:
        # No server configured: Prefect runs an ephemeral one (in-process, SQLite).
        env.pop("PREFECT_API_URL")
        env.pop("PREFECT_UI_API_URL")
    apply_defaults(env)


@app.command()
def simulate(
    start: Annotated[str, typer.Option("--from", help="First day, YYYY-MM-DD.")],
    end: Annotated[str, typer.Option("--to", help="Last day, YYYY-MM-DD.")],
    contacts: Annotated[Path | None, typer.Option(help="Import these contacts first.")] = None,
    synthetic_contacts: Annotated[int | None, typer.Option(
        help="Import N synthetic contacts first (example.org addresses).", min=1)] = None,
    output: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
) -> None:
    """Run the real flows over a span of the cycle on an injected clock.

    Human steps are answered with scripted answers; e-mail goes to the outbox, or to
    IMRF_SENDGRID_HOST when SENDGRID_API_KEY is set. Running it again sends nothing new.
    """
    first, last = parse_date(start, "--from"), parse_date(end, "--to")
    if last < first:
        fail("--to is before --from")
    if contacts and synthetic_contacts:
        fail("give --contacts or --synthetic-contacts, not both")
    _prefect_defaults()
    server = None
    if "PREFECT_API_URL" not in os.environ:
        # No server configured: a temporary one, booting while the rest starts up.
        from imrf.prefect_env import TemporaryServer

        server = TemporaryServer(Path(os.environ["PREFECT_HOME"]) / "temporary-server.log")
        # At exit, after Prefect's own exit handlers (registered later, run earlier) have
        # sent their last events to it.
        atexit.register(server.stop)
    result = _simulate(first, last, contacts, synthetic_contacts, server)
    if output == "json":
        typer.echo(json.dumps(result, indent=2))
        return
    for run in result["stage_runs"]:
        typer.echo(f"{run['date']}  IMRF {run['edition']}  {run['stage']:<24} "
                   f"{run['instance']:<16} {run['state']}")
    typer.echo(f"e-mails: {result['emails']}, duplicates: {result['duplicates']}")


def _simulate(first: dt.date, last: dt.date, contacts: Path | None,
              synthetic_contacts: int | None, server: TemporaryServer | None) -> dict[str, Any]:
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    from flows.simulation import simulate as simulate_flow
    from imrf.cli.contacts import opened_store
    from imrf.contacts import ContactFileError, ContactRegistry, read_csv
    from imrf.simulation import synthetic_contacts as make_contacts

    # The store alone, not the flows' adapters: those may ask the server (for the SendGrid
    # key's Secret block), which may still be booting.
    with opened_store() as store:
        registry = ContactRegistry(store)
        if contacts is not None:
            try:
                report = registry.import_rows(read_csv(contacts))
            except ContactFileError as exc:
                fail(str(exc))
            if report.errors:
                fail(f"{contacts}: {report.rejected} bad row(s); fix them or import them "
                     "apart")
        elif synthetic_contacts:
            registry.import_rows(make_contacts(synthetic_contacts))
    if server is not None:
        try:
            server.wait()
        except RuntimeError as exc:
            fail(str(exc), code=1)
    # A simulation crosses years in seconds: heartbeats (crash detection) only slow it down.
    with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        result: dict[str, Any] = simulate_flow(first, last)
    return result


@app.command()
def plan(
    edition: Annotated[int, typer.Option(help="Forum edition (year).")],
    as_of: Annotated[str | None, typer.Option(help="Plan from this day (default today).")]
    = None,
) -> None:
    """Schedule one run per stage of an edition on the Prefect server (idempotent)."""
    _prefect_defaults()
    from flows.planning import plan_cycle

    day = parse_date(as_of, "--as-of") if as_of else None
    try:
        result = plan_cycle(edition=edition, as_of=day)
    except Exception as exc:
        fail(f"planning failed: {exc}", code=1)
    typer.echo(json.dumps(result))


def _params(pairs: list[str]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            fail(f"--param {pair!r}: expected key=value")
        try:
            params[key] = json.loads(value)
        except json.JSONDecodeError:
            params[key] = value
    return params


@app.command()
def trigger(
    stage: Annotated[str, typer.Argument(help="Stage id, e.g. documents, co-chairs, "
                                              "reminder-sweep, plan-cycle.")],
    edition: Annotated[int | None, typer.Option(help="Forum edition (year).")] = None,
    param: Annotated[list[str] | None, typer.Option(
        help="Extra parameter key=value (JSON values allowed), e.g. instance=sg-report.")]
    = None,
) -> None:
    """Start a stage's deployment now, as the UI's Run button does; prints the run's link."""
    _prefect_defaults()
    from prefect.deployments import run_deployment

    from flows.planning import deployment_name
    from imrf.stages import load_stages

    params = _params(param or [])
    if stage in ("reminder-sweep", "plan-cycle"):
        flow_name = f"imrf-{stage}"
    else:
        try:
            flow_name = load_stages().get(stage).flow
        except KeyError as exc:
            fail(str(exc.args[0]))
    if edition is not None:
        params["edition"] = edition
    elif stage != "reminder-sweep":
        fail("--edition is required")
    try:
        flow_run: Any = run_deployment(name=deployment_name(flow_name), parameters=params,
                                       timeout=0, as_subflow=False)
    except Exception as exc:
        fail(f"cannot start {flow_name}: {exc}", code=1)
    ui = os.environ.get("PREFECT_UI_URL") or os.environ.get(
        "PREFECT_API_URL", "http://127.0.0.1:4200/api").removesuffix("/api")
    typer.echo(f"{flow_run.name}: {ui}/runs/flow-run/{flow_run.id}")
