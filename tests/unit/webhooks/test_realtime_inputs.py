"""From landed micro-batches to audiences: which batches are new, what they add to a build's inputs, and the real
reference definitions on those inputs (a cart add joins the cart audience; a converted event moves the person to
the suppression audience). Also the trigger that watches the batches, against an in-memory landing store."""

from __future__ import annotations

import asyncio
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "audiences"))
from audience_tables import AS_OF, ago, ids, orders, people, person  # noqa: E402
from webhook_batch_support import ENV, ROOT, WS, land_batch, webhook_row  # noqa: E402

from airflow_provider_cio.audiences import AudienceInputs, build_audience, load_definition  # noqa: E402
from airflow_provider_cio.datasets import arrow_schema  # noqa: E402
from airflow_provider_cio.storage import MemoryObjectStore  # noqa: E402
from airflow_provider_cio.webhooks.audience_inputs import audience_tables, webhook_refs  # noqa: E402
from airflow_provider_cio.webhooks.batches import batch_event, batch_marks, new_batches  # noqa: E402

_row, _land = webhook_row, land_batch


def _cart(cid: str, at: datetime, n: int) -> list[dict[str, Any]]:
    """A cart add (Data Pipelines track call) and, ten minutes later, the flow's first cart email being sent."""
    return [
        _row(f"m-{cid}-{n}", at, object_type="track", metric="added_to_cart", customer_id=cid),
        _row(
            f"r-{cid}-{n}",
            at + timedelta(minutes=10),
            object_type="email",
            metric="sent",
            customer_id=cid,
            delivery_id=f"d-{cid}-{n}",
            campaign_id=2,
            action_id=21,
        ),
    ]


def test_new_generations_are_reported_once_with_the_newest_hour_as_the_period(tmp_path: Path) -> None:
    store = MemoryObjectStore()
    now = datetime(2026, 6, 1, 10, 30, tzinfo=UTC)
    assert batch_marks(store, root=ROOT, env=ENV, workspace=WS, now=now) == {}
    first = _land(
        store,
        now.replace(hour=9, minute=0),
        [_row("a", now - timedelta(hours=1), object_type="email", metric="sent")],
    )
    marks = batch_marks(store, root=ROOT, env=ENV, workspace=WS, now=now)
    seen = {label: mark["generation"] for label, mark in marks.items()}
    assert list(seen.values()) == [first]
    _land(store, now.replace(minute=0), [_row("b", now, object_type="email", metric="sent")])
    marks = batch_marks(store, root=ROOT, env=ENV, workspace=WS, now=now)
    fresh = new_batches(marks, seen)
    assert len(fresh) == 1 and len(marks) == 2
    event = batch_event(fresh)
    assert event["interval_end"] == "2026-06-01T11:00:00+00:00" and event["rows"] == 1
    later = now + timedelta(hours=2)  # the watched window moved on: older hours are not read
    assert batch_marks(store, root=ROOT, env=ENV, workspace=WS, now=later) == {}
    refs = webhook_refs(store, root=ROOT, env=ENV, workspace=WS, since=now - timedelta(hours=1), until=now)
    assert [r.hr for r in refs] == [9, 10] or [r.hr for r in refs] == [9]


def _inputs(tmp_path: Path, webhook_rows: list[dict[str, Any]], until: datetime) -> AudienceInputs:
    tmp_path.mkdir(parents=True)
    files = []
    if webhook_rows:
        schema = arrow_schema("webhook_events")
        table = pa.Table.from_pylist(
            [{f.name: r.get(f.name) for f in schema} for r in webhook_rows], schema=schema
        )
        files = [tmp_path / "webhook.parquet"]
        pq.write_table(table, files[0])
    tables = audience_tables(files, tmp_path / "out", until=until)
    history = tmp_path / "orders.parquet"
    pq.write_table(orders(("w1", 100, ago(days=60)), ("w2", 100, ago(days=60))), history)
    p = tmp_path / "people.parquet"
    pq.write_table(people(person("w1"), person("w2")), p)
    return AudienceInputs(
        people=str(p),
        events=[str(tables["events"])],
        deliveries=[str(tables["deliveries"])],
        warehouse={"orders": [str(history), str(tables["orders"])]},
    )


