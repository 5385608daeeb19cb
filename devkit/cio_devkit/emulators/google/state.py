"""What the emulator remembers: user lists and their members, Ads jobs, Data Manager requests, and a request log.

Both APIs reach the same user lists (as in production), so a member is stored as a set of identifier keys that do
not depend on which API sent it: ``email:<sha256>``, ``phone:<sha256>``, ``address:<fn>:<ln>:<cc>:<zip>``.
Adding a member that shares a key with a stored one merges them; removing drops every stored member sharing a key,
or (reading ``removal_match="identifier"``) only the keys it names.

Memberships lapse on the emulator's clock, for both APIs alike: "Number of days a user's cookie stays on your list
since its most recent addition to the list. This field must be between 0 and 540 inclusive" (Google Ads API
reference, UserList.membership_life_span, https://developers.google.com/google-ads/api/reference/rpc/v26/UserList),
and lists that had no expiration were moved to 540 days ("Update to Customer Match membership expiration starting
April 7, 2025", https://developers.google.com/ads/blog/posts/2025/02/update-to-customer-match-membership). The
clock is ``clock_ns`` plus an offset a test moves with ``EmulatorState.advance`` (``GoogleEmulator.advance``).
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")
DAY_NS = 86_400 * 10**9
NO_EXPIRY_DAYS = 10_000  # the legacy "unlimited" life span; only a seeded (pre-2025) list can still carry it
_NEVER = 2**63  # "no member": later than any clock


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
    size_log: list[tuple[int, int]] = field(default_factory=list)  # (clock ns, size) after each change
    expired: int = 0  # memberships that lapsed so far
    earliest_ns: int | None = None  # a lower bound of the members' added_at_ns (None: not known yet)
    clock: Callable[[], int] | None = field(default=None, repr=False, compare=False)

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
        if self.earliest_ns is not None and now_ns < self.earliest_ns:
            self.earliest_ns = now_ns

    def remove(self, keys: frozenset[str]) -> None:
        """Drop every stored member sharing a key with ``keys`` (reading ``removal_match="member"``)."""
        self.members = [m for m in self.members if not (m.keys & keys)]

    def remove_keys(self, keys: frozenset[str]) -> None:
        """Drop only the keys named ("Remove the provided data", OfflineUserDataJobOperation.remove), and a stored
        member left with none (reading ``removal_match="identifier"``)."""
        kept = [StoredMember(m.keys - keys, m.added_at_ns) for m in self.members]
        self.members = [m for m in kept if m.keys]

    def remove_by(self, keys: frozenset[str], match: str) -> None:
        """A removal under the settings' reading ``match``."""
        if match == "identifier":
            self.remove_keys(keys)
        else:
            self.remove(keys)

    def remove_all(self, as_of_ns: int | None = None) -> None:
        """Drop members last added strictly before ``as_of_ns`` (everyone when None)."""
        if as_of_ns is None:
            self.members = []
        else:
            self.members = [m for m in self.members if m.added_at_ns >= as_of_ns]

    def note_size(self) -> None:
        self.size_history.append(len(self.members))
        if self.clock is not None:
            self.size_log.append((self.clock(), len(self.members)))

    def expire(self, now_ns: int) -> int:
        """Drop memberships older than the life span (counted from the member's most recent addition)."""
        if self.membership_life_span >= NO_EXPIRY_DAYS:
            return 0
        cutoff = now_ns - self.membership_life_span * DAY_NS
        if self.earliest_ns is None:
            self.earliest_ns = min((m.added_at_ns for m in self.members), default=_NEVER)
        if self.earliest_ns > cutoff:  # the oldest membership is still running: nothing to scan
            return 0
        kept = [m for m in self.members if m.added_at_ns > cutoff]
        lapsed = len(self.members) - len(kept)
        self.earliest_ns = min((m.added_at_ns for m in kept), default=_NEVER)
        if lapsed:
            self.members = kept
            self.expired += lapsed
            self.note_size()
        return lapsed

    def size_as_of(self, at_ns: int) -> int | None:
        """The size the list had at ``at_ns`` (None before its first change)."""
        size = None
        for when, value in self.size_log:
            if when > at_ns:
                break
            size = value
        return size


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
    run_at_ns: int = 0  # when RunOfflineUserDataJob accepted it (emulator clock)
    consent: tuple[str, str] = ("UNSPECIFIED", "UNSPECIFIED")  # (ad_user_data, ad_personalization) as sent
    match_rate_range: str = "UNSPECIFIED"

    @property
    def resource_name(self) -> str:
        return f"customers/{self.customer_id}/offlineUserDataJobs/{self.id}"


