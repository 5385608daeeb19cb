"""Shared helpers for the Google tests (destination, hook, emulator): a customer id, deterministic pre-hashed
members, and a TLS Google emulator per test."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

from airflow_provider_cio.sync.destination import Member

if TYPE_CHECKING:
    from cio_devkit.emulators.google.server import GoogleEmulator

CUSTOMER = "1234567890"


def sha(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def member(i: int, *, consent: bool = True, phone: bool = False, address: bool = False) -> Member:
    ids: dict[str, tuple[str, ...]] = {"email": (sha(f"user{i}@example.com"),)}
    if phone:
        ids["phone"] = (sha(f"+1650555{i:04d}"),)
    if address:
        ids.update(first_name=(sha("ana"),), last_name=(sha(f"doe{i}"),), country=("us",), zip=("94043",))
    return Member(customer_id=f"c{i}", identifiers=ids, consent=consent)


def email_key(i: int) -> str:
    return "email:" + sha(f"user{i}@example.com")


def emails_in(members: set[frozenset[str]]) -> set[str]:
    return {k for m in members for k in m if k.startswith("email:")}


def google_emulator() -> Iterator[GoogleEmulator]:
    """A TLS Google emulator (state isolated), trusted by default TLS channels in this process: a fixture's body."""
    from cio_devkit.emulators.google.server import GoogleEmulator

    emu = GoogleEmulator(tls=True).start()
    emu.trust()  # before the first default TLS channel in this process (see emulators/google/certs.py)
    try:
        yield emu
    finally:
        emu.stop()
