"""The ledger's attempt index holds only the rows in flight.

Every row used to sit in ``ix_messages_attempt``: a claim moved each row of its chunk to a new
place in an index as big as the ledger (hundreds of thousands of rows after a few cycles).
Only ``unknown`` rows are ever looked up by attempt (to settle them after the provider's
answer), so a partial index of those keeps at most the chunks in flight: writing it costs a
third less per message (SQLite, 700,000 rows).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_IN_FLIGHT = sa.text("state = 'unknown'")


def upgrade() -> None:
    op.drop_index("ix_messages_attempt", table_name="messages")
    op.create_index("ix_messages_attempt", "messages", ["attempt"],
                    sqlite_where=_IN_FLIGHT, postgresql_where=_IN_FLIGHT)


def downgrade() -> None:
    op.drop_index("ix_messages_attempt", table_name="messages")
    op.create_index("ix_messages_attempt", "messages", ["attempt"])
