"""Throwaway databases, for tests and demos that must not touch a real one."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from imrf.store.engine import describe_url

# The server the test suite expects (trust auth); override with IMRF_TEST_POSTGRES_URL.
DEFAULT_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
SQLITE, POSTGRESQL = "sqlite", "postgresql"


def admin_url() -> str:
    """The URL of a PostgreSQL database whose user may create databases."""
    return os.environ.get("IMRF_TEST_POSTGRES_URL", DEFAULT_ADMIN_URL)


def postgres_reachable(url: str | None = None) -> bool:
    """True if a connection to ``url`` (default :func:`admin_url`) succeeds within 2 s."""
    engine = create_engine(url or admin_url(), connect_args={"connect_timeout": 2})
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return True
    except SQLAlchemyError:
        return False
    finally:
        engine.dispose()


@cache
def unavailable(kind: str) -> str | None:
    """Why a scratch database of ``kind`` cannot be had (None: it can), asked once a process."""
    if kind == POSTGRESQL and not postgres_reachable():
        return f"PostgreSQL is not reachable at {describe_url(admin_url())}"
    return None


@contextmanager
def empty_database(kind: str, directory: Path) -> Iterator[str]:
    """The URL of an empty database: a SQLite file in ``directory``, or a temporary
    PostgreSQL database (dropped afterwards)."""
    if kind == SQLITE:
        yield f"sqlite:///{directory / 'imrf.db'}"
    elif kind == POSTGRESQL:
        with temporary_database() as url:
            yield url
    else:
        raise ValueError(f"no scratch database of kind {kind!r}")


@contextmanager
def temporary_database(url: str | None = None) -> Iterator[str]:
    """Create an empty database next to ``url``'s, yield its URL, drop it afterwards."""
    admin = make_url(url or admin_url())
    name = f"imrf_scratch_{uuid.uuid4().hex[:12]}"
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield admin.set(database=name).render_as_string(hide_password=False)
        finally:
            with engine.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        engine.dispose()
