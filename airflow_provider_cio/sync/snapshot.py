"""One audience snapshot in canonical order, with per-member fingerprints and a content id.

Member identity for diffing is ``customer_id`` plus a fingerprint of its identifiers: a member whose identifier set
changed is a different row for the platform (remove the old hashes, add the new ones). Sorting by ``customer_id``
makes batching deterministic, so a resumed run rebuilds exactly the batches the crashed attempt sent.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from airflow_provider_cio.sync.destination import Member

FINGERPRINT_HEX = 16  # 64 bits: collisions between one customer's old and new identifier sets are negligible


_ENCODER = json.JSONEncoder(
    separators=(",", ":"), ensure_ascii=False
)  # one encoder: json.dumps builds one per call


def canonical_identifiers(identifiers: Mapping[str, Iterable[str]]) -> dict[str, list[str]]:
    """Kinds sorted, values deduplicated and sorted, empty values and empty kinds dropped."""
    out: dict[str, list[str]] = {}
    for kind in sorted(identifiers):
        values = sorted({v for v in identifiers[kind] if v})
        if values:
            out[kind] = values
    return out


def identifiers_json(identifiers: Mapping[str, Iterable[str]]) -> str:
    """Compact canonical JSON of a member's identifiers (what the state file keeps to remove it later)."""
    return _ENCODER.encode(canonical_identifiers(identifiers))


def member_fingerprint(member: Member) -> str:
    """Short hash of the canonical identifier set and consent: equal fingerprints mean nothing to resend."""
    parts = []
    identifiers = member.identifiers
    for kind in sorted(identifiers):
        values = identifiers[kind]
        if len(values) == 1:  # the common case, without building a set
            joined = values[0]
        else:
            joined = "\x1f".join(sorted({v for v in values if v}))
        if joined:
            parts.append(kind + "\x1e" + joined)
    parts.append("c1" if member.consent else "c0")
    return hashlib.sha256("\x1d".join(parts).encode("utf-8")).hexdigest()[:FINGERPRINT_HEX]


@dataclass(frozen=True)
class SnapshotEntry:
    """A member with its precomputed fingerprint."""

    customer_id: str
    fingerprint: str
    member: Member


class Snapshot:
    """Members sorted by ``customer_id``; ``content_id`` is a hash of (customer_id, fingerprint) pairs."""

    def __init__(self, entries: list[SnapshotEntry], content_id: str) -> None:
        self.entries = entries
        self.content_id = content_id

    def __len__(self) -> int:
        return len(self.entries)

    @classmethod
    def from_members(cls, members: Iterable[Member]) -> Snapshot:
        """Fingerprint and sort; reject duplicate or unstorable customer ids (an upstream bug, not a sync choice)."""
        entries = [SnapshotEntry(m.customer_id, member_fingerprint(m), m) for m in members]
        entries.sort(key=lambda e: e.customer_id)
        digest = hashlib.sha256()
        duplicates = 0
        previous: str | None = None
        for entry in entries:
            cid = entry.customer_id
            if not cid or "\t" in cid or "\n" in cid or "\r" in cid:
                raise ValueError("snapshot has a customer_id that is empty or contains a tab/newline")
            if cid == previous:
                duplicates += 1
            previous = cid
            digest.update(f"{cid}\t{entry.fingerprint}\n".encode())
        if duplicates:
            raise ValueError(f"snapshot has {duplicates} duplicate customer_id values; deduplicate upstream")
        return cls(entries, digest.hexdigest()[:32])

    def coverage(self) -> dict[str, int]:
        """Members per identifier kind (counts only, PII-free)."""
        counts: dict[str, int] = {}
        for entry in self.entries:
            for kind, values in entry.member.identifiers.items():
                if any(values):
                    counts[kind] = counts.get(kind, 0) + 1
        return dict(sorted(counts.items()))
