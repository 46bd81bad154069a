"""What an input to a forum is (OP13): the shared model of the registry, the intake and the site.

The registry (``imrf.inputs``) stores and validates submissions; the public website
(``imrf.site``) renders the accepted ones. Both speak this model, so neither depends on how
the other works. Every text field came from a submitter: renderers must escape it.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from imrf.fields import HttpLink
from imrf.vocabulary import Commission


class Level(StrEnum):
    """Where an input comes from (OP13: national, regional and global levels; OP12, OP30)."""

    NATIONAL = "national"
    REGIONAL = "regional"
    GLOBAL = "global"
    STAKEHOLDER = "stakeholder"


class Status(StrEnum):
    """``held``: the submitter is unknown, an operator must accept or reject it first;
    only ``accepted`` inputs are ever published."""

    HELD = "held"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


Objective = Annotated[int, Field(ge=1, le=23)]


class Document(BaseModel):
    """The input's document: a stored file (content-addressed) or a link, never both."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    filename: str | None = Field(default=None, description="Sanitised original file name")
    media_type: str | None = Field(default=None, description="Detected from the content")
    size: int | None = Field(default=None, ge=0)
    sha256: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")
    link: HttpLink | None = None

    @model_validator(mode="after")
    def _file_or_link(self) -> Document:
        is_file = self.sha256 is not None
        if is_file == (self.link is not None):
            raise ValueError("a document is either a stored file (sha256) or a link")
        if is_file and (self.filename is None or self.media_type is None or self.size is None):
            raise ValueError("a stored file needs filename, media_type and size")
        return self


class Submission(BaseModel):
    """One input to one edition's forum."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9-]{1,64}$", description="Stable public id, used in URLs")
    edition: int = Field(ge=2020, le=2999)
    level: Level
    submitter_email: str = Field(max_length=320)
    submitter_name: str = Field(min_length=1, max_length=200)
    organization: str = Field(min_length=1, max_length=300)
    state: str | None = Field(default=None, pattern=r"^[A-Z]{3}$",
                              description="National inputs: the Member State (ISO alpha-3)")
    commission: Commission | None = Field(default=None, description="Regional inputs")
    objectives: tuple[Objective, ...] = Field(min_length=1)
    title: str = Field(min_length=1, max_length=500)
    language: str = Field(min_length=2, max_length=35, description="BCP 47 tag, e.g. en, fr")
    received_on: dt.date
    document: Document
    status: Status = Status.HELD

    @model_validator(mode="after")
    def _level_fields(self) -> Submission:
        if self.level is Level.NATIONAL and self.state is None:
            raise ValueError("a national input names its Member State (state)")
        if self.level is Level.REGIONAL and self.commission is None and self.state is None:
            raise ValueError("a regional input names its commission")
        return self
