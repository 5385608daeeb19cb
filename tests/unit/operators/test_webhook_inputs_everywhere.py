"""A person who converted in the hour does not re-enter the cart audience through the hourly DAG.

``cio_cart_recovery``'s build of an hour writes the same ``dt=/hr=`` snapshot as ``cio_realtime`` and syncs it with
the same as-of time; ``cio_audiences`` builds the suppression audience. Each DAG's own build task (parsed from the
DAG file with the reference config) runs here on an in-memory landing zone: the hour's App API landing has two cart
adds and their first cart emails; the receiver landed one of them converting (a ``converted`` Reporting Webhook).
All three DAGs must agree on who converted: out of the cart audience, into the suppression audience."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "audiences"))
from audience_tables import orders, people, person  # noqa: E402

from airflow_provider_cio.audiences.snapshot import read_snapshot_members, snapshot_ref  # noqa: E402
from airflow_provider_cio.datasets import arrow_schema  # noqa: E402
from airflow_provider_cio.landing.layout import PartitionRef  # noqa: E402
from airflow_provider_cio.landing.writer import PartitionWriter  # noqa: E402
from airflow_provider_cio.storage import MemoryObjectStore  # noqa: E402

DAGS = Path(__file__).resolve().parents[3] / "dags"
ENV, WS = "dev", "demo"  # the reference config's
HOUR = datetime(2026, 6, 1, 10, tzinfo=UTC)
CART, SUPPRESSION = "high_intent_unresponsive_carts", "suppress_recent_purchasers"


def _land(store: MemoryObjectStore, dataset: str, rows: list[dict[str, Any]], hr: int | None = None) -> None:
    schema = arrow_schema(dataset)
    table = pa.Table.from_pylist([{f.name: r.get(f.name) for f in schema} for r in rows], schema=schema)
    ref = PartitionRef("landing", ENV, WS, dataset, HOUR.date(), hr)
    with PartitionWriter(store, ref, schema, source="test", max_rejected_rate=0.0) as writer:
        writer.write_batch(table.to_batches()[0])
        writer.commit()


def _workspace(converted_by: str | None, store: MemoryObjectStore | None = None) -> MemoryObjectStore:
    """w1 and w2 added to cart at 10:05, got the flow's first cart email at 10:15 and did not click; both ordered
    (AOV 100) two months ago. The receiver landed w1 converting at 10:40 (``converted_by``: the Reporting Webhook
    or a Data Pipelines ``order_completed`` call); the warehouse has not seen that order yet."""
    store = store if store is not None else MemoryObjectStore()
    _land(store, "people", people(person("w1"), person("w2")).to_pylist())
    at = HOUR + timedelta(minutes=5)
    carts = [
        {"event_id": f"e-{c}", "customer_id": c, "name": "added_to_cart", "timestamp": at}
        for c in ("w1", "w2")
    ]
    _land(store, "events", carts, hr=10)
    sent = at + timedelta(minutes=10)
    emails = [
        {
            "delivery_id": f"d-{c}",
            "customer_id": c,
            "delivery_type": "email",
            "campaign_id": 2,
            "action_id": 21,
            "created_at": sent,
        }
        for c in ("w1", "w2")
    ]
    _land(store, "deliveries", emails, hr=10)
    history = orders(("w1", 100, HOUR - timedelta(days=60)), ("w2", 100, HOUR - timedelta(days=60)))
    buffer = pa.BufferOutputStream()
    pq.write_table(history, buffer)
    store.write_bytes(f"warehouse/{ENV}/orders/part-0.parquet", buffer.getvalue().to_pybytes())
    if converted_by is not None:
        _land_conversion(store, converted_by)
    return store


def _land_conversion(store: MemoryObjectStore, converted_by: str) -> None:
    """The receiver lands w1 converting at 10:40: a ``converted`` Reporting Webhook or an ``order_completed`` call."""
    done = HOUR + timedelta(minutes=40)
    webhook = {"event_id": "wh-1", "customer_id": "w1", "timestamp": done, "received_at": done}
    if converted_by == "converted":
        webhook |= {"object_type": "email", "metric": "converted", "delivery_id": "d-w1", "campaign_id": 2}
    else:
        webhook |= {"object_type": "track", "metric": "order_completed"}
    _land(store, "webhook_events", [webhook], hr=10)


def _dag(name: str, config: Path = DAGS / "config" / "cio.yaml") -> Any:
    from airflow.dag_processing.dagbag import DagBag

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CIO_DAG_CONFIG", str(config))
        bag = DagBag(dag_folder=str(DAGS / f"{name}.py"))
    assert bag.import_errors == {}
    return bag.dags[name]


@pytest.fixture(scope="module")
def builds() -> dict[str, Any]:
    return {
        "cio_cart_recovery": _dag("cio_cart_recovery").get_task("build_cart_audiences"),
        "cio_audiences": _dag("cio_audiences").get_task("build_audiences"),
    }


def _built(task: Any, store: MemoryObjectStore, partition: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import airflow_provider_cio.hooks.blob as blob

    monkeypatch.setattr(blob, "object_store", lambda conn_id, container: store)
    task._build({"params": {"partition_date": partition}})


def _members(store: MemoryObjectStore, audience: str, hour: int | None) -> set[str]:
    ref = snapshot_ref(ENV, WS, audience, HOUR.date(), hour)
    return set(read_snapshot_members(store, ref).column("customer_id").to_pylist())


@pytest.mark.parametrize("converted_by", ["converted", "order_completed"])
def test_the_hourly_cart_build_leaves_out_who_converted_in_the_hour_and_the_daily_suppresses_them(
    builds: dict[str, Any], monkeypatch: pytest.MonkeyPatch, converted_by: str
) -> None:
    store = _workspace(converted_by)
    _built(builds["cio_cart_recovery"], store, "2026-06-01T10:00", monkeypatch)
    assert _members(store, CART, 10) == {"w2"}  # w1 converted at 10:40: not retargeted for the cart
    _built(builds["cio_audiences"], store, "2026-06-01", monkeypatch)
    assert "w1" in _members(store, SUPPRESSION, None)
    assert _members(store, CART, None) == {"w2"}


def test_without_a_receiver_the_builds_read_what_they_always_read(
    builds: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    store = _workspace(None)
    _built(builds["cio_cart_recovery"], store, "2026-06-01T10:00", monkeypatch)
    assert _members(store, CART, 10) == {"w1", "w2"}


def test_webhook_inputs_false_leaves_the_micro_batches_to_cio_realtime(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow_provider_cio.operators.realtime_audiences import CioRealtimeAudienceBuildOperator

    config = tmp_path / "cio.yaml"
    text = (DAGS / "config" / "cio.yaml").read_text()
    config.write_text(text.replace("webhook_inputs: true", "webhook_inputs: false"))
    build = _dag("cio_cart_recovery", config).get_task("build_cart_audiences")
    assert not isinstance(build, CioRealtimeAudienceBuildOperator)
    store = _workspace("converted")
    _built(build, store, "2026-06-01T10:00", monkeypatch)
    assert _members(store, CART, 10) == {"w1", "w2"}  # the documented cost of turning it off


@pytest.mark.parametrize("value", ["yes", 1, [True]])
def test_webhook_inputs_must_be_a_boolean(value: object) -> None:
    import yaml

    from airflow_provider_cio.dag_config import DagConfigError, parse_dag_config

    raw = yaml.safe_load((DAGS / "config" / "cio.yaml").read_text())
    raw["realtime"] = {"webhook_inputs": value}
    with pytest.raises(DagConfigError, match=r"realtime\.webhook_inputs"):
        parse_dag_config(raw)
    raw["realtime"] = {"webhook_input": True}
    with pytest.raises(DagConfigError, match="realtime"):
        parse_dag_config(raw)


class _SlowBuild(MemoryObjectStore):
    """The landing zone while a slow build runs: the first time a build reads or writes an audience snapshot (its
    inputs are read and its audiences built by then), ``meanwhile`` runs once: another DAG's build that starts and
    commits in between."""

    def __init__(self) -> None:
        super().__init__()
        self.meanwhile: Any = None

    def _touch(self, path: str) -> None:
        if path.startswith("audiences/") and self.meanwhile is not None:
            run, self.meanwhile = self.meanwhile, None
            run()

    def read_bytes(self, path: str) -> bytes:
        self._touch(path)
        return super().read_bytes(path)

    def write_bytes(self, path: str, data: Any, **kwargs: Any) -> None:
        self._touch(path)
        return super().write_bytes(path, data, **kwargs)


def test_an_older_build_of_the_hour_finishing_last_keeps_the_newer_snapshot(
    builds: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """cio_realtime's build of hour 10 read its inputs before w1's conversion landed; while it builds, the
    conversion lands and cio_cart_recovery's build of the same hour reads it and commits. The slower, older build
    commits last: the hour's snapshot stays the one from later inputs (the syncs of both DAGs read the committed
    snapshot, with the same as-of time: neither sends w1)."""
    from airflow_provider_cio.audiences.snapshot import read_snapshot_stats

    store = _SlowBuild()
    _workspace(None, store)
    hourly = builds["cio_cart_recovery"]

    def converted_then_hourly_build() -> None:
        _land_conversion(store, "converted")
        _built(hourly, store, "2026-06-01T10:00", monkeypatch)

    store.meanwhile = converted_then_hourly_build
    _built(_dag("cio_realtime").get_task("build_realtime_audiences"), store, "2026-06-01T10:00", monkeypatch)
    assert store.meanwhile is None  # the hourly build did run in between
    assert _members(store, CART, 10) == {"w2"}
    stats = read_snapshot_stats(store, snapshot_ref(ENV, WS, CART, HOUR.date(), 10))
    assert "inputs_at" in stats
    assert _members(store, SUPPRESSION, 10) == set()  # written by the realtime build alone: from its inputs