@dataclass
class DmRequest:
    """One accepted Data Manager request: applied when processed (``due_ns``), final status from then on."""

    request_id: str
    kind: str  # "ingest" | "remove" | "remove_all"
    destinations: list[tuple[str, int]]
    received_ns: int
    due_ns: int
    record_count: int = 0
    identifier_count: int = 0
    error_counts: dict[str, int] = field(default_factory=dict)
    remove_as_of_ns: int | None = None
    applied: bool = False
    members: list[frozenset[str]] = field(default_factory=list)  # identifier keys per member, request order
    skipped: set[int] = field(default_factory=set)  # member indexes that fail when processed
    fail_reason: str | None = None  # the whole request fails when processed (nothing applied)
    status: str = "PROCESSING"  # -> SUCCESS | PARTIAL_SUCCESS | FAILED once processed


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
        self._base_clock_ns = clock_ns
        self.clock_offset_ns = 0
        self.user_lists: dict[tuple[str, int], UserList] = {}
        self.jobs: dict[str, Job] = {}
        self.dm_requests: dict[str, DmRequest] = {}
        self.requests: list[RecordedRequest] = []
        self._next_id = 1000

    def clock_ns(self) -> int:
        """The emulator's time: the base clock moved by ``advance`` (memberships lapse and jobs finish on it)."""
        return self._base_clock_ns() + self.clock_offset_ns

    def advance(self, seconds: float) -> None:
        """Move the clock forward (tests: a membership life span in days without waiting for it)."""
        if seconds < 0:
            raise ValueError("the emulator clock only moves forward")
        with self.lock:
            self.clock_offset_ns += int(seconds * 10**9)

    def next_id(self) -> int:
        with self.lock:
            self._next_id += 1
            return self._next_id

    def record(self, service: str, method: str, **summary: Any) -> None:
        with self.lock:
            self.requests.append(RecordedRequest(len(self.requests) + 1, service, method, dict(summary)))

    def create_user_list(self, customer_id: str, name: str, **attrs: Any) -> UserList:
        with self.lock:
            user_list = UserList(
                customer_id=customer_id, id=self.next_id(), name=name, clock=self.clock_ns, **attrs
            )
            user_list.size_log.append((self.clock_ns(), 0))  # empty from creation on (not a size change)
            self.user_lists[(customer_id, user_list.id)] = user_list
            return user_list

    def find_list(self, customer_id: str, list_id: int) -> UserList | None:
        """The list with its lapsed memberships dropped (every read and write of a list goes through here)."""
        with self.lock:
            user_list = self.user_lists.get((customer_id, list_id))
            if user_list is not None:
                user_list.expire(self.clock_ns())
            return user_list

    def find_list_by_resource(self, resource_name: str) -> UserList | None:
        match = re.fullmatch(r"customers/(\d+)/userLists/(\d+)", resource_name)
        return self.find_list(match.group(1), int(match.group(2))) if match else None

    def lists_of(self, customer_id: str) -> Iterable[UserList]:
        with self.lock:
            now = self.clock_ns()
            found = [u for (cid, _), u in self.user_lists.items() if cid == customer_id]
            for user_list in found:
                user_list.expire(now)
            return found
