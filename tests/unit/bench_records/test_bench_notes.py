"""Notes the benchmarks write themselves from their samples (a note added to the records by hand is lost on the next
re-run, and one left from an older run describes other figures)."""

from __future__ import annotations

from typing import Any

from bench.bench_audience_build import _engines_note


def sample(seconds: float, **extra: Any) -> dict[str, Any]:
    return {"seconds": seconds, "extra": extra}


def test_the_engines_note_states_this_runs_ratios_and_whose_memory_each_peak_is() -> None:
    samples = {
        "duckdb": [sample(16.0), sample(18.0), sample(15.0)],
        "postgres": [sample(48.0, engine_peak_rss_mb=150.0), sample(45.0, engine_peak_rss_mb=154.4)],
        "spark": [sample(52.0, engine_peak_rss_mb=2249.7, session_start_s=6.5)],
    }
    note = _engines_note(samples, [0.4, 1.9, 1.2])
    assert note.startswith(
        "alternating runs per engine (duckdb 3, postgres 2, spark 1); 1-minute load average 0.4-1.9"
    )
    assert "the PostgreSQL backend that ran the session 154 MB, Spark's driver JVM 2,250 MB" in note
    assert "Time over DuckDB's (16.0 s," in note
    assert "PostgreSQL 2.91x, loading the landed data with COPY included" in note  # median 46.5 / 16.0
    assert "Spark 3.25x, its session start (6.5 s median) included" in note


def landing_record(variant: str, rows_per_s: float, land_cpu: float, azurite_cpu: float) -> dict[str, Any]:
    return {
        "benchmark": "landing",
        "case": "1M",
        "variant": variant,
        "value": rows_per_s,
        "extra": {
            "rows": 1_000_000,
            "land_cpu_seconds_median": land_cpu,
            "azurite_cpu_seconds_median": azurite_cpu,
        },
    }


def test_the_landing_budget_says_how_busy_both_cores_would_be_at_the_target() -> None:
    from bench.run import landing_cpu_budget

    records = [
        landing_record("ours", 1_000_000 / 0.8, 1.0, 0.2),  # 0.8 s a run, 1.2 s of CPU with Azurite's
        landing_record("naive_pandas_wasbhook", 1_000_000 / 2.0, 1.5, 0.8),  # 2.0 s: the target is 0.8 s
    ]
    (line,) = landing_cpu_budget(records)
    assert line.startswith("landing 1M: CPU seconds per run (medians): ours 1.00 + Azurite 0.20 = 1.20")
    assert "naive 1.50 + Azurite 0.80" in line
    assert "2.5x naive's median is 0.80 s of wall time, which keeps both cores 75% busy" in line
    assert "its median run, 0.80 s: 75%" in line


def test_the_landing_budget_is_left_out_for_records_without_cpu_figures() -> None:
    from bench.run import landing_cpu_budget

    ours = landing_record("ours", 1.0, 1.0, 0.2)
    del ours["extra"]["land_cpu_seconds_median"]
    assert landing_cpu_budget([ours, landing_record("naive_pandas_wasbhook", 1.0, 1.5, 0.8)]) == []
