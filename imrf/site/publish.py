"""Publishing an edition's site from the registry: what the CLI, the flow and `imrf run` call.

The website's folder is ``<data dir>/site`` unless the caller names another one.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from imrf.site.build import SiteReport, build_site

if TYPE_CHECKING:
    from imrf.bootstrap import App


def site_dir(data_dir: Path) -> Path:
    return data_dir / "site"


def publish_edition(app: App, edition: int, output: Path | None = None) -> SiteReport:
    """Build the site of ``edition`` from the accepted inputs in the store.

    Raises the calendar's errors for an edition that is not a forum year, and
    :class:`imrf.site.SiteError` for an output that cannot hold the site.
    """
    from imrf.calendar import build_calendar
    from imrf.inputs.registry import InputRegistry

    settings = app.settings
    config_dir = settings.config_dir if settings.config_dir.exists() else None
    calendar = build_calendar(edition, config_dir=config_dir)
    registry = InputRegistry(app.store, data_dir=settings.data_dir, config_dir=config_dir)
    return build_site(edition=edition, submissions=registry.accepted(edition),
                      calendar=calendar, output=output or site_dir(settings.data_dir),
                      documents=registry.document_path, config_dir=config_dir)
