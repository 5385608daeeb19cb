"""Benchmark ``quality_gate``: validate a deliveries-like partition against a 10-data-check contract.

The frame is deliveries plus an ``email`` column (deliveries itself has none), so the people contract's email-shape
regex can be exercised. Contract: 6 column-exists checks plus 10 data checks (3 not-null, primary-key unique,
delivery_type in set, identity coverage, campaign_id range, email regex, freshness, row count).

Variants, each in fresh child processes, alternating:
- ``ours``: ``validate_partition(engine="duckdb")``: one DuckDB aggregate query over the Parquet parts;
- ``stock_gx``: read the parts with pandas (as a user would), then great-expectations 1.x
  ``context.data_sources.add_pandas(...)...get_batch(...).validate(suite)`` with default settings.

Timing is fair by construction: both timings include reading the same Parquet files (DuckDB scans them; GX's user
reads them with pandas) and exclude the one-off library imports (each child imports its libraries, and compiles the
suite, before the clock starts; the import times are reported in ``extra``). Peak RSS covers the whole child,
imports included. ``extra.verdicts_identical_*`` compares the pass/fail of every expectation between the engines on
clean data (at each size) and on seeded dirty data (duplicates, nulls, out-of-set values, bad emails, negative
campaign ids, late rows) and on a partition with a dropped column.
"""

from __future__ import annotations

import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from bench.common import alternate, check_setup, load_note, load_watched, record, run_in_child

BENCHMARK = "quality_gate"
UNIT = "rows/s"
PART_ROWS = 1_000_000
INTERVAL_START = datetime(2026, 3, 1, tzinfo=UTC)
INTERVAL_END = INTERVAL_START + timedelta(days=1)
TYPES = ["email", "push", "sms", "in_app", "slack", "webhook"]

CONTRACT: dict[str, Any] = {
    "dataset": "deliveries",
    "version": "1.0.0",
    "primary_key": "delivery_id",
    "identity_column": "customer_id",
    "columns": [
        {"name": "delivery_id", "type": "string", "required": True},
        {"name": "customer_id", "type": "string"},
        {"name": "delivery_type", "type": "string", "required": True},
        {"name": "campaign_id", "type": "int64"},
        {"name": "created_at", "type": "timestamp[us, tz=UTC]", "required": True},
        {"name": "email", "type": "string"},
    ],
    "checks": [
        {"type": "in_set", "column": "delivery_type", "values": TYPES},
        {"type": "identity_coverage", "column": "customer_id", "min_share": 0.95},
        {"type": "range", "column": "campaign_id", "min": 0, "max": 100_000},
        {"type": "regex", "column": "email", "pattern": r"^[^@\s]+@[^@\s]+\.[^@\s]+$", "mostly": 0.99},
        {"type": "freshness", "column": "created_at", "max_lag": "6h"},
        {"type": "row_count", "min": 1},
    ],
}


