"""Benchmark ``identity_hash``: normalize + SHA-256 a mix of real-world identifiers for Meta.

Mix: 40% emails (mixed case, stray spaces, gmail dots, a few malformed), 30% phones in the shapes people type
(``+CC`` with spaces/dashes/parentheses, ``(0)`` trunk markers, ``00`` prefixes, national numbers under a default
country, a few placeholders), 30% first/last names with some Unicode.

Variants, each in fresh child processes, alternating:
- ``ours``: ``hash_column_arrow`` per column, the path the product takes (``audiences/identifiers.py``: the raw values
  arrive as an Arrow column out of the audience engine's DuckDB query and the hashes and drop reasons go back into it
  as Arrow columns). Emails and phones: the common shapes normalized (emails in DuckDB, phones in numpy threads:
  ``identity/vector.py``, ``identity/phone_numbers.py``) and hashed in DuckDB (its default threads, one per core),
  every other row by the per-value rule; names: once per distinct value. ``extra.seconds_by_column`` splits ours'
  time by column.
  Left out of the time, as bench_landing does (a worker pays them once): the child's imports (pyarrow, duckdb, our
  modules; ``extra.import_seconds``) and building the Arrow columns from the generated Python lists
  (``extra.to_arrow_seconds``: the product never has them as lists). Everything else is in: the DuckDB database's
  opening, the queries, the Python fallback, the per-row reasons. ``extra.list_api_seconds`` times the list API
  (``hash_column``: Python lists in, Python lists out) on the same columns in the same child, after the timed part;
- ``sdk_format_params``: facebook-business ``CustomAudience.format_params`` over the same values, as a user of
  ``add_users`` would call it: one single-key multi-key schema per column (``["EMAIL"]``, ``["PHONE"]``, ``["FN"]``,
  ``["LN"]``, the form in which the SDK normalizes) with ``is_raw=True``, 10,000 rows per call (Meta's batch size);
- ``hashlib_ceiling``: bare ``hashlib.sha256(s.encode()).hexdigest()`` over the already-normalized strings.

``extra.wrong_on_labelled`` counts, on a labelled subset whose right answer the generator knows independently of our
code, how many values a variant gets wrong (for the SDK: a hash that differs from the hash of the right normalized
value, or any hash where the right answer is "drop"); ours is checked on the hashes of the whole-column run, so on the
vectorised path. ``extra.vectorised_share``: the share of the mix's identifiers the vectorised path decided (the rest
went to Python).
"""

from __future__ import annotations

import hashlib
import os
import random
import statistics
import sys
import time
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from bench.common import alternate, check_setup, record, run_in_child

BENCHMARK = "identity_hash"
UNIT = "identifiers/s"
SDK_BATCH = 10_000
LABELLED_PER_COLUMN = 5_000

_FIRST = [
    "John",
    "Mary",
    "José",
    "Zoë",
    "François",
    "Müller",
    "Ana",
    "María",
    "Søren",
    "Ólafur",
    "Łukasz",
    "Çelik",
    "Ines",
    "Noël",
    "Björn",
    "Anne-Marie",
    "Mary",
    "Ann",
    "Jean-Luc",
    "Chloé",
    "Renée",
    "André",
    "Sébastien",
    "Jürgen",
    "Åsa",
    "Ðorđe",
    "Mateo",
    "Olivia",
    "Liam",
    "Emma",
    "Noah",
    "Ava",
    "Sophia",
    "Lucas",
    "Mia",
    "Ethan",
    "Amelia",
    "Hiroshi",
    "Yuki",
    "Priya",
    "Arjun",
    "Fatima",
    "Omar",
    "Wei",
    "Mei",
    "Dmitri",
    "Olga",
]
_FIRST_NON_LATIN = ("李", "王芳", "さくら", "Дмитрий", "Αλέξανδρος", "محمد", "민준")
_LAST = [
    "Smith",
    "Johnson",
    "O'Brien",
    "García",
    "Martínez",
    "Müller",
    "Schmidt",
    "Dubois",
    "Lefèvre",
    "Rossi",
    "Bianchi",
    "Jensen",
    "Nielsen",
    "Kowalski",
    "Nowak",
    "Svensson",
    "Øberg",
    "Brown",
    "Williams",
    "Jones",
    "Miller",
    "Davis",
    "Wilson",
    "Anderson",
    "Taylor",
    "Thomas",
    "Moore",
    "Martin",
    "Jackson",
    "Thompson",
    "White",
    "Harris",
    "Clark",
    "Lewis",
    "Robinson",
    "Walker",
    "Young",
    "Allen",
    "King",
    "Wright",
    "Scott",
    "Torres",
    "Nguyen",
    "Hill",
    "Flores",
    "Green",
    "Adams",
    "Nelson",
    "Baker",
    "Hall",
    "Rivera",
    "Campbell",
    "Mitchell",
    "Carter",
    "Roberts",
    "Gómez",
    "Pérez",
    "Sánchez",
    "Ramírez",
    "Ó'Connor",
]
_LAST_NON_LATIN = ("张", "田中", "Иванов", "Παπαδόπουλος", "김")
_DOMAINS = ("gmail.com", "yahoo.com", "outlook.com", "hotmail.co.uk", "example.org", "web.de", "orange.fr")


