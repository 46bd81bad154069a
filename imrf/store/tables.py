"""The domain tables, declared once for the repositories and for Alembic's autogenerate.

Migrations under ``migrations/versions`` create them; these declarations must stay equal to
what the migrations build (``tests/test_store.py`` compares the two).
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

# Named constraints so that later migrations (and SQLite batch mode) can refer to them.
metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

EMAIL_LENGTH = 320  # RFC 3696 errata: 64 + 1 + 255

contacts = Table(
    "contacts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    # Lower-cased: the registry's identity, and what the ledger's recipient column holds.
    Column("email", String(EMAIL_LENGTH), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("organization", String(300), nullable=False),
    Column("country", String(3), nullable=True),
    Column("regional_group", String(20), nullable=True),
    Column("gender", String(50), nullable=True),
    Column("language", String(35), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# One row per (audience, contact): "everyone in audiences A or B" is a range scan of the
# primary key's leading column.
contact_audiences = Table(
    "contact_audiences",
    metadata,
    Column("audience", String(40), primary_key=True),
    Column(
        "contact_id",
        Integer,
        ForeignKey("contacts.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Index("ix_contact_audiences_contact_id", "contact_id"),
)

_IN_FLIGHT = text("state = 'unknown'")  # the ledger's DeliveryState.UNKNOWN
messages = Table(
    "messages",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("edition", Integer, nullable=False),
    Column("milestone", String(100), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("recipient", String(EMAIL_LENGTH), nullable=False),
    Column("state", String(10), nullable=False),
    # Which notifier attempt holds (or last held) the row; set when it goes in flight.
    Column("attempt", String(64), nullable=True),
    Column("attempts", Integer, nullable=False, default=0),
    Column("message_id", String(200), nullable=True),  # the provider's X-Message-Id
    Column("reason", Text, nullable=True),
    Column("retryable", Boolean, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("sent_at", DateTime(timezone=True), nullable=True),
    UniqueConstraint("edition", "milestone", "kind", "recipient", name="uq_messages_key"),
    # Only rows in flight are looked up by attempt (migration 0006 says why).
    Index("ix_messages_attempt", "attempt", sqlite_where=_IN_FLIGHT,
          postgresql_where=_IN_FLIGHT),
)

# The operator's audit trail: every manual resolution, who did it, when and why.
ledger_events = Table(
    "ledger_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("action", String(20), nullable=False),
    Column("edition", Integer, nullable=False),
    Column("milestone", String(100), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("recipient", String(EMAIL_LENGTH), nullable=False),
    Column("from_state", String(10), nullable=False),
    Column("to_state", String(10), nullable=False),
    Column("attempt", String(64), nullable=True),
    Column("reason", Text, nullable=False),
    Index("ix_ledger_events_key", "edition", "milestone", "kind"),
)

# The cycle's own records: what each stage run did (for the calendar artifact's status per
# milestone) and the human steps it opened (for escalation when a deadline passes).
stage_runs = Table(
    "stage_runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("edition", Integer, nullable=False),
    Column("stage", String(60), nullable=False),
    Column("instance", String(60), nullable=False),
    Column("run_date", Date, nullable=False),
    Column("state", String(20), nullable=False),  # running, waiting, completed, failed
    Column("flow_run_id", String(64), nullable=True),
    Column("summary", Text, nullable=True),  # JSON: what the run sent and recorded
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True), nullable=True),
    UniqueConstraint("edition", "stage", "instance", name="uq_stage_runs_key"),
)

human_steps = Table(
    "human_steps",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("edition", Integer, nullable=False),
    Column("stage", String(60), nullable=False),
    Column("instance", String(60), nullable=False),
    Column("step", String(40), nullable=False),
    Column("title", String(300), nullable=False),
    Column("milestone", String(100), nullable=False),
    Column("deadline", Date, nullable=True),
    Column("state", String(20), nullable=False),  # open, answered
    Column("flow_run_id", String(64), nullable=True),
    Column("ui_link", String(500), nullable=True),
    Column("answer", Text, nullable=True),  # JSON
    Column("problems", Text, nullable=True),  # the last answer's problems, shown to the operator
    Column("opened_at", DateTime(timezone=True), nullable=False),
    Column("answered_at", DateTime(timezone=True), nullable=True),
    Column("escalated_at", DateTime(timezone=True), nullable=True),
    UniqueConstraint("edition", "stage", "instance", name="uq_human_steps_key"),
    Index("ix_human_steps_state_deadline", "state", "deadline"),
)


# Each area declares its tables on this metadata in a module of its own; importing them here
# makes `metadata` complete for Alembic and for the schema test.
from imrf.store import tables_forum as _forum  # noqa: E402, F401
from imrf.store import tables_inputs as _inputs  # noqa: E402, F401
from imrf.store import tables_participation as _participation  # noqa: E402, F401
