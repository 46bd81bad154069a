"""The local Prefect servers' SQLite transactions (imrf.prefect_server).

The race that cost a simulation some 25 s: a transaction reads, another connection commits a
write, then the first one writes. Prefect's server opened such transactions DEFERRED, and the
write failed at once ("database is locked", a 503 and a two-second client back-off).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from prefect.server.database import configurations
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from imrf.prefect_server import immediate_sqlite_writes


async def _read_then_write_while_another_writes(db_file: Path) -> list[int]:
    """Two of Prefect's write transactions: one reads, waits, then writes; the other writes
    while the first waits. Returns the rows both left."""
    config = configurations.AioSqliteConfiguration(f"sqlite+aiosqlite:///{db_file}")
    engine = await config.engine()
    try:
        async with engine.connect() as conn:
            await conn.exec_driver_sql("CREATE TABLE IF NOT EXISTS runs (n INTEGER)")
        first_has_read = asyncio.Event()

        async def reads_then_writes() -> None:
            async with await config.session(engine) as session, \
                    config.begin_transaction(session):
                await session.execute(text("SELECT count(*) FROM runs"))
                first_has_read.set()
                await asyncio.sleep(0.3)  # the other one writes meanwhile (or waits)
                await session.execute(text("INSERT INTO runs VALUES (1)"))

        async def writes() -> None:
            await first_has_read.wait()
            async with await config.session(engine) as session, \
                    config.begin_transaction(session):
                await session.execute(text("INSERT INTO runs VALUES (2)"))

        await asyncio.gather(reads_then_writes(), writes())
        async with engine.connect() as conn:
            rows = await conn.exec_driver_sql("SELECT n FROM runs ORDER BY n")
            return [n for (n,) in rows]
    finally:
        await engine.dispose()


@pytest.fixture
def prefect_transactions(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Prefect's own begin_transaction, put back after the test."""
    cls = configurations.AioSqliteConfiguration
    monkeypatch.setattr(cls, "begin_transaction", cls.begin_transaction)
    return cls


def test_prefects_own_transactions_fail_on_that_race(tmp_path: Path,
                                                     prefect_transactions: Any) -> None:
    # Why imrf.prefect_server exists: if this stops failing, Prefect fixed it upstream.
    with pytest.raises(OperationalError, match="database is locked"):
        asyncio.run(_read_then_write_while_another_writes(tmp_path / "prefect.db"))


def test_immediate_transactions_queue_instead(tmp_path: Path, prefect_transactions: Any) -> None:
    assert immediate_sqlite_writes()
    assert asyncio.run(_read_then_write_while_another_writes(tmp_path / "prefect.db")) == [1, 2]