@dataclass
class Column:
    """One column to hash: the SDK key, our kind, the default country, raw values and the known right answers."""

    key: str
    kind: str
    default_country: str | None
    values: list[str] = field(default_factory=list)
    expected: list[str | None] = field(
        default_factory=list
    )  # labelled subset: first LABELLED_PER_COLUMN values


def _canonical_name(name: str) -> str:
    """Independent statement of Meta's name rule: NFC, lowercase, letters of any script only."""
    return "".join(ch for ch in unicodedata.normalize("NFC", name).lower() if ch.isalpha())


def _messy_case(rng: random.Random, s: str) -> str:
    roll = rng.random()
    if roll < 0.3:
        return s.upper()
    if roll < 0.6:
        return s.title()
    return s


def _pad(rng: random.Random, s: str) -> str:
    return f"  {s} " if rng.random() < 0.2 else s


def _email(rng: random.Random, i: int) -> tuple[str, str | None]:
    roll = rng.random()
    if roll < 0.01:
        return rng.choice(
            (f"user{i}@", f"user {i}@example.org", f"user{i}.example.org", f"u{i}@@x.com")
        ), None
    if roll < 0.02:
        return "", None
    first = unicodedata.normalize("NFKD", rng.choice(_FIRST)).encode("ascii", "ignore").decode().lower()
    last = unicodedata.normalize("NFKD", rng.choice(_LAST)).encode("ascii", "ignore").decode().lower()
    last = last.replace("'", "")
    local = f"{first}.{last}{i}" if rng.random() < 0.6 else f"{first}_{last}{i}"
    domain = rng.choice(_DOMAINS)
    canonical = f"{local}@{domain}"
    return _pad(rng, _messy_case(rng, canonical)), canonical


def _us_number(rng: random.Random) -> str:
    return f"{rng.randint(2, 9)}{rng.randint(0, 99):02d}{rng.randint(2, 9)}{rng.randint(0, 99):02d}{rng.randint(0, 9999):04d}"


def _phone(rng: random.Random, default_country: str) -> tuple[str, str | None]:
    roll = rng.random()
    if roll < 0.01:
        return rng.choice(("+0000000000", "000-000-0000", "+1 111 111 1111", "1234567890")), None
    if default_country == "US" and roll < 0.55 or default_country == "GB" and roll < 0.25:
        n = _us_number(rng)
        a, e, line = n[:3], n[3:6], n[6:]
        shape = rng.choice(
            (
                f"+1 ({a}) {e}-{line}",
                f"+1-{a}-{e}-{line}",
                f"+1{a}{e}{line}",
                f"001 {a} {e} {line}",
                *(
                    (f"({a}) {e}-{line}", f"{a}.{e}.{line}", f"1-{a}-{e}-{line}")
                    if default_country == "US"
                    else ()
                ),
            )
        )
        return shape, "1" + n
    country = rng.choice(("GB", "DE", "FR"))
    if country == "GB":
        area = rng.choice(("20", "161", "131", "117", "7700", "7911"))
        rest_len = 10 - len(area)
        rest = "".join(str(rng.randint(0, 9)) for _ in range(rest_len))
        nsn = area + rest
        shapes = [f"+44 {area} {rest[:4]} {rest[4:]}", f"+44 (0){area} {rest}", f"0044 {area} {rest}"]
        if default_country == "GB":
            shapes += [f"0{area} {rest[:4]} {rest[4:]}", f"(0{area}) {rest}"]
        return rng.choice(shapes), "44" + nsn
    if country == "DE":
        area = rng.choice(("30", "40", "89", "221", "151"))
        rest = "".join(str(rng.randint(0, 9)) for _ in range(11 - len(area)))
        return rng.choice(
            (f"+49 {area} {rest}", f"+49 (0){area} {rest}", f"0049-{area}-{rest}")
        ), "49" + area + rest
    digits = f"{rng.randint(1, 9)}" + "".join(str(rng.randint(0, 9)) for _ in range(8))
    pairs = " ".join(digits[i : i + 2] for i in range(1, 9, 2))
    return rng.choice((f"+33 {digits[0]} {pairs}", f"+33 (0){digits[0]} {pairs}")), "33" + digits


