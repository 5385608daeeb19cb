"""Generated input for the Data Manager path: our identifier rules, the emulator's hash decoding, and the promise
that what our destination sends is never refused as a whole request (a bad member is left out by index instead)."""

from __future__ import annotations

import base64
import hashlib
import string
from collections.abc import Iterator

import pytest
from dm_support import Clock, destination
from google_support import CUSTOMER
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airflow_provider_cio.destinations.google.identifiers import CONSENT_NOT_GRANTED, extract
from airflow_provider_cio.sync.destination import Member
from cio_devkit.emulators.google.datamanager_service import _hashed_key
from cio_devkit.emulators.google.server import GoogleEmulator
from cio_devkit.emulators.google.settings import EmulatorSettings

HEX64 = st.binary(min_size=32, max_size=32).map(lambda b: hashlib.sha256(b).hexdigest())
JUNK = st.text(alphabet=string.printable + "éß\u00a0", max_size=70)
VALUE = st.one_of(HEX64, HEX64.map(str.upper), HEX64.map(lambda h: f"  {h} "), JUNK, st.just(""))
KINDS = ("email", "phone", "first_name", "last_name", "country", "zip", "city")
IDENTIFIERS = st.dictionaries(
    st.sampled_from(KINDS), st.lists(VALUE, max_size=12).map(tuple), max_size=len(KINDS)
)
MEMBERS = st.builds(Member, customer_id=st.text(max_size=5), identifiers=IDENTIFIERS, consent=st.booleans())


def _malformed(values: tuple[str, ...]) -> bool:
    return any(v.strip() and len(v.strip()) != 64 for v in values) or any(
        v.strip() and any(c not in string.hexdigits for c in v.strip()) for v in values
    )


@given(MEMBERS, st.integers(min_value=1, max_value=20))
def test_extract_sends_only_well_formed_hashes_within_the_cap(member: Member, cap: int) -> None:
    ids, problem = extract(member, max_identifiers=cap)
    hashed = [
        tuple(member.identifiers.get(kind, ())) for kind in ("email", "phone", "first_name", "last_name")
    ]
    if any(_malformed(values) for values in hashed):
        assert ids is None and problem == "INVALID_SHA256_FORMAT"
        return
    if ids is None:
        assert problem == "NO_IDENTIFIERS"
        assert not any(
            v.strip() for v in member.identifiers.get("email", ()) + member.identifiers.get("phone", ())
        )
        return
    assert problem is None and 1 <= ids.count() <= cap
    for value in ids.emails + ids.phones:
        assert len(value) == 64 and set(value) <= set("0123456789abcdef")
    assert len(set(ids.emails)) == len(ids.emails) and len(set(ids.phones)) == len(ids.phones)
    if ids.address is not None:
        assert len(ids.address.region_code) == 2 and ids.address.region_code.isupper()
        assert ids.address.postal_code == ids.address.postal_code.strip() != ""


@given(st.binary(min_size=32, max_size=32))
def test_the_emulator_reads_one_digest_alike_in_hex_and_base64(digest: bytes) -> None:
    assert _hashed_key(digest.hex(), 1) == (digest.hex(), None)
    assert _hashed_key(base64.b64encode(digest).decode(), 2) == (digest.hex(), None)


@given(st.text(max_size=80), st.sampled_from([1, 2]))
def test_the_emulator_refuses_anything_but_a_sha256_in_the_declared_encoding(
    value: str, encoding: int
) -> None:
    key, problem = _hashed_key(value, encoding)
    if problem is None:
        assert len(key) == 64 and set(key) <= set("0123456789abcdef")
    else:
        assert key == "" and problem in {
            "INVALID_HEX_ENCODING",
            "INVALID_BASE64_ENCODING",
            "INVALID_SHA256_FORMAT",
        }


@pytest.fixture(scope="module")
def shared() -> Iterator[tuple[GoogleEmulator, Clock]]:
    clock = Clock()
    emu = GoogleEmulator(
        tls=True, settings=EmulatorSettings(dm_processing_seconds=60), clock_ns=clock
    ).start()
    try:
        yield emu, clock
    finally:
        emu.stop()


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(MEMBERS, min_size=1, max_size=15))
def test_a_generated_batch_is_never_refused_whole_and_every_member_is_sent_or_counted(
    shared: tuple[GoogleEmulator, Clock], batch: list[Member]
) -> None:
    emulator, clock = shared
    list_id = emulator.create_user_list(CUSTOMER, "generated")
    dest = destination(emulator, clock, list_id, user_list_ids={"generated": str(list_id)})
    session = dest.open_session(str(list_id), "add", total_members=len(batch))
    result = dest.send_batch(
        str(list_id), session, batch, seq=1, last=True
    )  # raises if the emulator refuses it
    assert result.received + len(result.failed_indexes) == len(batch)
    assert sum(result.failure_reasons.values()) == len(result.failed_indexes)
    for index in result.failed_indexes:
        assert not batch[index].consent or extract(batch[index], max_identifiers=10)[0] is None
    assert result.failure_reasons.get(CONSENT_NOT_GRANTED, 0) == sum(not m.consent for m in batch)
    stats = dest.close_session(str(list_id), session)
    assert "failed_seqs" not in stats
