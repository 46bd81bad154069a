"""The forum (OP21-41): round tables, the speakers list, the programme, the declaration dossier.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _id(table: str) -> tuple[sa.Column[int], sa.PrimaryKeyConstraint]:
    return (sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")))


def _recorded(name: str = "recorded_at") -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False)


def upgrade() -> None:
    op.create_table(
        "forum_appointments",
        *_id("forum_appointments"),
        sa.Column("edition", sa.Integer(), nullable=False),
        sa.Column("office", sa.String(length=20), nullable=False),
        sa.Column("roundtable", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=3), nullable=False),
        sa.Column("representative", sa.String(length=200), nullable=False),
        sa.Column("gender", sa.String(length=10), nullable=False),
        _recorded("appointed_at"),
        sa.UniqueConstraint("edition", "office", "roundtable", "position",
                            name="uq_forum_appointments_key"),
    )
    op.create_table(
        "forum_documents",
        *_id("forum_documents"),
        sa.Column("edition", sa.Integer(), nullable=False),
        sa.Column("document", sa.String(length=40), nullable=False),
        sa.Column("roundtable", sa.Integer(), nullable=False),
        sa.Column("symbol", sa.String(length=100), nullable=True),
        sa.Column("link", sa.String(length=2000), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        _recorded(),
        sa.UniqueConstraint("edition", "document", "roundtable",
                            name="uq_forum_documents_key"),
    )
    op.create_table(
        "forum_roundtable_participants",
        *_id("forum_roundtable_participants"),
        sa.Column("edition", sa.Integer(), nullable=False),
        sa.Column("roundtable", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("organisation", sa.String(length=300), nullable=False),
        _recorded(),
        sa.UniqueConstraint("edition", "roundtable", "name", "organisation",
                            name="uq_forum_roundtable_participants_key"),
    )
    op.create_table(
        "forum_opening_speakers",
        *_id("forum_opening_speakers"),
        sa.Column("edition", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=60), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        _recorded(),
        sa.UniqueConstraint("edition", "role", name="uq_forum_opening_speakers_key"),
    )
    op.create_table(
        "forum_speakers",
        *_id("forum_speakers"),
        sa.Column("edition", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=3), nullable=False),
        sa.Column("level", sa.String(length=40), nullable=False),
        sa.Column("speaker", sa.String(length=200), nullable=False),
        _recorded("inscribed_at"),
        sa.UniqueConstraint("edition", "state", name="uq_forum_speakers_key"),
    )
    op.create_index("ix_forum_speakers_edition_id", "forum_speakers", ["edition", "id"])
    op.create_table(
        "forum_declarations",
        *_id("forum_declarations"),
        sa.Column("edition", sa.Integer(), nullable=False),
        sa.Column("agreed_on", sa.Date(), nullable=False),
        sa.Column("symbol", sa.String(length=100), nullable=False),
        sa.Column("link", sa.String(length=2000), nullable=False),
        *(sa.Column(name, sa.Boolean(), nullable=False) for name in (
            "evaluation_of_progress", "challenges_and_opportunities", "recommendations",
            "annex_plenary_summaries", "annex_technical_summaries",
            "annex_policy_debate_summary")),
        _recorded(),
        sa.UniqueConstraint("edition", name=op.f("uq_forum_declarations_edition")),
    )


def downgrade() -> None:
    op.drop_table("forum_declarations")
    op.drop_index("ix_forum_speakers_edition_id", table_name="forum_speakers")
    for table in ("forum_speakers", "forum_opening_speakers", "forum_roundtable_participants",
                  "forum_documents", "forum_appointments"):
        op.drop_table(table)