def _name(rng: random.Random, pool: tuple[str, ...], non_latin: tuple[str, ...]) -> tuple[str, str | None]:
    if rng.random() < 0.01:
        return rng.choice(("", "  ", "-", ".")), None
    name = rng.choice(non_latin) if rng.random() < 0.08 else rng.choice(pool)
    if rng.random() < 0.05:
        name = unicodedata.normalize("NFD", name)  # the same name typed with combining accents
    return _pad(rng, _messy_case(rng, name)), _canonical_name(name) or None


def make_columns(n: int, seed: int = 20261201) -> list[Column]:
    """Deterministic data: 40% emails, 30% phones (70% of them in a US-default column, 30% GB), 30% names."""
    rng = random.Random(seed)
    n_email, n_phone = int(n * 0.4), int(n * 0.3)
    n_us = int(n_phone * 0.7)
    n_first = (n - n_email - n_phone) // 2
    n_last = n - n_email - n_phone - n_first
    email = Column("EMAIL", "email", None)
    phone_us = Column("PHONE", "phone", "US")
    phone_gb = Column("PHONE", "phone", "GB")
    first = Column("FN", "first_name", None)
    last = Column("LN", "last_name", None)
    plan = [
        (email, n_email, lambda i: _email(rng, i)),
        (phone_us, n_us, lambda i: _phone(rng, "US")),
        (phone_gb, n_phone - n_us, lambda i: _phone(rng, "GB")),
        (first, n_first, lambda i: _name(rng, tuple(_FIRST), _FIRST_NON_LATIN)),
        (last, n_last, lambda i: _name(rng, tuple(_LAST), _LAST_NON_LATIN)),
    ]
    for column, count, make in plan:
        for i in range(count):
            raw, right = make(i)
            column.values.append(raw)
            if i < LABELLED_PER_COLUMN:
                column.expected.append(right)
    return columns_checked([email, phone_us, phone_gb, first, last], n)


def columns_checked(columns: list[Column], n: int) -> list[Column]:
    assert sum(len(c.values) for c in columns) == n
    return columns


# ---- the timed variants (module level: they run in spawned children) -------------------------------------------


def own_peak_rss_mb() -> float | None:
    """This process's own peak RSS (VmHWM, reset at exec). ``ru_maxrss`` in a spawned child also counts the pages
    it shared with the parent at fork time, so with a large parent it reports the parent's size instead."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024.0, 1)
    except OSError:
        return None
    return None


def run_ours(columns: list[Column]) -> dict[str, Any]:
    """The timed part is ``hash_column_arrow`` over every column; imports and the Arrow columns are set up first."""
    start = time.perf_counter()
    import duckdb  # noqa: F401  the modules the product has loaded when it hashes: imports, left out of the time
    import pandas  # noqa: F401  pyarrow imports it on its first conversion of Python objects (about 1 s here)
    import pyarrow as pa
    import pyarrow.compute  # noqa: F401

    from airflow_provider_cio.identity import (
        hash_column,
        hash_column_arrow,
        vector,  # noqa: F401
    )

    imported = time.perf_counter()
    arrays = [pa.array(column.values, pa.string()) for column in columns]
    converted = time.perf_counter()
    kept = 0
    reasons: dict[str, int] = {}
    by_column: dict[str, float] = {}
    for column, array in zip(columns, arrays, strict=True):
        began = time.perf_counter()
        result = hash_column_arrow(
            column.kind, array, platform="meta", default_country=column.default_country
        )
        name = f"{column.key} {column.default_country or ''}".strip()
        by_column[name] = round(time.perf_counter() - began, 3)
        kept += len(result.values) - result.values.null_count
        for reason, count in result.reason_counts().items():
            reasons[reason] = reasons.get(reason, 0) + count
    hashed = time.perf_counter()
    for column in columns:
        hash_column(column.kind, column.values, platform="meta", default_country=column.default_country)
    listed = time.perf_counter()
    return {
        "hash_seconds": hashed - converted,
        "import_seconds": round(imported - start, 2),
        "to_arrow_seconds": round(converted - imported, 2),
        "list_api_seconds": round(listed - hashed, 2),
        "seconds_by_column": by_column,
        "hashed": kept,
        "dropped_by_reason": reasons,
        "child_vm_hwm_mb": own_peak_rss_mb(),
    }


def _timed(sample: dict[str, Any]) -> dict[str, Any]:
    """Ours' figure is the hashing itself; what else the child did is in ``extra`` (see the module docstring)."""
    sample["seconds"] = sample["extra"].pop("hash_seconds")
    return sample


