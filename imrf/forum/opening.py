"""The opening session of the plenary (OP22): who speaks, in the order the paragraph names.

The roles are data (`plenary.opening_session.speakers` in the modalities); the names of the
persons, once known, are recorded per edition.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from imrf.forum.rows import ForumError, fetch, now, upsert
from imrf.modalities import Modalities, OpeningSessionRules
from imrf.store import Store
from imrf.store.tables_forum import forum_opening_speakers


class OpeningSpeaker(BaseModel):
    model_config = ConfigDict(frozen=True)

    order: int
    role: str
    title: str
    name: str | None = Field(default=None, description="None: not yet known")


def _opening(modalities: Modalities) -> OpeningSessionRules:
    if modalities.plenary is None:
        raise ForumError(f"modalities {modalities.id} give no plenary rules (OP21-OP22)")
    return modalities.plenary.opening_session


def programme(modalities: Modalities, names: dict[str, str]) -> list[OpeningSpeaker]:
    """The opening session's speakers in order, with the names known so far."""
    return [OpeningSpeaker(order=i, role=s.role, title=s.title, name=names.get(s.role))
            for i, s in enumerate(_opening(modalities).speakers, start=1)]


def name_speaker(store: Store, edition: int, role: str, name: str,
                 modalities: Modalities) -> None:
    roles = [s.role for s in _opening(modalities).speakers]
    if role not in roles:
        raise ForumError(f"{role!r} is not an opening-session role "
                         f"({_opening(modalities).paragraph}: {', '.join(roles)})")
    name = name.strip()
    if not 1 <= len(name) <= 200:
        raise ForumError("the speaker's name must have 1 to 200 characters")
    with store.unit_of_work() as uow:
        upsert(uow.connection, forum_opening_speakers, {"edition": edition, "role": role},
               {"name": name, "recorded_at": now()})
        uow.commit()


def names(store: Store, edition: int) -> dict[str, str]:
    return {r["role"]: r["name"] for r in fetch(store, forum_opening_speakers,
                                                 {"edition": edition})}
