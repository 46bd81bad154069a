"""The inputs tables (issue 5), declared on the shared metadata of :mod:`imrf.store.tables`."""

from __future__ import annotations

from imrf.store.tables import metadata

__all__ = ["metadata"]
