"""The forum tables (issue 6: round tables, speakers, programme, the declaration dossier).

Declared on the shared metadata of :mod:`imrf.store.tables`; migration 0005 builds them.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    Index,
    Integer,
    String,
    Table,
    UniqueConstraint,
)

from imrf.store.tables import metadata

# Co-chairs of the round tables (OP28, roundtable 1..4) and co-facilitators (OP36,
# roundtable 0): two per office, `position` 1 or 2.
forum_appointments = Table(
    "forum_appointments",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("edition", Integer, nullable=False),
    Column("office", String(20), nullable=False),
    Column("roundtable", Integer, nullable=False),
    Column("position", Integer, nullable=False),
    Column("state", String(3), nullable=False),
    Column("representative", String(200), nullable=False),
    Column("gender", String(10), nullable=False),
    Column("appointed_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("edition", "office", "roundtable", "position",
                     name="uq_forum_appointments_key"),
)

# Documents tracked against a deadline: background notes (OP29), technical summaries (OP31),
# the SG report, the policy debate and plenary summaries (OP39, OP41). roundtable 0: not
# a round table's document.
forum_documents = Table(
    "forum_documents",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("edition", Integer, nullable=False),
    Column("document", String(40), nullable=False),
    Column("roundtable", Integer, nullable=False),
    Column("symbol", String(100), nullable=True),
    Column("link", String(2000), nullable=False),
    Column("received_on", Date, nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("edition", "document", "roundtable", name="uq_forum_documents_key"),
)

# Non-governmental stakeholders and representatives of regional processes per round table
# (OP30).
forum_roundtable_participants = Table(
    "forum_roundtable_participants",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("edition", Integer, nullable=False),
    Column("roundtable", Integer, nullable=False),
    Column("kind", String(30), nullable=False),
    Column("name", String(300), nullable=False),
    Column("organisation", String(300), nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("edition", "roundtable", "name", "organisation",
                     name="uq_forum_roundtable_participants_key"),
)

# The opening session's speakers by role (OP22).
forum_opening_speakers = Table(
    "forum_opening_speakers",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("edition", Integer, nullable=False),
    Column("role", String(60), nullable=False),
    Column("name", String(200), nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("edition", "role", name="uq_forum_opening_speakers_key"),
)

# Inscriptions on the general debate's list of speakers (OP23): one per State and edition;
# `id` order is the order of inscription.
forum_speakers = Table(
    "forum_speakers",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("edition", Integer, nullable=False),
    Column("state", String(3), nullable=False),
    Column("level", String(40), nullable=False),
    Column("speaker", String(200), nullable=False),
    Column("inscribed_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("edition", "state", name="uq_forum_speakers_key"),
    Index("ix_forum_speakers_edition_id", "edition", "id"),
)

# The Progress Declaration as agreed (OP37, OP40, OP41).
forum_declarations = Table(
    "forum_declarations",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("edition", Integer, nullable=False, unique=True),
    Column("agreed_on", Date, nullable=False),
    Column("symbol", String(100), nullable=False),
    Column("link", String(2000), nullable=False),
    Column("evaluation_of_progress", Boolean, nullable=False),
    Column("challenges_and_opportunities", Boolean, nullable=False),
    Column("recommendations", Boolean, nullable=False),
    Column("annex_plenary_summaries", Boolean, nullable=False),
    Column("annex_technical_summaries", Boolean, nullable=False),
    Column("annex_policy_debate_summary", Boolean, nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
)

__all__ = [
    "forum_appointments",
    "forum_declarations",
    "forum_documents",
    "forum_opening_speakers",
    "forum_roundtable_participants",
    "forum_speakers",
    "metadata",
]