def generate(directory: Path, rows: int, *, dirty: str | None = None, seed: int = 7) -> list[Path]:
    """Write a seeded deliveries-like partition as Parquet parts of ``PART_ROWS`` rows; ``dirty`` seeds errors."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    directory.mkdir(parents=True, exist_ok=True)
    ids = np.arange(rows)
    if dirty == "dirty":
        dup = rng.choice(rows, size=rows // 200, replace=False)
        ids[dup] = ids[(dup + 1) % rows]
    delivery_id = pc.binary_join_element_wise("d", pc.cast(pa.array(ids), pa.string()), "")
    customers = rng.integers(0, max(rows // 5, 1), rows)
    customer_id = pc.binary_join_element_wise("c", pc.cast(pa.array(customers), pa.string()), "")
    customer_mask = rng.random(rows) < (0.08 if dirty == "dirty" else 0.01)
    customer_id = pc.if_else(pa.array(customer_mask), pa.scalar(None, pa.string()), customer_id)
    type_index = rng.integers(0, len(TYPES), rows)
    delivery_type = pa.array(np.array(TYPES, dtype=object)[type_index], pa.string())
    campaign = rng.integers(0, 5_000, rows)
    created = INTERVAL_START.timestamp() * 1e6 + np.sort(rng.integers(0, 86_400_000_000, rows))
    domains = np.array(["example.com", "mail.example.org", "shop.example.net"], dtype=object)
    email = pc.binary_join_element_wise(
        "user",
        pc.cast(pa.array(customers), pa.string()),
        "@",
        pa.array(domains[rng.integers(0, 3, rows)]),
        "",
    )
    if dirty == "dirty":
        bad = rng.random(rows) < 0.02
        email = pc.if_else(pa.array(bad), pc.replace_substring(email, "@", " at "), email)
        odd = rng.choice(rows, size=rows // 500, replace=False)
        values = delivery_type.to_numpy(zero_copy_only=False)
        values[odd] = "carrier_pigeon"
        delivery_type = pa.array(values, pa.string())
        campaign[rng.choice(rows, size=50, replace=False)] = -1
        created = created - 12 * 3_600_000_000  # the latest row is 12 h before the interval end: late
    columns: dict[str, pa.Array] = {
        "delivery_id": delivery_id,
        "customer_id": customer_id,
        "delivery_type": delivery_type,
        "campaign_id": pa.array(campaign, pa.int64()),
        "created_at": pa.array(created.astype("int64"), pa.timestamp("us", tz="UTC")),
        "email": email,
    }
    if dirty == "dropped":
        del columns["delivery_type"]
    table = pa.table(columns)
    paths = []
    for index, start in enumerate(range(0, rows, PART_ROWS)):
        path = directory / f"part-{index:05d}.parquet"
        pq.write_table(table.slice(start, PART_ROWS), path, compression="zstd")
        paths.append(path)
    return paths


def _contract() -> Any:
    from airflow_provider_cio.quality.contract import parse_contract

    return parse_contract(CONTRACT, source="bench_quality_gate.CONTRACT")


def child_ours(files: list[str]) -> dict[str, Any]:
    """Our engine; imports happen before the clock starts."""
    started = time.perf_counter()
    import duckdb  # noqa: F401
    import pyarrow.parquet  # noqa: F401

    from airflow_provider_cio.quality.validate import validate_partition

    contract = _contract()
    import_seconds = time.perf_counter() - started
    clock = time.perf_counter()
    result = validate_partition(
        [Path(f) for f in files], contract, interval_end=INTERVAL_END, trailing_row_counts=[]
    )
    timed = time.perf_counter() - clock
    return {
        "timed_seconds": timed,
        "import_seconds": import_seconds,
        "verdicts": result.verdicts(),
        "rows": result.rows,
    }


def child_stock_gx(files: list[str]) -> dict[str, Any]:
    """Stock GX as a user runs it: pandas read + get_batch().validate(suite), default settings."""
    started = time.perf_counter()
    from airflow_provider_cio.quality.expectations import expectation_specs, runtime_parameters
    from airflow_provider_cio.quality.gx_engine import read_partition_pandas, run_stock_gx
    from airflow_provider_cio.quality.suite import compile_suite, import_gx

    import_gx()
    import pandas  # noqa: F401

    contract = _contract()
    suite = compile_suite(contract)
    parameters = runtime_parameters(contract, interval_end=INTERVAL_END, trailing_row_counts=[]).values
    import_seconds = time.perf_counter() - started
    clock = time.perf_counter()
    frame = read_partition_pandas([Path(f) for f in files])
    validation = run_stock_gx(frame, suite, parameters)
    timed = time.perf_counter() - clock
    by_check = {r.expectation_config.meta["check"]: bool(r.success) for r in validation.results}
    verdicts = {spec.check.name: by_check[spec.check.name] for spec in expectation_specs(contract)}
    return {
        "timed_seconds": timed,
        "import_seconds": import_seconds,
        "verdicts": verdicts,
        "rows": len(frame),
    }


def _timed(samples: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Use the in-child clock (validation incl. the Parquet read, excluding imports) as the sample's seconds."""
    out = []
    for sample in samples:
        extra = dict(sample["extra"])
        extra["child_seconds_incl_imports"] = round(sample["seconds"], 3)
        out.append({**sample, "seconds": extra.pop("timed_seconds"), "extra": extra})
    return out


