"""`imrf run`: the main job (what `make run` starts) — the cycle served on the embedded default."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from typing import TYPE_CHECKING

import typer

from imrf.cli.app import app, fail

if TYPE_CHECKING:
    from imrf.bootstrap import App
    from imrf.site.serve import SiteServer


@app.command()
def run(
    plan_only: bool = typer.Option(False, "--plan-only",
                                   help="Plan the editions and exit instead of serving."),
) -> None:
    """Serve the cycle: local Prefect server (SQLite), deployments, the plan of the editions.

    Starts a Prefect server on 127.0.0.1:4200 unless one answers there, migrates the domain
    store, imports the sample contacts when the store is empty, serves every deployment,
    plans the current and next editions, and prints the UI's address and the next
    milestones. Ctrl-C stops it; running it again continues with nothing duplicated.
    """
    from imrf.prefect_env import apply_defaults, healthy, local_env, start_server, stop
    from imrf.settings import SettingsError, load_settings

    try:
        settings = load_settings()
    except SettingsError as exc:
        fail(str(exc))
    apply_defaults(local_env(settings.data_dir))
    api = os.environ["PREFECT_API_URL"]
    server = None
    if not healthy(api):
        typer.echo(f"Starting a Prefect server at {api} (SQLite under "
                   f"{os.environ['PREFECT_HOME']}) ...")
        try:
            server = start_server(api, settings.data_dir / "logs" / "prefect-server.log")
        except RuntimeError as exc:
            fail(str(exc), code=1)
    serving = site = None
    try:
        from imrf.bootstrap import build_app
        from imrf.contacts import read_csv

        imrf = build_app(settings)
        if imrf.registry.count() == 0:
            sample = settings.config_dir / "contacts-sample.csv"
            report = imrf.registry.import_rows(read_csv(sample))
            typer.echo(f"Imported {report.imported} sample contacts from {sample}.")
        serving = subprocess.Popen([sys.executable, "-m", "deployments.serve"])
        _wait_for_deployments(serving)
        editions = _plan()
        site = _serve_site(imrf, editions)
        ui = api.removesuffix("/api")
        typer.echo(f"\nPrefect UI:     {ui}\nInputs website: {site.url}\n"
                   f"Outbox:         {settings.outbox_dir}\n"
                   f"Planned editions: {', '.join(map(str, editions))}\n")
        _print_next_milestones(editions)
        if plan_only:
            return
        typer.echo("Serving the deployments; Ctrl-C to stop.")
        signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
        serving.wait()
    except KeyboardInterrupt:
        typer.echo("\nStopping ...")
    finally:
        if site is not None:
            site.stop()
        stop(serving)
        stop(server)


def _wait_for_deployments(serving: subprocess.Popen[bytes], wait: float = 120.0) -> None:
    from prefect import get_client

    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if serving.poll() is not None:
            fail("serving the deployments failed (see the output above)", code=1)
        try:
            with get_client(sync_client=True) as client:
                client.read_deployment_by_name("imrf-reminder-sweep/cycle")
                return
        except Exception:
            time.sleep(1)
    fail("the deployments did not appear in time", code=1)


def _serve_site(imrf: App, editions: list[int]) -> SiteServer:
    """Bring the inputs website (OP14) of the planned editions up to date; serve it."""
    from imrf.site.publish import publish_edition, site_dir
    from imrf.site.serve import SiteServer

    for edition in editions:
        try:
            typer.echo(publish_edition(imrf, edition).line())
        except Exception as exc:  # the cycle is served even when the website is not
            typer.echo(f"The inputs website of IMRF {edition} was not built: {exc}", err=True)
    return SiteServer(site_dir(imrf.settings.data_dir))


def _plan() -> list[int]:
    from flows.planning import plan_cycle
    from imrf.calendar import next_edition
    from tasks.context import today_new_york

    today = today_new_york()
    editions = [next_edition(today)]
    for edition in editions:
        result = plan_cycle(edition=edition, as_of=today)
        typer.echo(f"Edition {edition}: {result['created']} runs scheduled, "
                   f"{result['existing']} already scheduled, {result['cancelled']} stale "
                   "cancelled.")
    return editions


def _print_next_milestones(editions: list[int], count: int = 8) -> None:
    from imrf.calendar import build_calendar
    from imrf.calendar_export import when
    from tasks.context import today_new_york

    today = today_new_york()
    upcoming = sorted(
        ((m.first_day, edition, m) for edition in editions
         for m in build_calendar(edition).milestones if m.first_day >= today),
        key=lambda item: item[0])[:count]
    typer.echo("Next milestones:")
    for _, edition, milestone in upcoming:
        typer.echo(f"  {when(milestone):<32} IMRF {edition}  {milestone.title} "
                   f"({milestone.paragraph})")

