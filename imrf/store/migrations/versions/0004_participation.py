"""Participation (OP4-8): registrations, the PGA list of stakeholders, objections, delegations.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_EMAIL = sa.String(length=320)


def _timestamps() -> list[sa.Column[object]]:
    return [
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    ]


def _id() -> list[Any]:
    return [sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("edition", sa.Integer(), nullable=False)]


def _candidate_fk(table: str) -> list[Any]:
    return [
        sa.Column("candidate_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["candidate_id"], ["stakeholder_candidates.id"],
            name=op.f(f"fk_{table}_candidate_id_stakeholder_candidates"), ondelete="CASCADE",
        ),
    ]


def upgrade() -> None:
    op.create_table(
        "stakeholder_registrations",
        *_id(),
        sa.Column("email", _EMAIL, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("organization", sa.String(length=300), nullable=False),
        sa.Column("accreditation", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        *_timestamps(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stakeholder_registrations")),
        sa.UniqueConstraint("edition", "email", name="uq_stakeholder_registrations_key"),
    )
    op.create_table(
        "stakeholder_candidates",
        *_id(),
        sa.Column("key", sa.String(length=520), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("organization", sa.String(length=300), nullable=False),
        sa.Column("organization_type", sa.String(length=40), nullable=False),
        sa.Column("regional_group", sa.String(length=20), nullable=False),
        sa.Column("country", sa.String(length=3), nullable=True),
        sa.Column("gender", sa.String(length=20), nullable=False),
        sa.Column("email", _EMAIL, nullable=True),
        *_timestamps(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stakeholder_candidates")),
        sa.UniqueConstraint("edition", "key", name="uq_stakeholder_candidates_key"),
    )
    op.create_table(
        "stakeholder_circulations",
        sa.Column("edition", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("circulated_on", sa.Date(), nullable=False),
        sa.Column("deadline", sa.Date(), nullable=False),
        sa.Column("late", sa.Boolean(), nullable=False),
        sa.Column("candidates", sa.Integer(), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("edition", name=op.f("pk_stakeholder_circulations")),
    )
    op.create_table(
        "stakeholder_objections",
        *_id(),
        *_candidate_fk("stakeholder_objections"),
        sa.Column("state", sa.String(length=3), nullable=False),
        sa.Column("general_basis", sa.Text(), nullable=False),
        sa.Column("source", sa.String(length=40), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stakeholder_objections")),
        sa.UniqueConstraint("candidate_id", "state", name="uq_stakeholder_objections_key"),
    )
    op.create_index("ix_stakeholder_objections_edition", "stakeholder_objections", ["edition"])
    op.create_table(
        "stakeholder_decisions",
        *_id(),
        *_candidate_fk("stakeholder_decisions"),
        sa.Column("decision", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stakeholder_decisions")),
        sa.UniqueConstraint("candidate_id", "decision", name="uq_stakeholder_decisions_key"),
    )
    op.create_table(
        "objection_disclosures",
        *_id(),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("requested_by", sa.String(length=40), nullable=False),
        sa.Column("objections", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_objection_disclosures")),
    )
    op.create_index("ix_objection_disclosures_edition", "objection_disclosures", ["edition"])
    op.create_table(
        "delegation_members",
        *_id(),
        sa.Column("state", sa.String(length=3), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("category", sa.String(length=40), nullable=False),
        sa.Column("function", sa.String(length=200), nullable=False),
        *_timestamps(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delegation_members")),
        sa.UniqueConstraint("edition", "state", "key", name="uq_delegation_members_key"),
    )


def downgrade() -> None:
    op.drop_table("delegation_members")
    op.drop_index("ix_objection_disclosures_edition", table_name="objection_disclosures")
    op.drop_table("objection_disclosures")
    op.drop_table("stakeholder_decisions")
    op.drop_index("ix_stakeholder_objections_edition", table_name="stakeholder_objections")
    op.drop_table("stakeholder_objections")
    op.drop_table("stakeholder_circulations")
    op.drop_table("stakeholder_candidates")
    op.drop_table("stakeholder_registrations")
