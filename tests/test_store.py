"""The store: migrations from an empty database, locking on first use, the unit of work."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, select, text

from imrf.store import Store, StoreError, migrate
from imrf.store.tables import contacts, metadata

TABLES = {"contacts", "contact_audiences", "messages", "ledger_events", "alembic_version"}


def test_first_use_migrates_an_empty_database_to_head(store: Store) -> None:
    with store.unit_of_work(read_only=True) as uow:
        assert set(inspect(uow.connection).get_table_names()) >= TABLES
        assert migrate.current_revision(uow.connection) == migrate.head_revision()
    # A second store on the same database finds nothing to do.
    again = Store(str(store.engine.url.render_as_string(hide_password=False)))
    try:
        assert migrate.upgrade(again.engine) is False
    finally:
        again.dispose()


def test_migrations_build_exactly_the_declared_tables(store: Store) -> None:
    store.ensure_schema()
    with store.engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), metadata)
    assert differences == []


def test_migrations_go_down_to_empty_and_up_again(store: Store) -> None:
    store.ensure_schema()
    with store.engine.begin() as conn:
        command.downgrade(migrate.alembic_config(conn), "base")
    with store.engine.connect() as conn:
        assert set(inspect(conn).get_table_names()) <= {"alembic_version"}
        assert migrate.current_revision(conn) is None
    assert migrate.upgrade(store.engine) is True
    with store.engine.connect() as conn:
        assert set(inspect(conn).get_table_names()) >= TABLES


def test_concurrent_first_use_from_two_processes(url: str) -> None:
    script = (
        "import sys; from imrf.store import Store; s = Store(sys.argv[1]); "
        "s.ensure_schema(); s.dispose(); print('ok')"
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, url],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for _ in range(3)
    ]
    outcomes = [proc.communicate(timeout=120) for proc in procs]
    for proc, (out, err) in zip(procs, outcomes, strict=True):
        assert proc.returncode == 0, err
        assert out.strip() == "ok"
    store = Store(url)
    try:
        with store.engine.connect() as conn:
            assert migrate.current_revision(conn) == migrate.head_revision()
            versions = conn.execute(text("SELECT count(*) FROM alembic_version")).scalar_one()
            assert versions == 1
    finally:
        store.dispose()


def test_unit_of_work_rolls_back_unless_committed(store: Store) -> None:
    now = dt.datetime.now(dt.UTC)
    row = {"email": "a@example.org", "name": "A", "organization": "",
           "created_at": now, "updated_at": now}
    with store.unit_of_work() as uow:
        uow.connection.execute(contacts.insert(), row)
    with store.unit_of_work() as uow:
        assert uow.connection.execute(select(contacts.c.email)).all() == []
    with pytest.raises(RuntimeError, match="boom"), store.unit_of_work() as uow:
        uow.connection.execute(contacts.insert(), row)
        uow.commit()
        raise RuntimeError("boom")
    with store.unit_of_work(read_only=True) as uow:
        assert uow.connection.execute(select(contacts.c.email)).scalars().all() == [
            "a@example.org"
        ]


def test_unit_of_work_outside_with_block_is_refused(store: Store) -> None:
    uow = store.unit_of_work()
    with pytest.raises(RuntimeError, match="with block"):
        _ = uow.connection
    with pytest.raises(RuntimeError, match="with block"):
        uow.commit()


def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'deep' / 'er' / 'imrf.db'}")
    try:
        with store.unit_of_work(read_only=True) as uow:
            pragma = uow.connection.exec_driver_sql
            assert pragma("PRAGMA journal_mode").scalar() == "wal"
            assert pragma("PRAGMA busy_timeout").scalar() >= 5000
            assert pragma("PRAGMA foreign_keys").scalar() == 1
        assert (tmp_path / "deep" / "er" / "imrf.db").exists()
    finally:
        store.dispose()


def test_unreachable_database_is_one_line_without_the_password() -> None:
    store = Store("postgresql+psycopg://imrf:s3cr3t-pw@127.0.0.1:1/imrf")
    try:
        with pytest.raises(StoreError) as info:
            store.ensure_schema()
    finally:
        store.dispose()
    message = str(info.value)
    assert "s3cr3t-pw" not in message and "s3cr3t-pw" not in repr(store)
    assert message.startswith("cannot open database postgresql+psycopg://imrf:***@127.0.0.1:1")
    assert "\n" not in message
