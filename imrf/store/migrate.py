"""Bring a database to the newest schema, safely when several processes start at once.

The Alembic configuration is built in code, pointing at this package's ``migrations``
directory: nothing is read from an ``alembic.ini`` at run time. The upgrade runs in one
transaction holding a lock that a second process waits on (PostgreSQL: a transaction-level
advisory lock; SQLite: ``BEGIN IMMEDIATE``, see :mod:`imrf.store.engine`); once it gets the
lock it finds the schema current and does nothing.

To write a new migration after changing :mod:`imrf.store.tables` (development only)::

    .venv/bin/python -c "from alembic import command; from imrf.store.migrate import \
    alembic_config; c = alembic_config(); c.set_main_option('sqlalchemy.url', \
    'sqlite:///.imrf/dev.db'); command.upgrade(c, 'head'); \
    command.revision(c, message='what and why', autogenerate=True)"

then read and tidy the generated file under ``migrations/versions``.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text
from sqlalchemy.engine import Connection

from imrf.store.engine import READ_ONLY

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
ADVISORY_LOCK_KEY = 0x494D5246  # "IMRF": one schema lock per PostgreSQL database


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic config for our migrations; with ``connection``, env.py migrates through it."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str | None:
    """The newest revision shipped with the package."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(connection: Connection) -> str | None:
    """The revision the database is at (None for an empty database)."""
    return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine) -> bool:
    """Migrate ``engine``'s database to the head revision; True if anything was applied."""
    head = head_revision()
    with engine.connect() as conn:
        conn.execution_options(**{READ_ONLY: True})
        if current_revision(conn) == head:
            return False
    with engine.connect() as conn, conn.begin():
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK_KEY})
        if current_revision(conn) == head:
            return False  # another process migrated while we waited for the lock
        command.upgrade(alembic_config(conn), "head")
    return True
