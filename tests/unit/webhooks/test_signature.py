"""X-CIO-Signature: what the key signed passes; any other body, timestamp or key is forged; old is stale."""

from __future__ import annotations

import hashlib
import hmac

from hypothesis import given
from hypothesis import strategies as st

from airflow_provider_cio.webhooks.signature import Verdict, sign, verify

KEY = b"whsec-test-key-0123"
NOW = 1_765_000_000.0


def test_signature_is_hex_hmac_sha256_over_v0_timestamp_body() -> None:
    body = b'{"event_id":"e1"}'
    expected = hmac.new(KEY, b"v0:1765000000:" + body, hashlib.sha256).hexdigest()
    assert sign(KEY, "1765000000", body) == expected
    assert verify(KEY, "1765000000", expected, body, now=NOW) is Verdict.OK
    assert verify(KEY, "1765000000", expected.upper(), body, now=NOW) is Verdict.OK


def test_refusals_by_kind() -> None:
    body = b"{}"
    good = sign(KEY, "1765000000", body)
    assert verify(KEY, "1765000000", None, body, now=NOW) is Verdict.FORGED
    assert verify(KEY, None, good, body, now=NOW) is Verdict.FORGED
    assert verify(b"another-key-xyz", "1765000000", good, body, now=NOW) is Verdict.FORGED
    assert verify(KEY, "1765000000", "zz" + good[2:], body, now=NOW) is Verdict.FORGED
    assert verify(KEY, "1765000000", "é" * 64, body, now=NOW) is Verdict.FORGED
    assert verify(KEY, "17650x0000", good, body, now=NOW) is Verdict.MALFORMED
    old = sign(KEY, "1764999000", body)
    assert verify(KEY, "1764999000", old, body, now=NOW, tolerance=300) is Verdict.STALE
    assert verify(KEY, "1764999000", old, body, now=NOW, tolerance=1200) is Verdict.OK
    future = sign(KEY, "1765000400", body)
    assert verify(KEY, "1765000400", future, body, now=NOW, tolerance=300) is Verdict.STALE


@given(body=st.binary(max_size=512), flip=st.integers(min_value=0, max_value=511), ts=st.integers(0, 10**11))
def test_any_changed_byte_is_forged(body: bytes, flip: int, ts: int) -> None:
    timestamp = str(ts)
    signature = sign(KEY, timestamp, body)
    assert verify(KEY, timestamp, signature, body, now=float(ts)) is Verdict.OK
    if body:
        i = flip % len(body)
        changed = body[:i] + bytes([body[i] ^ 0x01]) + body[i + 1 :]
        assert verify(KEY, timestamp, signature, changed, now=float(ts)) is Verdict.FORGED
    assert verify(KEY, str(ts + 1), signature, body, now=float(ts)) is Verdict.FORGED


@given(timestamp=st.text(max_size=20), signature=st.text(max_size=80), body=st.binary(max_size=64))
def test_garbage_headers_never_pass_and_never_raise(timestamp: str, signature: str, body: bytes) -> None:
    assert verify(KEY, timestamp, signature, body, now=NOW) in {
        Verdict.FORGED,
        Verdict.MALFORMED,
        Verdict.STALE,
    }
