"""The store (one database, migrated on first use) and its unit of work (one transaction)."""

from __future__ import annotations

import threading
from types import TracebackType
from typing import TYPE_CHECKING

from sqlalchemy import Engine
from sqlalchemy.engine import Connection, RootTransaction
from sqlalchemy.exc import DBAPIError

from imrf.store import migrate
from imrf.store.engine import READ_ONLY, describe_url, make_engine

if TYPE_CHECKING:
    from imrf.settings import Settings


class StoreError(RuntimeError):
    """The database cannot be opened or migrated; the message is one line, password masked."""


class UnitOfWork:
    """One transaction: leaving the ``with`` block rolls back unless :meth:`commit` was called."""

    def __init__(self, engine: Engine, *, read_only: bool = False) -> None:
        self._engine = engine
        self._read_only = read_only
        self._connection: Connection | None = None
        self._transaction: RootTransaction | None = None

    def __enter__(self) -> UnitOfWork:
        self._connection = self._engine.connect()
        if self._read_only:
            self._connection.execution_options(**{READ_ONLY: True})
        self._transaction = self._connection.begin()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            if self._transaction is not None and self._transaction.is_active:
                self._transaction.rollback()
        finally:
            if self._connection is not None:
                self._connection.close()
            self._connection = self._transaction = None

    @property
    def connection(self) -> Connection:
        """The connection of the open transaction."""
        if self._connection is None:
            raise RuntimeError("the unit of work is not open (use it in a with block)")
        return self._connection

    def commit(self) -> None:
        """Make the transaction's writes durable."""
        if self._transaction is None:
            raise RuntimeError("the unit of work is not open (use it in a with block)")
        self._transaction.commit()


class Store:
    """One database. The schema is migrated to the newest revision on first use."""

    def __init__(self, url: str, *, engine: Engine | None = None) -> None:
        self._url = url
        self.engine = engine or make_engine(url)
        self._migrated = False
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> Store:
        """The store at ``settings.database_url``."""
        return cls(settings.database_url.get_secret_value())

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.engine.dialect.name

    def __repr__(self) -> str:
        return f"Store({describe_url(self._url)!r})"

    def ensure_schema(self) -> None:
        """Migrate the database if this store has not done so yet (cheap afterwards)."""
        if self._migrated:
            return
        with self._lock:
            if self._migrated:
                return
            try:
                migrate.upgrade(self.engine)
            except DBAPIError as exc:
                reason = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
                raise StoreError(
                    f"cannot open database {describe_url(self._url)}: {reason}"
                ) from None
            self._migrated = True

    def unit_of_work(self, *, read_only: bool = False) -> UnitOfWork:
        """A new unit of work; ``read_only`` lets SQLite readers run beside a writer."""
        self.ensure_schema()
        return UnitOfWork(self.engine, read_only=read_only)

    def dispose(self) -> None:
        """Close the pooled connections (e.g. at the end of a CLI command or a test)."""
        self.engine.dispose()