def test_a_cart_event_joins_the_cart_audience_and_a_converted_event_moves_the_person_to_suppression(
    tmp_path: Path,
) -> None:
    carts = load_definition("high_intent_unresponsive_carts")
    suppression = load_definition("suppress_recent_purchasers")
    rows = [*_cart("w1", ago(hours=3), 1), *_cart("w2", ago(hours=3), 1)]
    rows.append(
        _row(
            "r-w2-click",
            ago(hours=2),
            object_type="email",
            metric="clicked",
            customer_id="w2",
            delivery_id="d-w2-1",
        )
    )
    inputs = _inputs(tmp_path / "a", rows, AS_OF)
    assert ids(build_audience(carts, inputs, as_of=AS_OF)) == {"w1"}  # w2 clicked the cart email
    assert ids(build_audience(suppression, inputs, as_of=AS_OF)) == set()
    converted = _row(
        "r-w1-conv",
        ago(hours=1),
        object_type="email",
        metric="converted",
        customer_id="w1",
        delivery_id="d-w1-1",
    )
    inputs = _inputs(tmp_path / "b", [*rows, converted], AS_OF)
    assert ids(build_audience(carts, inputs, as_of=AS_OF)) == set()
    assert ids(build_audience(suppression, inputs, as_of=AS_OF)) == {"w1"}
    purchase = _row(
        "m-w1-order", ago(hours=1), object_type="track", metric="order_completed", customer_id="w1"
    )
    inputs = _inputs(tmp_path / "c", [*rows, purchase], AS_OF)
    assert ids(build_audience(suppression, inputs, as_of=AS_OF)) == {"w1"}
    # an event from after the build's as-of time is not seen by it
    late = _row(
        "r-w1-late", AS_OF + timedelta(minutes=1), object_type="email", metric="converted", customer_id="w1"
    )
    inputs = _inputs(tmp_path / "d", [*rows, late], AS_OF)
    assert ids(build_audience(carts, inputs, as_of=AS_OF)) == {"w1"}


class _StateStore:
    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    async def aget(self, key: str, default: Any = None) -> Any:
        return self.values.get(key, default)

    async def aset(self, key: str, value: Any) -> None:
        self.values[key] = value


async def _events(trigger: Any, count: int, during: Any = None) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    runner = trigger.run()
    if during is not None:
        asyncio.get_running_loop().call_later(0.05, during)
    async for event in runner:
        out.append(event.payload)
        if len(out) >= count:
            break
    await runner.aclose()
    return out


def test_the_trigger_fires_on_new_batches_and_keeps_its_cursor(monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow_provider_cio.triggers.webhook_batches import STATE_KEY, WebhookBatchTrigger

    store = MemoryObjectStore()

    async def memory_store(self: Any) -> MemoryObjectStore:
        return store

    monkeypatch.setattr(WebhookBatchTrigger, "_store", memory_store)
    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    now = datetime.now(UTC)
    _land(store, hour, [_row("x1", now, object_type="email", metric="sent")])
    kwargs = {
        "wasb_conn_id": "b",
        "container": "c",
        "root": ROOT,
        "env": ENV,
        "workspace": WS,
        "poll_interval": 0.01,
    }

    # the sensor's deferral: a batch it has not handled fires at once; nothing new -> the timeout event
    (event,) = asyncio.run(_events(WebhookBatchTrigger(**kwargs, seen={}, once=True), 1))
    assert event["status"] == "batch" and event["rows"] == 1
    (timeout,) = asyncio.run(
        _events(WebhookBatchTrigger(**kwargs, seen=event["seen"], once=True, timeout=0.05), 1)
    )
    assert timeout["status"] == "timeout"

    # the watcher: what landed before its first start is not news; the next batch is, and the cursor is stored
    time.sleep(2.1)  # manifests carry whole seconds: x1 landed before the watcher started
    watcher = WebhookBatchTrigger(**kwargs)
    watcher.asset_state_store = _StateStore()  # type: ignore[assignment]
    fired = asyncio.run(
        _events(
            watcher,
            1,
            during=lambda: _land(store, hour, [_row("x2", now, object_type="email", metric="sent")]),
        )
    )
    assert fired[0]["rows"] == 1 and fired[0]["interval_end"] == (hour + timedelta(hours=1)).isoformat()
    stored = watcher.asset_state_store.values[STATE_KEY]  # type: ignore[union-attr]
    assert stored == fired[0]["seen"]
    # restarted with that cursor: no repeat; one more batch fires
    again = WebhookBatchTrigger(**kwargs)
    again.asset_state_store = watcher.asset_state_store
    fired = asyncio.run(
        _events(
            again, 1, during=lambda: _land(store, hour, [_row("x3", now, object_type="email", metric="sent")])
        )
    )
    assert fired[0]["seen"] != stored


def test_a_watcher_triggered_run_covers_the_batch_hour_in_progress() -> None:
    """An AssetWatcher's event carries the trigger's payload under ``payload``: the run covers that hour."""
    from types import SimpleNamespace

    from airflow_provider_cio.operators._partition import interval

    extra = {"from_trigger": True, "payload": {"interval_end": "2026-12-06T21:00:00+00:00", "rows": 3}}
    context = {
        "logical_date": None,
        "triggering_asset_events": {"batches": [SimpleNamespace(extra=extra)]},
        "dag_run": SimpleNamespace(run_after=datetime(2026, 12, 6, 20, 31, tzinfo=UTC)),
    }
    start, end = interval(context, hourly=True)
    assert (start.isoformat(), end.isoformat()) == ("2026-12-06T20:00:00+00:00", "2026-12-06T21:00:00+00:00")
