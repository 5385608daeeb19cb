"""The quality gate operator and generations: a rerun's replaced generation stays until the rerun passes its gate,
is released when it passes, and is still there to restore when it fails."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pyarrow as pa
import pytest

from airflow_provider_cio.datasets import arrow_schema
from airflow_provider_cio.landing.generations import restore_previous
from airflow_provider_cio.landing.layout import PartitionRef
from airflow_provider_cio.landing.reader import read_manifest, read_table
from airflow_provider_cio.landing.writer import write_table
from airflow_provider_cio.operators.quality_gate import CioQualityGateOperator
from airflow_provider_cio.quality.errors import QualityGateFailed
from airflow_provider_cio.storage import MemoryObjectStore

DAY = date(2026, 11, 1)
START = datetime(2026, 11, 1, tzinfo=UTC)
REF = PartitionRef("landing", "dev", "ws1", "events", DAY)


def events(n: int, tag: str, *, identified: bool = True) -> pa.Table:
    ts = START + timedelta(hours=23)
    return pa.table(
        {
            "event_id": [f"{tag}{i}" for i in range(n)],
            "customer_id": [f"c{i}" if identified else None for i in range(n)],
            "name": ["viewed_product"] * n,
            "product_id": ["p1"] * n,
            "cart_id": [None] * n,
            "value": [1.5] * n,
            "timestamp": [ts] * n,
        },
        schema=arrow_schema("events"),
    )


@pytest.fixture
def gate(monkeypatch: pytest.MonkeyPatch) -> tuple[MemoryObjectStore, Any]:
    """The real operator on an in-memory container (only the WasbHook-backed store factory is swapped)."""
    import airflow_provider_cio.hooks.blob as blob

    store = MemoryObjectStore()
    monkeypatch.setattr(blob, "object_store", lambda *args, **kwargs: store)
    operator = CioQualityGateOperator(task_id="gate_events", dataset="events", workspace="ws1", trailing_n=0)
    context = {
        "data_interval_start": START,
        "data_interval_end": START + timedelta(days=1),
        "outlet_events": {},
    }
    return store, lambda: operator._validate(context)


def test_a_rerun_keeps_the_replaced_generation_until_it_passes_its_gate(
    gate: tuple[MemoryObjectStore, Any],
) -> None:
    store, run_gate = gate
    first = write_table(store, REF, events(300, "a"), part_rows=100)
    summary = run_gate()
    assert summary["success"] is True and summary["generation"] == first.generation
    second = write_table(store, REF, events(300, "b"), part_rows=100)
    assert read_manifest(store, REF).previous is not None
    assert all(store.exists(p.path) for p in first.parts)  # kept while the rerun is ungated
    assert run_gate()["success"] is True
    assert read_manifest(store, REF).previous is None
    assert not any(store.exists(p.path) for p in first.parts)
    assert all(store.exists(p.path) for p in second.parts)


def test_a_rerun_that_fails_its_gate_leaves_the_good_generation_to_restore(
    gate: tuple[MemoryObjectStore, Any],
) -> None:
    store, run_gate = gate
    good = write_table(store, REF, events(300, "a"), part_rows=100)
    assert run_gate()["success"] is True
    write_table(store, REF, events(300, "bad", identified=False), part_rows=100)  # loses customer_id
    with pytest.raises(QualityGateFailed):
        run_gate()
    assert all(store.exists(p.path) for p in good.parts)
    assert restore_previous(store, REF).generation == good.generation
    assert read_table(store, REF).column("event_id").to_pylist()[0] == "a0"
    assert run_gate()["success"] is True  # the restored generation passes; the failed one is released
    assert read_manifest(store, REF).previous is None


def test_the_shrink_allowance_comes_from_the_contract_and_the_override_from_the_dag_run_conf(
    tmp_path: Any,
) -> None:
    from types import SimpleNamespace

    from airflow_provider_cio.landing.shrink import DEFAULT_RERUN_MAX_SHRINK

    operator = CioQualityGateOperator(task_id="g", dataset="events", workspace="ws1")
    plain = operator.shrink_policy({"dag_run": SimpleNamespace(conf={})})
    assert plain.max_shrink == DEFAULT_RERUN_MAX_SHRINK and not plain.allow_shrink
    assert operator.shrink_policy({"dag_run": SimpleNamespace(conf={"allow_shrink": True})}).allow_shrink
    assert not operator.shrink_policy({"dag_run": SimpleNamespace(conf={"allow_shrink": "yes"})}).allow_shrink
    assert operator.shrink_policy({}, allow_shrink=True).allow_shrink
    unknown = CioQualityGateOperator(task_id="u", dataset="no_contract_here", workspace="ws1")
    assert unknown.shrink_policy({}).max_shrink == DEFAULT_RERUN_MAX_SHRINK


@pytest.mark.parametrize("value", [0.3, 0, 1])
def test_a_contracts_rerun_max_shrink_sets_the_allowance(tmp_path: Any, value: float) -> None:
    from airflow_provider_cio.quality.loader import shipped_contracts_dir

    shipped = (shipped_contracts_dir() / "events.yaml").read_text()
    (tmp_path / "events.yaml").write_text(shipped + f"rerun_max_shrink: {value}\n")
    operator = CioQualityGateOperator(
        task_id="g", dataset="events", workspace="ws1", contract_paths=[str(tmp_path)]
    )
    assert operator.shrink_policy({}).max_shrink == value


@pytest.mark.parametrize("value", ["-0.1", "1.5", "'ten percent'", "true"])
def test_a_rerun_max_shrink_that_is_not_a_share_is_a_contract_error(tmp_path: Any, value: str) -> None:
    from airflow_provider_cio.quality.errors import ContractError
    from airflow_provider_cio.quality.loader import load_contract_file, shipped_contracts_dir

    shipped = (shipped_contracts_dir() / "events.yaml").read_text()
    (tmp_path / "events.yaml").write_text(shipped + f"rerun_max_shrink: {value}\n")
    with pytest.raises(ContractError, match="rerun_max_shrink"):
        load_contract_file(tmp_path / "events.yaml")


def test_on_call_classes_a_shrink_fails_at_once_and_a_lost_race_is_retried() -> None:
    """The classes the notifier and fail_fast act on: a refused rerun is upstream data (no retry burned, nobody
    waits for the platform); an overtaken or stale writer is platform (its retry lands again)."""
    from airflow.sdk.exceptions import AirflowFailException

    from airflow_provider_cio.landing.shrink import ShrinkPolicy
    from airflow_provider_cio.landing.writer import ConcurrentCommit, StaleWriter
    from airflow_provider_cio.notifications.triage import classify
    from airflow_provider_cio.operators._failfast import fail_fast

    store = MemoryObjectStore()
    write_table(store, REF, events(300, "a"))
    with pytest.raises(AirflowFailException) as caught, fail_fast():
        write_table(store, REF, events(0, "none"), shrink=ShrinkPolicy())
    assert classify(caught.value) == "upstream_data"
    assert classify(ConcurrentCommit("x")) == classify(StaleWriter("x")) == "platform"
    with pytest.raises(ConcurrentCommit), fail_fast():  # passed through: Airflow retries it
        raise ConcurrentCommit("x")
