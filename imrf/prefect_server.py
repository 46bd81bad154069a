"""The local Prefect servers' app: Prefect's own, with SQLite write transactions that take
the write lock when they begin.

Prefect's server opens its write transactions on SQLite as ``BEGIN DEFERRED``: a transaction
that reads and then writes (creating a task run reads the flow run's labels first) fails at
once with "database is locked" when another connection wrote in between, and its background
services write all the time (the task-run recorder, the event persister). SQLite cannot wait
out that conflict with its busy timeout, so the server answers 503 and Prefect's client sleeps
about two seconds before retrying. In a simulation that cost one subflow in five two seconds,
some 25 s of a 95 s run. ``BEGIN IMMEDIATE`` takes the write lock first: writers queue behind
each other under the busy timeout (60 s) instead of failing.
See https://www.sqlite.org/lang_transaction.html#deferred_immediate_and_exclusive_transactions
and PrefectHQ/prefect#18934.

Imported only by server processes: the temporary server runs
``uvicorn --factory imrf.prefect_server:create_app``, ``imrf run``'s local server runs
``python -m imrf.prefect_server server start ...`` (Prefect's own command, in this process).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from prefect.server.api.server import create_app as prefect_app
from prefect.server.database import configurations


def create_app() -> FastAPI:
    """Prefect's server app (settings from the environment), SQLite writes immediate."""
    immediate_sqlite_writes()
    return prefect_app()


def immediate_sqlite_writes() -> bool:
    """Make Prefect's SQLite transactions ``BEGIN IMMEDIATE``; False if this Prefect has no
    such hook (its own behaviour is kept then)."""
    config = getattr(configurations, "AioSqliteConfiguration", None)
    mode = getattr(configurations, "SQLITE_BEGIN_MODE", None)
    if config is None or mode is None or not hasattr(config, "begin_transaction"):
        return False

    @asynccontextmanager
    async def begin_transaction(self: Any, session: Any, with_for_update: bool = False
                                ) -> AsyncGenerator[Any, None]:
        token = mode.set("IMMEDIATE")
        try:
            async with session.begin() as transaction:
                yield transaction
        finally:
            mode.reset(token)

    config.begin_transaction = begin_transaction
    return True


def main() -> None:
    """Prefect's command line (``server start`` serves in this process), SQLite writes
    immediate."""
    immediate_sqlite_writes()
    from prefect.cli import app

    app()


if __name__ == "__main__":
    main()
