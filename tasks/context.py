"""Per-process access to the domain's adapters from inside tasks and flows.

Adapters (the store, the sender holding the SendGrid key) are built here from the settings,
never passed as task parameters: parameters are persisted and shown in the UI, a key must not.
"""

from __future__ import annotations

import datetime as dt
from functools import cache

import pendulum

from imrf.bootstrap import App, build_app
from imrf.calendar import build_calendar
from imrf.milestones import EditionCalendar

NEW_YORK = "America/New_York"


@cache
def app() -> App:
    return build_app()


def reset() -> None:
    """Forget the adapters (tests change the settings between sessions)."""
    if app.cache_info().currsize:
        app().store.dispose()
    app.cache_clear()


def today_new_york() -> dt.date:
    now = pendulum.now(NEW_YORK)
    return dt.date(now.year, now.month, now.day)


def calendar(edition: int) -> EditionCalendar:
    settings = app().settings
    return build_calendar(edition, config_dir=settings.config_dir
                          if settings.config_dir.exists() else None)


def ui_run_link(flow_run_id: str | None) -> str | None:
    if not flow_run_id:
        return None
    return f"{app().settings.ui_url}/runs/flow-run/{flow_run_id}"
