"""What the forum modules share: their error, the clock, and replacing an edition's rows."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Table, and_, delete, select
from sqlalchemy.engine import Connection

from imrf.store import Store


class ForumError(ValueError):
    """Bad input for the forum's records: the message says what is wrong, in one line."""


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _where(table: Table, key: Mapping[str, Any]) -> Any:
    return and_(*(table.c[name] == value for name, value in key.items()))


def replace(store: Store, table: Table, key: Mapping[str, Any],
            rows: Sequence[Mapping[str, Any]]) -> None:
    """Replace every row matching ``key`` with ``rows``, in one transaction."""
    with store.unit_of_work() as uow:
        uow.connection.execute(delete(table).where(_where(table, key)))
        if rows:
            uow.connection.execute(table.insert(), [{**key, **row} for row in rows])
        uow.commit()


def upsert(conn: Connection, table: Table, key: Mapping[str, Any],
           values: Mapping[str, Any]) -> None:
    """Insert the row with ``key`` or update its ``values``, inside the caller's transaction."""
    where = _where(table, key)
    if conn.execute(select(table.c.id).where(where)).first() is None:
        conn.execute(table.insert().values(**key, **values))
    else:
        conn.execute(table.update().where(where).values(**values))


def fetch(store: Store, table: Table, key: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The rows matching ``key`` in insertion order."""
    with store.unit_of_work(read_only=True) as uow:
        result = uow.connection.execute(
            select(table).where(_where(table, key)).order_by(table.c.id)).mappings()
        return [dict(row) for row in result]
