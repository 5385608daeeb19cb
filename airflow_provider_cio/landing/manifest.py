"""The manifest: written last, it is the commit point of a partition and the only list of its parts."""

from __future__ import annotations

import builtins
import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any

MANIFEST_FORMAT = 1


@dataclass(frozen=True)
class PartFile:
    path: str
    rows: int
    bytes: int
    sha256: str


@dataclass
class Manifest:
    """What a partition holds. Readers trust nothing under the prefix that the manifest does not list."""

    dataset: str
    partition: str
    rows: int
    bytes: int
    parts: list[PartFile]
    schema: list[dict[str, str]]
    schema_version: str
    source: str
    produced_at: str
    contract_version: str | None = None
    source_ids: list[str] = field(default_factory=list)
    rejected_rows: int = 0
    rejected_parts: list[str] = field(default_factory=list)
    rejected_reasons: dict[str, int] = field(default_factory=dict)
    # Columns of the landed schema the source did not carry (landed as nulls): the gate reports them as drift.
    absent_columns: list[str] = field(default_factory=list)
    content_sha256: str = ""
    generation: str = ""
    # The committed manifest this one replaced (its own ``previous`` dropped), kept with its parts until this
    # generation passes its gate: a rerun that fails the gate can be rolled back (landing/generations.py).
    previous: dict[str, Any] | None = None
    format: int = MANIFEST_FORMAT

    def __post_init__(self) -> None:
        if not self.content_sha256:
            self.content_sha256 = content_checksum(self.parts)

    def to_json(self) -> builtins.bytes:
        return json.dumps(asdict(self), indent=2, sort_keys=True).encode()

    @classmethod
    def from_json(cls, data: builtins.bytes) -> Manifest:
        raw: dict[str, Any] = json.loads(data)
        raw["parts"] = [PartFile(**part) for part in raw.get("parts", [])]
        known = set(cls.__dataclass_fields__)
        return cls(**{key: value for key, value in raw.items() if key in known})

    def previous_manifest(self) -> Manifest | None:
        return Manifest.from_json(json.dumps(self.previous).encode()) if self.previous else None

    def as_previous(self) -> dict[str, Any]:
        """This manifest as the ``previous`` of the next one (one level deep: no chain of generations)."""
        kept = asdict(self)
        kept["previous"] = None
        return kept

    @property
    def column_names(self) -> list[str]:
        return [column["name"] for column in self.schema]


def content_checksum(parts: list[PartFile]) -> str:
    """Checksum of the partition's content: equal for equal data, whatever the part names (generation) are."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.sha256.encode())
        digest.update(str(part.rows).encode())
    return digest.hexdigest()
