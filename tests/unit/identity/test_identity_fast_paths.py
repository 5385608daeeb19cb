"""The fast column paths (Arrow kernels for Meta emails, worker processes for big columns) change nothing.

Oracle: the scalar API (``normalize_with_reason``, ``hash_identifier``), which runs each platform's rule on one value
in plain Python, the path the column functions took before they had fast paths. Inputs are generated (Hypothesis):
emails with Unicode, dots, plus tags, case, every kind of whitespace, gmail/googlemail, punycode, malformed shapes;
phones in many formats; empty, null and invalid values. Kept values must be byte-identical and rejected rows rejected
for the same reason and counted the same. The pool tests force small inputs through a real worker process.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterator
from typing import Any

import numpy as np
import pyarrow.compute  # noqa: F401  (loaded, as in a task that read Parquet: the Arrow email path is used)
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airflow_provider_cio.identity import (
    hash_column,
    hash_identifier,
    normalize_column,
    normalize_with_reason,
    prepare,
    prepare_column,
)
from airflow_provider_cio.identity import pool as identity_pool
from airflow_provider_cio.identity.column import run_chunk
from airflow_provider_cio.identity.email import normalize_email_meta
from airflow_provider_cio.identity.email_arrow import meta_common_emails

PROPERTY = settings(
    max_examples=200,
    derandomize=True,  # the same examples every run: no flaky CI
    deadline=None,  # no timing assertions: the machine is shared
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# Python's str.strip() and the email pattern's \s differ from RE2's and Arrow's idea of whitespace on exactly these.
SPACES = [
    "",
    " ",
    "  ",
    "\t",
    "\n",
    "\r\n",
    "\x0b",
    "\x0c",
    "\x1c",
    "\x1f",
    "\x85",
    "\xa0",
    "\u2003",
    "\u3000",
    "\u200b",
]
LOCAL_CHARS = list("abcxyzABCXYZ0189._+-'") + ["é", "İ", "ß", "Σ", "李", "\u0301", "\x00", " ", "\t", "\x1c"]
DOMAINS = [
    "gmail.com",
    "GMail.COM",
    "googlemail.com",
    "GoogleMail.com",
    "example.org",
    "Example.co.uk",
    "web.de",
    "a.b",
    "xn--exmple-cua.com",
    "XN--EXMPLE-CUA.COM",
    "xn--broken-.com",
    "xn--.com",
    "exämple.com",
    "ＥＸＡＭＰＬＥ．ＣＯＭ",
    "example\u3002com",
    "nodot",
    "x..com",
    ".com",
    "com.",
    "ex ample.com",
    "",
]
ATS = ["@", "@", "@", "@@", "", "＠", " @ "]


@st.composite
def emails(draw: st.DrawFn) -> str:
    local = draw(st.text(alphabet=st.sampled_from(LOCAL_CHARS), max_size=12))
    raw = local + draw(st.sampled_from(ATS)) + draw(st.sampled_from(DOMAINS))
    return draw(st.sampled_from(SPACES)) + raw + draw(st.sampled_from(SPACES))


@st.composite
def phones(draw: st.DrawFn) -> str:
    digits = draw(st.text(alphabet="0123456789", min_size=0, max_size=16))
    groups = [digits[i : i + draw(st.integers(2, 4))] for i in range(0, len(digits), 3)]
    separator = draw(st.sampled_from([" ", "-", ".", "", "/", "\u2013", "\u00a0"]))
    prefix = draw(
        st.sampled_from(["", "+", "+1 ", "00", "001 ", "+44 (0)", "(0", "\uff0b", "+0", "+999 ", "1-"])
    )
    suffix = draw(st.sampled_from(["", "", " ext 12", "x", " "]))
    return draw(st.sampled_from(SPACES)) + prefix + separator.join(groups) + suffix


text_values = st.one_of(emails(), phones(), st.text(max_size=30), st.just(""))
column_values = st.lists(st.one_of(text_values, st.none()), max_size=40)
CASES = [
    ("meta", "email", None),
    ("google", "email", None),
    ("meta", "phone", "US"),
    ("google", "phone", "GB"),
    ("meta", "phone", None),
]


def _oracle(case: tuple[str, str, str | None], values: list[object]) -> tuple[list[str | None], Counter[str]]:
    platform, kind, default = case
    pairs = [normalize_with_reason(kind, v, platform=platform, default_country=default) for v in values]
    return [value for value, _ in pairs], Counter(reason for _, reason in pairs if reason is not None)


def _check_against_oracle(case: tuple[str, str, str | None], values: list[object]) -> None:
    platform, kind, default = case
    expected, reasons = _oracle(case, values)
    normalized = normalize_column(kind, values, platform=platform, default_country=default)
    assert normalized.values == expected
    assert Counter(normalized.reasons) == reasons
    hashed = hash_column(kind, values, platform=platform, default_country=default)
    assert hashed.values == [
        hash_identifier(kind, v, platform=platform, default_country=default) for v in values
    ]
    assert hashed.values == [None if e is None else hashlib.sha256(e.encode()).hexdigest() for e in expected]
    assert Counter(hashed.reasons) == reasons
    prepared = prepare_column(kind, values, platform=platform, default_country=default)
    assert prepared.values == [prepare(kind, v, platform=platform, default_country=default) for v in values]


# ---- the Arrow path for Meta emails ------------------------------------------------------------------------------


@PROPERTY
@given(values=st.lists(st.one_of(emails(), st.none(), st.text(max_size=20)), max_size=40))
def test_arrow_email_path_is_the_per_value_rule(values: list[str | None]) -> None:
    common = meta_common_emails(list(values))
    assert common is not None and len(common) == len(values)
    for value, fast in zip(values, common, strict=True):
        if fast is not None:  # taken: exactly what the per-value rule keeps
            assert value is not None
            assert fast == normalize_email_meta(value).encode()  # type: ignore[union-attr]
    _check_against_oracle(("meta", "email", None), list(values))


@PROPERTY
@given(
    local=st.text(alphabet="abcdefghij0123456789._+-", min_size=1, max_size=15).filter(
        lambda s: "xn--" not in s
    ),
    domain=st.sampled_from(["gmail.com", "Example.ORG", "hotmail.co.uk"]),
    pad=st.sampled_from(["", " ", "\t", "\x1c"]),
)
def test_plain_ascii_addresses_take_the_arrow_path(local: str, domain: str, pad: str) -> None:
    value = f"{pad}{local.upper()}@{domain}{pad}"
    assert meta_common_emails([value]) == [f"{local}@{domain}".lower().encode()]


def test_columns_with_other_types_go_value_by_value() -> None:
    assert meta_common_emails(["a@b.co", b"a@b.co"]) is None  # Arrow would read the bytes as text
    assert meta_common_emails(["a@b.co", 7]) is None
    assert meta_common_emails([np.str_("a@b.co")]) is None
    values: list[object] = ["A@B.co", b"a@b.co", 7, np.str_(" A@B.co "), float("nan"), None, "bad@"]
    _check_against_oracle(("meta", "email", None), values)


@PROPERTY
@given(case=st.sampled_from(CASES), values=column_values)
def test_column_paths_match_the_scalar_rules(case: tuple[str, str, str | None], values: list[object]) -> None:
    _check_against_oracle(case, values)


# ---- the worker pool -----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def forced_pool() -> Iterator[None]:
    """Every column through the pool in chunks of 5, with one real worker process; stopped afterwards."""
    patch = pytest.MonkeyPatch()
    patch.setattr(identity_pool, "MIN_VALUES", 1)
    patch.setattr(identity_pool, "CHUNK", 5)
    patch.setenv(identity_pool.WORKERS_ENV, "1")
    identity_pool.shutdown()
    yield
    identity_pool.shutdown()
    patch.undo()


@pytest.mark.usefixtures("forced_pool")
@pytest.mark.parametrize(
    "chunk",
    [
        ["A@Example.com", " bad@ ", "+1 650 555 1212", ""],
        ["A@Example.com", None, "x@y.z", None],
        ["a\x00b@c.de", "joined\x00on@nul.com", "ok@ok.ok"],  # the separator inside a value
        ["a@b.co", 12345678, 3.5, b"a@b.co"],  # not all text: the list is pickled as it is
    ],
)
@pytest.mark.parametrize(
    "task", [("email", "meta", None, True), ("email", "google", None, False), ("phone", "google", "US", True)]
)
def test_a_worker_gives_the_callers_answer_for_a_chunk(task: identity_pool.Task, chunk: list[object]) -> None:
    executor = identity_pool._pool()
    assert executor is not None
    returned = executor.submit(identity_pool._remote, task, identity_pool._pack(chunk)).result()
    received = identity_pool._received(returned)
    if any(isinstance(v, str) and "\x00" in v for v in chunk):
        assert received is None  # the caller computes this chunk itself
    else:
        assert received == run_chunk(task, chunk)


@pytest.mark.usefixtures("forced_pool")
@PROPERTY
@given(case=st.sampled_from(CASES), values=column_values)
def test_pool_and_one_core_give_identical_results(
    case: tuple[str, str, str | None], values: list[object]
) -> None:
    _check_against_oracle(case, values)


@pytest.mark.usefixtures("forced_pool")
def test_a_value_that_cannot_be_pickled_is_computed_here() -> None:
    values: list[object] = ["a@b.co"] * 7 + [lambda: None] + ["+44 20 7946 0018", None, "x@y.zz"] * 3
    for case in CASES:
        _check_against_oracle(case, values)
    assert identity_pool._pool() is not None  # a chunk that could not travel does not break the pool


def _hash_in_forked_child(values: list[object], queue: Any) -> None:
    queue.put(hash_column("phone", values, platform="google", default_country="US").values)


@pytest.mark.usefixtures("forced_pool")
def test_a_forked_child_starts_its_own_pool() -> None:
    """An executor that forks per task after the parent hashed: the child must not use the parent's workers."""
    import multiprocessing

    values: list[object] = [f"+1 650 253 {i:04d}" for i in range(40)]
    expected = [hash_identifier("phone", v, platform="google", default_country="US") for v in values]
    assert hash_column("phone", values, platform="google", default_country="US").values == expected
    assert identity_pool.started()  # the parent's pool is running
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_hash_in_forked_child, args=(values, queue))
    child.start()
    got = queue.get(timeout=60)
    child.join(timeout=60)
    assert child.exitcode == 0
    assert got == expected


@pytest.mark.parametrize(
    ("load", "configured", "idle"),
    [(0.3, "", True), (1.4, "", True), (1.6, "", False), (5.0, "", False), (5.0, "1", True)],
)
def test_the_pool_waits_for_an_idle_core_unless_configured(
    monkeypatch: pytest.MonkeyPatch, load: float, configured: str, idle: bool
) -> None:
    """Two cores: a 1-minute load under 1.5 leaves one for a worker; an explicit worker count skips the check."""
    monkeypatch.setattr(identity_pool.os, "getloadavg", lambda: (load, load, load))
    monkeypatch.setattr(identity_pool.os, "sched_getaffinity", lambda _pid: {0, 1})
    monkeypatch.setenv(identity_pool.WORKERS_ENV, configured)
    assert identity_pool.a_core_is_idle() is idle
