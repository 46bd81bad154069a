"""The inputs tables (issue 5), declared on the shared metadata of :mod:`imrf.store.tables`.

One row per input to one edition (OP13). A stored file's bytes live outside the database,
content-addressed under ``<data_dir>/inputs/<sha256>``; the row names the hash.
"""

from __future__ import annotations

from sqlalchemy import Column, Date, DateTime, Index, Integer, String, Table, Text

from imrf.store.tables import EMAIL_LENGTH, metadata

inputs = Table(
    "inputs",
    metadata,
    Column("id", String(64), primary_key=True),  # public: used in the website's URLs
    Column("edition", Integer, nullable=False),
    Column("level", String(20), nullable=False),
    Column("submitter_email", String(EMAIL_LENGTH), nullable=False),  # lower-cased
    Column("submitter_name", String(200), nullable=False),
    Column("organization", String(300), nullable=False),
    Column("state", String(3), nullable=True),  # ISO alpha-3, national inputs
    Column("commission", String(10), nullable=True),  # regional inputs
    Column("objectives", String(100), nullable=False),  # "2,5,23": GCM objectives
    Column("title", String(500), nullable=False),
    Column("language", String(35), nullable=False),
    Column("received_on", Date, nullable=False),
    Column("filename", String(255), nullable=True),
    Column("media_type", String(100), nullable=True),
    Column("size", Integer, nullable=True),
    Column("sha256", String(64), nullable=True),
    Column("link", String(2000), nullable=True),
    Column("status", String(10), nullable=False),  # held, accepted, rejected
    Column("reason", Text, nullable=True),  # why held, or why rejected
    Column("decided_by", String(200), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_inputs_edition_status", "edition", "status"),
    Index("ix_inputs_sha256", "sha256"),
)

__all__ = ["inputs", "metadata"]
