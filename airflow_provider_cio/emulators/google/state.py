"""What the emulator remembers: user lists and their members, Ads jobs, Data Manager requests, and a request log.

Both APIs reach the same user lists (as in production), so a member is stored as a set of identifier keys that do
not depend on which API sent it: ``email:<sha256>``, ``phone:<sha256>``, ``address:<fn>:<ln>:<cc>:<zip>``.
Adding a member that shares a key with a stored one merges them; removing drops every stored member sharing a key.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")


@dataclass
class StoredMember:
    keys: frozenset[str]
    added_at_ns: int


@dataclass
class UserList:
    customer_id: str
    id: int
    name: str
    description: str = ""
    membership_life_span: int = 540
    upload_key_type: str = "CONTACT_INFO"
    members: list[StoredMember] = field(default_factory=list)
    size_history: list[int] = field(default_factory=list)

    @property
    def resource_name(self) -> str:
        return f"customers/{self.customer_id}/userLists/{self.id}"

    def add(self, keys: frozenset[str], now_ns: int) -> None:
        merged = set(keys)
        kept: list[StoredMember] = []
        for member in self.members:
            if member.keys & keys:
                merged |= member.keys
            else:
                kept.append(member)
        kept.append(StoredMember(frozenset(merged), now_ns))
        self.members = kept

    def remove(self, keys: frozenset[str]) -> None:
        self.members = [m for m in self.members if not (m.keys & keys)]

    def remove_all(self, as_of_ns: int | None = None) -> None:
        """Drop members last added strictly before ``as_of_ns`` (everyone when None)."""
        if as_of_ns is None:
            self.members = []
        else:
            self.members = [m for m in self.members if m.added_at_ns >= as_of_ns]

    def note_size(self) -> None:
        self.size_history.append(len(self.members))


@dataclass
class JobOperation:
    kind: str  # "create" | "remove" | "remove_all"
    keys: frozenset[str] = frozenset()


@dataclass
class Job:
    customer_id: str
    id: int
    user_list: str
    consent_granted: bool
    status: str = "PENDING"  # PENDING -> RUNNING -> SUCCESS | FAILED
    failure_reason: str = "UNSPECIFIED"
    operations: list[JobOperation] = field(default_factory=list)
    polls_left: int = 0
    fail_with: str | None = None
    match_rate_range: str = "UNSPECIFIED"

    @property
    def resource_name(self) -> str:
        return f"customers/{self.customer_id}/offlineUserDataJobs/{self.id}"


@dataclass
class DmRequest:
    request_id: str
    kind: str  # "ingest" | "remove" | "remove_all"
    destinations: list[tuple[str, int]]
    received_ns: int
    polls_left: int
    record_count: int = 0
    identifier_count: int = 0
    error_counts: dict[str, int] = field(default_factory=dict)
    remove_as_of_ns: int | None = None
    applied: bool = False
    accepted: list[frozenset[str]] = field(default_factory=list)


@dataclass(frozen=True)
class RecordedRequest:
    """One call as the emulator saw it: PII-free summary (counts, operation kinds, ids)."""

    seq: int
    service: str
    method: str
    summary: dict[str, Any]


class EmulatorState:
    """All mutable state behind one lock; handlers run on gRPC's thread pool."""

    def __init__(self, *, clock_ns: Callable[[], int] = time.time_ns) -> None:
        self.lock = threading.RLock()
        self.clock_ns = clock_ns
        self.user_lists: dict[tuple[str, int], UserList] = {}
        self.jobs: dict[str, Job] = {}
        self.dm_requests: dict[str, DmRequest] = {}
        self.requests: list[RecordedRequest] = []
        self._next_id = 1000

    def next_id(self) -> int:
        with self.lock:
            self._next_id += 1
            return self._next_id

    def record(self, service: str, method: str, **summary: Any) -> None:
        with self.lock:
            self.requests.append(RecordedRequest(len(self.requests) + 1, service, method, dict(summary)))

    def create_user_list(self, customer_id: str, name: str, **attrs: Any) -> UserList:
        with self.lock:
            user_list = UserList(customer_id=customer_id, id=self.next_id(), name=name, **attrs)
            self.user_lists[(customer_id, user_list.id)] = user_list
            return user_list

    def find_list(self, customer_id: str, list_id: int) -> UserList | None:
        return self.user_lists.get((customer_id, list_id))

    def find_list_by_resource(self, resource_name: str) -> UserList | None:
        match = re.fullmatch(r"customers/(\d+)/userLists/(\d+)", resource_name)
        return self.find_list(match.group(1), int(match.group(2))) if match else None

    def lists_of(self, customer_id: str) -> Iterable[UserList]:
        return [u for (cid, _), u in self.user_lists.items() if cid == customer_id]
