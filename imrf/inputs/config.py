"""`config/inputs.yaml`: the drop folder, the size limit and the accepted types (OP13-14).

The text does not set any of these: each rule carries ``basis: operational-default`` and
the paragraph it serves.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, PositiveInt, field_validator

from imrf.configfile import default_config_dir, load_model

TypeId = Literal["pdf", "docx", "odt", "html", "txt"]
Basis = Literal["text", "operational-default"]


class _Rule(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    paragraph: str = Field(min_length=2)
    basis: Basis


class DropFolderRule(_Rule):
    path: Path
    poll_minutes: PositiveInt = 5
    sidecar_grace_minutes: PositiveInt = 60


class MaxSizeRule(_Rule):
    megabytes: float = Field(gt=0, le=2000)

    @property
    def bytes(self) -> int:
        return int(self.megabytes * 1_000_000)


class AcceptedType(_Rule):
    id: TypeId
    media_type: str = Field(min_length=3)
    extensions: tuple[str, ...] = Field(min_length=1)

    @field_validator("extensions")
    @classmethod
    def _lower(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(ext.lower().lstrip(".") for ext in value)


class InputsConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    drop_folder: DropFolderRule
    max_size: MaxSizeRule
    accepted_types: tuple[AcceptedType, ...] = Field(min_length=1)

    def accepted(self, type_id: str) -> AcceptedType | None:
        return next((t for t in self.accepted_types if t.id == type_id), None)

    def drop_folder_path(self, data_dir: Path) -> Path:
        """The drop folder: its configured path, under ``data_dir`` when relative."""
        path = self.drop_folder.path.expanduser()
        return path if path.is_absolute() else data_dir / path


@cache
def load_inputs_config(config_dir: Path | None = None) -> InputsConfig:
    """``<config_dir>/inputs.yaml`` validated (a one-line ConfigError naming file and key)."""
    return load_model(InputsConfig, (config_dir or default_config_dir()) / "inputs.yaml")