def run_sdk(columns: list[Column]) -> dict[str, Any]:
    from facebook_business.adobjects.customaudience import CustomAudience

    hashed = 0
    for column in columns:
        values = column.values
        for start in range(0, len(values), SDK_BATCH):
            rows = [[v] for v in values[start : start + SDK_BATCH]]
            params = CustomAudience.format_params([column.key], rows, is_raw=True)
            hashed += len(params["payload"]["data"])
    return {"hashed": hashed, "child_vm_hwm_mb": own_peak_rss_mb()}


def run_ceiling(normalized: list[str]) -> dict[str, Any]:
    sha256 = hashlib.sha256
    digests = [sha256(s.encode()).hexdigest() for s in normalized]
    return {"hashed": len(digests), "child_vm_hwm_mb": own_peak_rss_mb()}


# ---- correctness on the labelled subset (untimed, in the parent) ------------------------------------------------


def wrong_ours(columns: list[Column]) -> int:
    """Wrong answers of the whole-column run (the DuckDB path) on each column's labelled head."""
    import pyarrow as pa

    from airflow_provider_cio.identity import hash_column_arrow

    wrong = 0
    for column in columns:
        got = hash_column_arrow(
            column.kind,
            pa.array(column.values, pa.string()),
            platform="meta",
            default_country=column.default_country,
        ).values.to_pylist()[: len(column.expected)]
        right = [None if e is None else hashlib.sha256(e.encode()).hexdigest() for e in column.expected]
        wrong += sum(1 for g, e in zip(got, right, strict=True) if g != e)
    return wrong


def check_correct(case: str, wrong: int, labelled: int) -> None:
    """Ours must hash every labelled value right before it is timed: a faster wrong answer is not a result (the
    SDK's wrong answers are the point of its row, recorded, not refused)."""
    check_setup(
        f"identity_hash {case} ours",
        [f"{wrong} of {labelled} labelled values hashed wrong"] if wrong else [],
    )


def vectorised_share(columns: list[Column]) -> float:
    """Share of all identifiers whose answer DuckDB decided (emails and phones of the common shapes)."""
    import pyarrow as pa

    from airflow_provider_cio.identity.vector import run_common

    decided = 0
    for column in columns:
        if column.kind in ("email", "phone"):
            out = run_common(
                column.kind, "meta", column.default_country, False, pa.array(column.values, pa.string())
            )
            decided += len(out) - out.null_count
    return decided / sum(len(c.values) for c in columns)


def wrong_sdk(columns: list[Column]) -> int:
    from facebook_business.adobjects.customaudience import CustomAudience

    wrong = 0
    for column in columns:
        subset = column.values[: len(column.expected)]
        data = CustomAudience.format_params([column.key], [[v] for v in subset], is_raw=True)["payload"][
            "data"
        ]
        for (got,), right in zip(data, column.expected, strict=True):
            if right is None or got != hashlib.sha256(right.encode()).hexdigest():
                wrong += 1
    return wrong


def reference_normalized(columns: list[Column]) -> list[str]:
    from airflow_provider_cio.identity import normalize_column

    out: list[str] = []
    for column in columns:
        result = normalize_column(
            column.kind, column.values, platform="meta", default_country=column.default_country
        )
        out.extend(v for v in result.values if v is not None)
    return out


