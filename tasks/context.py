"""Per-process access to the domain's adapters from inside tasks and flows.

Adapters (the store, the sender holding the SendGrid key) are built here from the settings,
never passed as task parameters: parameters are persisted and shown in the UI, a key must not.

Without SENDGRID_API_KEY in the environment, the key is read from the Prefect Secret block
`imrf-sendgrid-api-key` when the server has one (the production topology: docs/production.md),
so workers need no key in their environment; without either, e-mail goes to the outbox.
"""

from __future__ import annotations

import datetime as dt
from functools import cache
from typing import Any

import pendulum
from pydantic import SecretStr

from imrf.bootstrap import App, build_app
from imrf.calendar import build_calendar
from imrf.milestones import EditionCalendar
from imrf.settings import load_settings

NEW_YORK = "America/New_York"
SENDGRID_SECRET_BLOCK = "imrf-sendgrid-api-key"  # noqa: S105 (a block name, not a key)


@cache
def app() -> App:
    settings = load_settings()
    if settings.sendgrid_api_key is None:
        key = sendgrid_key_from_block()
        if key is not None:
            settings = load_settings(sendgrid_api_key=key)
    return build_app(settings)


def sendgrid_key_from_block(name: str = SENDGRID_SECRET_BLOCK) -> SecretStr | None:
    """The SendGrid key in the server's Secret block `name`; None when there is no such block.

    Any other failure (the server unreachable) propagates: falling back to the outbox would
    silently stop production e-mail.
    """
    from prefect.blocks.system import Secret

    try:
        block: Secret[Any] = Secret.load(name, _sync=True)  # type: ignore[call-arg,assignment]
    except ValueError:  # "Unable to find block document named …"
        return None
    value = block.get()
    return SecretStr(value) if isinstance(value, str) and value.strip() else None


def reset() -> None:
    """Forget the adapters (tests change the settings between sessions)."""
    if app.cache_info().currsize:
        current = app()
        if "notifier" in current.__dict__:  # built: its sending threads may run
            current.notifier.close()
        current.store.dispose()
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
