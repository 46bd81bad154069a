"""The forum tables (issue 6: round tables, speakers, programme, the declaration dossier).

Declared on the shared metadata of :mod:`imrf.store.tables`.
"""

from __future__ import annotations

from imrf.store.tables import metadata

__all__ = ["metadata"]
