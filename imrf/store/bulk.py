"""Bulk writes and lookups that stay fast for tens of thousands of rows on both databases.

Rows go in through SQLAlchemy's "insertmanyvalues" mode, which sends one multi-row
``INSERT … VALUES (…), (…) ON CONFLICT … RETURNING …`` per 1,000 rows from one cached
compilation. It is only used for statements with ``RETURNING``, hence the ``RETURNING`` even
where the caller ignores it: a plain ``executemany`` sends one statement per row (10,000
contacts took 3.5 s that way on PostgreSQL), and building a literal multi-row ``VALUES``
ourselves is slower still (SQLAlchemy compiles every bound parameter anew).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, TypeVar

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Row

T = TypeVar("T")

IN_CHUNK = 500  # keys per IN (...) list: far under every driver's parameter limit


def chunks(items: Sequence[T], size: int = IN_CHUNK) -> Iterator[Sequence[T]]:
    """``items`` in consecutive slices of at most ``size``."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def upsert_insert(conn: Connection, table: Table) -> Any:
    """The dialect's ``INSERT`` that knows ``ON CONFLICT`` (SQLite and PostgreSQL)."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    if conn.dialect.name == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"no upsert for the {conn.dialect.name} dialect")


def bulk_insert(
    conn: Connection,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    *,
    conflict: Sequence[str],
    update: Sequence[str] = (),
    returning: Sequence[str] = (),
) -> list[Row[Any]]:
    """Insert ``rows``; where one collides on the ``conflict`` columns, update its ``update``
    columns (or, without ``update``, leave the stored row alone; with no ``conflict`` columns
    either, on a collision with any unique constraint).

    Returns the ``returning`` columns of the rows inserted or updated (not of those left
    alone), in no particular order.
    """
    if not rows:
        return []
    insert = upsert_insert(conn, table)
    if update:
        statement = insert.on_conflict_do_update(
            index_elements=list(conflict),
            set_={column: insert.excluded[column] for column in update},
        )
    else:
        statement = insert.on_conflict_do_nothing(index_elements=list(conflict) or None)
    columns = [table.c[name] for name in returning] or list(table.primary_key.columns)
    result = conn.execute(statement.returning(*columns), list(rows))
    return list(result.all()) if returning else []
