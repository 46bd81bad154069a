"""The domain database: engine, tables, migrations and the unit of work.

Repositories (:mod:`imrf.contacts`, :mod:`imrf.ledger`) are built on a :class:`Store`; each of
their operations is one :class:`UnitOfWork`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from imrf.store.unit_of_work import Store, StoreError, UnitOfWork

if TYPE_CHECKING:
    from imrf.settings import Settings

__all__ = ["Store", "StoreError", "UnitOfWork", "open_store"]


def open_store(settings: Settings | None = None) -> Store:
    """The store the settings name, migrated and ready.

    Raises :class:`imrf.settings.SettingsError` or :class:`StoreError` (one-line messages).
    """
    if settings is None:
        from imrf.settings import load_settings

        settings = load_settings()
    store = Store.from_settings(settings)
    try:
        store.ensure_schema()
    except BaseException:
        store.dispose()
        raise
    return store
