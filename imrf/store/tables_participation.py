"""The participation tables (issue 6: registrations, the PGA list, objections, delegations).

Declared on the shared metadata of :mod:`imrf.store.tables`.
"""

from __future__ import annotations

from imrf.store.tables import metadata

__all__ = ["metadata"]
