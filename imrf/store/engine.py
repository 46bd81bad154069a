"""Engines for the two databases we support, with the settings each needs for concurrency.

SQLite: WAL (readers do not block the writer), a busy timeout (a second writer waits instead
of failing), foreign keys on, and every write transaction opened with ``BEGIN IMMEDIATE`` so
that two writers queue at the start instead of deadlocking when a reader upgrades to a
writer. PostgreSQL: the driver's defaults (READ COMMITTED); claims are made by conditional
``UPDATE`` statements, which are safe at that level.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import Connection, make_url

SQLITE_BUSY_TIMEOUT_MS = 30_000
# Execution option a read-only unit of work sets so SQLite opens a plain (deferred) BEGIN.
READ_ONLY = "imrf_read_only"


def describe_url(url: str) -> str:
    """The URL as it may be shown to a person: the password masked."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # a URL too malformed to parse is shown by its scheme only
        return url.split(":", 1)[0] + ":…"


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine for ``url``; for a SQLite file, create its directory first."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        if parsed.get_driver_name() == "psycopg":
            # psycopg prepares a statement after five runs; for our chunked IN (...) lists
            # PostgreSQL then picked a generic plan that took 0.3 s instead of 15 ms per
            # chunk on freshly imported (not yet analyzed) tables.
            kwargs.setdefault("connect_args", {}).setdefault("prepare_threshold", None)
        return create_engine(url, pool_pre_ping=True, **kwargs)
    database = parsed.database or ""
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    # The pool hands a connection to one thread at a time; the sqlite3 check is redundant.
    engine = create_engine(url, connect_args={"check_same_thread": False}, **kwargs)
    _configure_sqlite(engine)
    return engine


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event emit BEGIN itself (pysqlite's own is deferred).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        _enable_wal(cursor)
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        read_only = conn.get_execution_options().get(READ_ONLY, False)
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def _enable_wal(cursor: Any) -> None:
    """Switch the file to WAL (a lasting property of the file), waiting out other switchers.

    Switching takes an exclusive lock and SQLite reports "database is locked" at once,
    without its busy handler, when connections on a new file try it together (seen with
    four threads on first use); hence the loop.
    """
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            if cursor.execute("PRAGMA journal_mode").fetchone()[0] in ("wal", "memory"):
                return
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)