def child_compare(sets: dict[str, list[str]]) -> dict[str, Any]:
    """Both engines on each file set (one process, so GX is imported once); pass/fail per check for each."""
    from airflow_provider_cio.quality.validate import validate_partition

    contract = _contract()
    out: dict[str, Any] = {}
    for name, files in sets.items():
        paths = [Path(f) for f in files]
        kwargs: dict[str, Any] = {"interval_end": INTERVAL_END, "trailing_row_counts": []}
        ours = validate_partition(paths, contract, engine="duckdb", **kwargs).verdicts()
        stock = validate_partition(paths, contract, engine="gx", **kwargs).verdicts()
        out[name] = {"identical": ours == stock, "failed": sorted(n for n, ok in ours.items() if not ok)}
    return out


def check_verdicts(what: str, compared: dict[str, dict[str, Any]], *, clean: bool) -> None:
    """Both engines must give every expectation the same verdict, the clean data must pass them all and the dirty
    data fail some: otherwise the two are not validating the same contract, and their speeds do not compare."""
    problems = []
    for kind, outcome in compared.items():
        if not outcome["identical"]:
            problems.append(f"on the {kind} data our verdicts differ from stock GX's")
        if clean and outcome["failed"]:
            problems.append(f"the {kind} data failed {', '.join(outcome['failed'])}")
        if not clean and not outcome["failed"]:
            problems.append(f"the {kind} data failed no check")
    check_setup(what, problems)


def run(quick: bool) -> list[dict[str, Any]]:
    sizes = {"200k": 200_000} if quick else {"1M": 1_000_000, "5M": 5_000_000}
    runs = 2 if quick else 5  # issue 21: at least five alternating runs per variant in a recorded (full) run
    records: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="bench-quality-") as tmp:
        root = Path(tmp)
        dirty_rows = 200_000
        sets = {
            kind: [str(f) for f in generate(root / kind, dirty_rows, dirty=kind)]
            for kind in ("dirty", "dropped")
        }
        compared = run_in_child(child_compare, sets)["extra"]
        check_verdicts("quality_gate dirty sets", compared, clean=False)
        dirty_checks: dict[str, Any] = {}
        for kind, outcome in compared.items():
            dirty_checks[f"verdicts_identical_{kind}"] = outcome["identical"]
            dirty_checks[f"failed_checks_{kind}"] = outcome["failed"]
            print(f"  {kind} ({dirty_rows} rows): verdicts identical={outcome['identical']}", file=sys.stderr)
        for case, rows in sizes.items():
            files = [str(path) for path in generate(root / case, rows)]
            loads: list[float] = []
            samples = alternate(
                load_watched(
                    {
                        "ours": partial(run_in_child, child_ours, files),
                        "stock_gx": partial(run_in_child, child_stock_gx, files),
                    },
                    loads,
                ),
                runs,
            )
            clean_identical = (
                samples["ours"][-1]["extra"]["verdicts"] == samples["stock_gx"][-1]["extra"]["verdicts"]
            )
            clean_failed = sorted(n for n, ok in samples["ours"][-1]["extra"]["verdicts"].items() if not ok)
            check_verdicts(
                f"quality_gate {case}",
                {"clean": {"identical": clean_identical, "failed": clean_failed}},
                clean=True,
            )
            for variant in ("ours", "stock_gx"):
                timed = _timed(samples[variant])
                for sample in timed:
                    sample["extra"].pop("verdicts", None)
                extra = {
                    "checks": 16,
                    "data_checks": 10,
                    "parts": len(files),
                    "timing": "read of the Parquet parts + validation; library imports excluded",
                    "verdicts_identical_clean": clean_identical,
                    "failed_checks_clean": clean_failed,
                    "dirty_rows": dirty_rows,
                    **dirty_checks,
                    "note": load_note(runs, loads),
                }
                records.append(
                    record(
                        BENCHMARK,
                        case,
                        variant,
                        baseline=variant != "ours",
                        unit=UNIT,
                        samples=timed,
                        work=float(rows),
                        extra=extra,
                    )
                )
    return records


if __name__ == "__main__":
    import json

    for item in run(quick="--full" not in sys.argv):
        print(json.dumps(item))
