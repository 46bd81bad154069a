"""The registry of inputs (OP13-14): submissions and their documents.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "inputs",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("edition", sa.Integer(), nullable=False),
        sa.Column("level", sa.String(length=20), nullable=False),
        sa.Column("submitter_email", sa.String(length=320), nullable=False),
        sa.Column("submitter_name", sa.String(length=200), nullable=False),
        sa.Column("organization", sa.String(length=300), nullable=False),
        sa.Column("state", sa.String(length=3), nullable=True),
        sa.Column("commission", sa.String(length=10), nullable=True),
        sa.Column("objectives", sa.String(length=100), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("language", sa.String(length=35), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=True),
        sa.Column("media_type", sa.String(length=100), nullable=True),
        sa.Column("size", sa.Integer(), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("link", sa.String(length=2000), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("decided_by", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inputs")),
    )
    op.create_index("ix_inputs_edition_status", "inputs", ["edition", "status"])
    op.create_index("ix_inputs_sha256", "inputs", ["sha256"])


def downgrade() -> None:
    op.drop_index("ix_inputs_sha256", table_name="inputs")
    op.drop_index("ix_inputs_edition_status", table_name="inputs")
    op.drop_table("inputs")
