"""The Progress Declaration as agreed (OP37) and its check against OP40 and OP41.

The record is the human step's answer (:class:`imrf.human_steps.DeclarationAgreed`), checked
by the same function (:func:`imrf.human_steps.check_declaration`). Unlike the human step, an
incomplete declaration is still recorded here (it was agreed: it is a fact), and the check
lists what it lacks.
"""

from __future__ import annotations

from imrf.forum.rows import fetch, now, replace
from imrf.human_steps import DeclarationAgreed, check_declaration
from imrf.modalities import Modalities
from imrf.reference import states
from imrf.store import Store
from imrf.store.tables_forum import forum_declarations

_FIELDS = tuple(DeclarationAgreed.model_fields)


def record(store: Store, edition: int, declaration: DeclarationAgreed) -> None:
    replace(store, forum_declarations, {"edition": edition},
            [{**declaration.model_dump(), "recorded_at": now()}])


def recorded(store: Store, edition: int) -> DeclarationAgreed | None:
    rows = fetch(store, forum_declarations, {"edition": edition})
    if not rows:
        return None
    return DeclarationAgreed.model_validate({name: rows[0][name] for name in _FIELDS})


def missing(declaration: DeclarationAgreed | None, modalities: Modalities) -> list[str]:
    """What the declaration lacks of OP40's three parts and OP41's annexes."""
    if declaration is None:
        return ["no Progress Declaration is recorded yet (OP37)"]
    return check_declaration(declaration, modalities, states())
