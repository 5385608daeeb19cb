"""The journal: durable before acknowledged, replayed after a crash, a torn tail dropped, ids held once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from airflow_provider_cio.webhooks.journal import Journal, hour_key

T0 = 1_765_000_000_000_000  # 2025-12-06T05:46:40Z


def _row(event_id: str, at: int = T0) -> dict[str, Any]:
    return {"event_id": event_id, "metric": "sent", "received_at": at}


def test_rows_are_durable_then_replayed_by_a_new_journal(tmp_path: Path) -> None:
    journal = Journal(tmp_path).open()
    first = journal.submit([_row("a"), _row("b"), _row("c", T0 + 3_600_000_000)])
    first.durable.result(timeout=5)
    assert (first.new, first.duplicates) == (3, 0)
    again = journal.submit([_row("a"), _row("d")])
    again.durable.result(timeout=5)
    assert (again.new, again.duplicates) == (1, 1)
    journal.close()

    reopened = Journal(tmp_path).open()
    hours = reopened.hours()
    assert sorted(hours) == [hour_key(T0), hour_key(T0 + 3_600_000_000)]
    assert [r["event_id"] for r in reopened.read(hour_key(T0), 0, hours[hour_key(T0)])] == ["a", "b", "d"]
    replayed = reopened.submit([_row("b"), _row("c"), _row("e")])
    replayed.durable.result(timeout=5)
    assert (replayed.new, replayed.duplicates) == (1, 2)
    reopened.close()


def test_a_torn_last_record_is_dropped_and_appends_continue_cleanly(tmp_path: Path) -> None:
    journal = Journal(tmp_path).open()
    journal.submit([_row("a"), _row("b")]).durable.result(timeout=5)
    journal.close()
    [segment] = tmp_path.glob("*.journal")
    whole = segment.read_bytes()
    segment.write_bytes(whole + whole[: len(whole) // 3])  # a crash in the middle of a write
    reopened = Journal(tmp_path).open()
    assert segment.stat().st_size == len(whole)
    reopened.submit([_row("c")]).durable.result(timeout=5)
    reopened.close()
    final = Journal(tmp_path).open()
    hour = hour_key(T0)
    assert [r["event_id"] for r in final.read(hour, 0, final.hours()[hour])] == ["a", "b", "c"]
    final.close()


def test_dropping_an_hour_forgets_its_ids(tmp_path: Path) -> None:
    journal = Journal(tmp_path).open()
    journal.submit([_row("a"), _row("z", T0 + 7_200_000_000)]).durable.result(timeout=5)
    assert journal.drop(hour_key(T0)) == 1
    again = journal.submit([_row("a", T0 + 7_200_000_000), _row("z", T0 + 7_200_000_000)])
    again.durable.result(timeout=5)
    assert (again.new, again.duplicates) == (1, 1)
    journal.close()
