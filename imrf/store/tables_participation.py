"""The participation tables (issue 6: registrations, the PGA list, objections, delegations).

Declared on the shared metadata of :mod:`imrf.store.tables`; migration 0004 builds them.
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
    String,
    Table,
    Text,
    UniqueConstraint,
)

from imrf.store.tables import EMAIL_LENGTH, metadata

# OP6: ECOSOC-status NGOs and accredited stakeholders who register for an edition.
stakeholder_registrations = Table(
    "stakeholder_registrations",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("edition", Integer, nullable=False),
    Column("email", String(EMAIL_LENGTH), nullable=False),  # lower-cased
    Column("name", String(200), nullable=False),
    Column("organization", String(300), nullable=False),
    Column("accreditation", String(40), nullable=False),
    Column("status", String(20), nullable=False),  # registered, pending, rejected
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("edition", "email", name="uq_stakeholder_registrations_key"),
)

# OP7: the President's list of other stakeholders. `key` is the case-insensitive identity
# (name and organization) that refuses a duplicate candidate.
stakeholder_candidates = Table(
    "stakeholder_candidates",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("edition", Integer, nullable=False),
    Column("key", String(520), nullable=False),
    Column("name", String(200), nullable=False),
    Column("organization", String(300), nullable=False),
    Column("organization_type", String(40), nullable=False),
    Column("regional_group", String(20), nullable=False),
    Column("country", String(3), nullable=True),
    Column("gender", String(20), nullable=False),
    Column("email", String(EMAIL_LENGTH), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("edition", "key", name="uq_stakeholder_candidates_key"),
)

# OP7: when the list went to Member States, against the deadline three months before.
stakeholder_circulations = Table(
    "stakeholder_circulations",
    metadata,
    Column("edition", Integer, primary_key=True),
    Column("circulated_on", Date, nullable=False),
    Column("deadline", Date, nullable=False),
    Column("late", Boolean, nullable=False),
    Column("candidates", Integer, nullable=False),
    Column("actor", String(200), nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
)

# Footnote 4: confidential. Read only through imrf.forum.objections.disclose (audited).
stakeholder_objections = Table(
    "stakeholder_objections",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("edition", Integer, nullable=False),
    Column(
        "candidate_id",
        Integer,
        ForeignKey("stakeholder_candidates.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("state", String(3), nullable=False),
    Column("general_basis", Text, nullable=False),
    Column("source", String(40), nullable=False),  # cli, human-step
    Column("actor", String(200), nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("candidate_id", "state", name="uq_stakeholder_objections_key"),
    Index("ix_stakeholder_objections_edition", "edition"),
)

# The President's decision to keep a name despite an objection.
stakeholder_decisions = Table(
    "stakeholder_decisions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("edition", Integer, nullable=False),
    Column(
        "candidate_id",
        Integer,
        ForeignKey("stakeholder_candidates.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("decision", String(20), nullable=False),  # overrule
    Column("reason", Text, nullable=False),
    Column("actor", String(200), nullable=False),
    Column("decided_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("candidate_id", "decision", name="uq_stakeholder_decisions_key"),
)

# The audit trail of every disclosure of objections (footnote 4: shared on request).
objection_disclosures = Table(
    "objection_disclosures",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("edition", Integer, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("requested_by", String(40), nullable=False),  # a Member State code or pga-office
    Column("objections", Integer, nullable=False),
    Column("reason", Text, nullable=False),
    Index("ix_objection_disclosures_edition", "edition"),
)

# OP8: members of Member States' delegations, by category.
delegation_members = Table(
    "delegation_members",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("edition", Integer, nullable=False),
    Column("state", String(3), nullable=False),
    Column("key", String(200), nullable=False),
    Column("name", String(200), nullable=False),
    Column("category", String(40), nullable=False),
    Column("function", String(200), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("edition", "state", "key", name="uq_delegation_members_key"),
)

__all__ = [
    "delegation_members",
    "metadata",
    "objection_disclosures",
    "stakeholder_candidates",
    "stakeholder_circulations",
    "stakeholder_decisions",
    "stakeholder_objections",
    "stakeholder_registrations",
]
