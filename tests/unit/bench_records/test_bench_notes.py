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