def run(quick: bool) -> list[dict[str, Any]]:
    n = 200_000 if quick else 5_000_000
    runs = 5  # issue 21: at least five alternating runs per variant
    case = "200k" if quick else "5M"
    columns = make_columns(n)
    normalized = reference_normalized(columns)
    labelled = sum(len(c.expected) for c in columns)
    wrong = {"ours": wrong_ours(columns), "sdk_format_params": wrong_sdk(columns)}
    check_correct(case, wrong["ours"], labelled)
    share = vectorised_share(columns)

    loads: list[float] = []

    def sampled(call: Any) -> Any:
        """The 1-minute load average before each run: the machine is shared, and the ratio depends on it."""

        def run_one() -> dict[str, Any]:
            loads.append(os.getloadavg()[0])
            return call()  # type: ignore[no-any-return]

        return run_one

    samples = alternate(
        {
            "ours": sampled(lambda: _timed(run_in_child(run_ours, columns))),
            "sdk_format_params": sampled(lambda: run_in_child(run_sdk, columns)),
            "hashlib_ceiling": sampled(lambda: run_in_child(run_ceiling, normalized)),
        },
        runs,
    )
    load = f"{min(loads):.1f}-{max(loads):.1f}"
    mix = {"emails": 0.4, "phones": 0.3, "names": 0.3, "platform": "meta"}
    records = [
        record(
            BENCHMARK,
            case,
            "ours",
            baseline=False,
            unit=UNIT,
            samples=samples["ours"],
            work=n,
            extra={
                "labelled": labelled,
                "wrong_on_labelled": wrong["ours"],
                "mix": mix,
                "target": ">= 5x sdk_format_params and >= 1.0x hashlib_ceiling",
                "load_avg_1min": load,
                "vectorised_share": round(share, 4),
            },
        ),
        record(
            BENCHMARK,
            case,
            "sdk_format_params",
            baseline=True,
            unit=UNIT,
            samples=samples["sdk_format_params"],
            work=n,
            extra={"labelled": labelled, "wrong_on_labelled": wrong["sdk_format_params"], "mix": mix},
        ),
        record(
            BENCHMARK,
            case,
            "hashlib_ceiling",
            baseline=True,
            unit=UNIT,
            samples=samples["hashlib_ceiling"],
            work=len(normalized),
            extra={"note": "hash only, over already-normalized strings; normalizes nothing"},
        ),
    ]
    ratio = records[0]["value"] / records[1]["value"]
    ceiling = records[0]["value"] / records[2]["value"]
    records[0]["extra"]["ratio_vs_sdk"] = round(ratio, 2)
    records[0]["extra"]["ratio_vs_hashlib_ceiling"] = round(ceiling, 2)
    records[0]["extra"]["target_met"] = ratio >= 5.0 and ceiling >= 1.0
    # the list API (Python lists in and out), timed in the same children after the Arrow run: median over the runs
    list_seconds = statistics.median(sample["extra"]["list_api_seconds"] for sample in samples["ours"])
    records[0]["extra"]["list_api_median_seconds"] = list_seconds
    records[0]["extra"]["list_api_ratio_vs_hashlib_ceiling"] = round(
        n / list_seconds / records[2]["value"], 2
    )
    records[0]["extra"]["list_api_ratio_vs_sdk"] = round(n / list_seconds / records[1]["value"], 2)
    records[0]["extra"]["note"] = _note(records, samples, load, share)
    return records


def _note(
    records: list[dict[str, Any]], samples: dict[str, list[dict[str, Any]]], load: str, share: float
) -> str:
    """What the figures mean: the conditions, what ours' time holds, where it goes, and the list API beside it."""
    ours = samples["ours"]
    extra = records[0]["extra"]
    columns = ours[0]["extra"]["seconds_by_column"]
    by_column = ", ".join(
        f"{name} {statistics.median(s['extra']['seconds_by_column'][name] for s in ours):.2f} s"
        for name in columns
    )
    return (
        f"{len(ours)} alternating runs per variant; 1-minute load average {load} before the runs (it counts all "
        "work on this shared 2-core machine). Ours is the product's path (hash_column_arrow: Arrow column in, "
        "hashes and per-row drop reasons out), timed without the child's imports (pyarrow, pandas, duckdb, our "
        f"modules: import_seconds) and without building the Arrow columns from the generated lists; "
        f"{share:.1%} of the mix's identifiers (emails and phones of the common shapes) were decided by the "
        "vectorised path (emails in DuckDB SQL, phones as int64 numbers in numpy threads; hashes by DuckDB's "
        "sha256 on its threads), the rest by the per-value rules (names once per distinct value, refused or "
        f"borderline emails and phones one by one). Ours' time by column (medians): {by_column}. The ceiling is "
        "one core hashing already-normalized strings; ours uses both cores where the work allows, so a busy "
        "second core lowers its ratio. The list API (hash_column: Python lists in and out, pyarrow conversion "
        f"both ways included) measured in the same children: {extra['list_api_ratio_vs_hashlib_ceiling']}x "
        f"hashlib_ceiling, {extra['list_api_ratio_vs_sdk']}x sdk_format_params (medians)."
    )


if __name__ == "__main__":
    import json

    for rec in run(quick="--quick" in sys.argv):
        print(json.dumps(rec))
