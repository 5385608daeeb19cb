"""Test data shared by the unit tests (tests/unit/destinations/meta, tests/unit/sync, ...): the Meta emulator's
credentials and members (raw values exist only to prove they never leak)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from airflow_provider_cio.sync import Member

TOKEN = "test-token-7f3a"
SECRET = "test-app-secret"
ACCOUNT = "act_4242"


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def raw_email(i: int) -> str:
    return f"person{i}@example.com"


def raw_phone(i: int) -> str:
    return f"1555{i:07d}"


def make_members(ids: Iterable[int], *, email_salt: str = "") -> list[Member]:
    """Members as the identity step hands them over: normalized, SHA-256 hex."""
    return [
        Member(f"cust-{i:06d}", {"email": (sha(raw_email(i) + email_salt),), "phone": (sha(raw_phone(i)),)})
        for i in ids
    ]
