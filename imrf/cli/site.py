"""`imrf site build`: the public inputs website of an edition (OP14), as static files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from imrf.cli.app import app, fail

site_app = typer.Typer(name="site", help="The public website of the inputs (OP14).",
                       no_args_is_help=True)
app.add_typer(site_app)


@site_app.command("build")
def build(
    edition: Annotated[int, typer.Option(help="Forum edition (year), e.g. 2030.")],
    output: Annotated[Path | None, typer.Option(
        help="Folder to write the site to (default: <data dir>/site, what `imrf run` "
             "serves).")] = None,
) -> None:
    """Build the website of an edition's accepted inputs; only changed pages are rewritten."""
    from imrf.bootstrap import build_app
    from imrf.calendar import CalendarError
    from imrf.configfile import ConfigError
    from imrf.editions import EditionError
    from imrf.settings import SettingsError
    from imrf.site import SiteError
    from imrf.site.publish import publish_edition
    from imrf.store import StoreError

    if output is not None and output.exists() and not output.is_dir():
        fail(f"--output: {output} is a file, not a folder")
    try:
        report = publish_edition(build_app(), edition, output)
    except (CalendarError, EditionError) as exc:
        fail(f"--edition: {exc}")
    except (SiteError, ConfigError, SettingsError, StoreError) as exc:
        fail(str(exc))
    typer.echo(report.line())
    typer.echo(f"Open {report.output.resolve() / str(edition) / 'index.html'}")
