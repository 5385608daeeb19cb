"""Bad upstream data, on the devstack's Azurite and Customer.io emulator: a data-out file that is not Parquet and
one with an unknown schema version are quarantined with their reason and counted while every other file lands
exactly as without them; an export that lost a column is landed but blocked by the gate, which names the column,
and the previous good partition stays as it was."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, timedelta

from chaos_support import azurite_store

from airflow_provider_cio.landing.layout import PartitionRef
from airflow_provider_cio.landing.reader import list_partitions, read_manifest, read_table
from cio_devkit.devstack.emulator_services import CUSTOMERIO_API_KEY

ROOT, ENV, WORKSPACE = "landing", "dev", "chaos"


def _landed(store, dataset: str) -> dict[str, list[dict]]:
    out = {}
    for ref in list_partitions(store, ROOT, ENV, WORKSPACE, dataset):
        rows = read_table(store, ref).to_pylist()
        out[ref.prefix] = sorted(rows, key=lambda r: sorted((k, str(v)) for k, v in r.items()))
    return out


def test_corrupt_and_unknown_version_files_are_quarantined_and_the_rest_lands(devstack, full) -> None:
    from airflow_provider_cio.landing.dataout import ingest_dataout
    from cio_devkit.emulators.synthetic import generate_workspace, write_dataout_files

    tag = uuid.uuid4().hex[:10]
    source = azurite_store(devstack, f"src{tag}")
    chaos, control = azurite_store(devstack, f"bad{tag}"), azurite_store(devstack, f"ok{tag}")
    ws = generate_workspace(
        people=600 if full else 80, seed=11, start=date(2026, 10, 1), days=4 if full else 2
    )
    names = write_dataout_files(ws, source, "in")
    ingest_dataout(source, "in/", control, root=ROOT, env=ENV, workspace=WORKSPACE)

    workspace_id = names[0].split("_")[2]
    corrupt = f"in/deliveries_v4_{workspace_id}_999900000000000123.parquet"
    source.write_bytes(corrupt, b"PAR1 this is a truncated upload, not a Parquet file")
    unknown = f"in/metrics_v9_{workspace_id}_999900000000001123.parquet"
    source.write_bytes(unknown, source.read_bytes(next(n for n in names if "/metrics_" in n)))
    report = ingest_dataout(source, "in/", chaos, root=ROOT, env=ENV, workspace=WORKSPACE)

    assert set(report.rejected_files) == {corrupt, unknown}
    assert "schema version 9" in report.rejected_files[unknown]
    for name, dataset in ((corrupt, "deliveries"), (unknown, "metrics")):
        quarantined = f"{ROOT}/{ENV}/{WORKSPACE}/_rejected/dataout/{dataset}/{name.rsplit('/', 1)[-1]}"
        assert chaos.read_bytes(quarantined) == source.read_bytes(name)  # kept whole, for a replay
        assert chaos.exists(quarantined + ".reason.json")
    for dataset in ("people", "deliveries", "metrics"):
        assert _landed(chaos, dataset) == _landed(control, dataset), f"{dataset} differs from the clean run"
        assert _landed(chaos, dataset), f"nothing landed for {dataset}"


def _land_deliveries_hour(devstack, store, hour: datetime):  # type: ignore[no-untyped-def]
    from airflow_provider_cio.customerio.client import CustomerIoClient
    from airflow_provider_cio.landing.app_api import create_exports, land_exports, wait_for_exports

    host = devstack.connections()["cio_api"]["host"]
    client = CustomerIoClient(CUSTOMERIO_API_KEY, base_url=host)
    ref = PartitionRef(ROOT, ENV, WORKSPACE, "deliveries", hour.date(), hour.hour)
    ids = create_exports(client, "deliveries", hour, hour + timedelta(hours=1))
    wait_for_exports(client, ids, poll_interval=0.2, timeout=60)
    return ref, land_exports(client, store, ref, ids)


def _customerio_fault(devstack, method: str, body: dict | None = None) -> None:
    import urllib.request

    port = devstack.read_state()["services"]["customerio"]["port"]
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(f"http://127.0.0.1:{port}/_admin/faults", data=data, method=method)
    urllib.request.urlopen(request, timeout=10).close()


def test_export_that_lost_a_column_is_blocked_by_the_gate_naming_it(devstack, container_store) -> None:
    from airflow_provider_cio.quality.gate import run_gate

    good_hour = datetime(2026, 11, 1, 9, tzinfo=UTC)
    good_ref, good_manifest = _land_deliveries_hour(devstack, container_store, good_hour)
    good = run_gate(
        container_store, good_ref, interval_start=good_hour, interval_end=good_hour + timedelta(hours=1)
    )
    assert good.success, good.on_call_message()
    good_rows = read_table(container_store, good_ref).to_pylist()

    bad_hour = good_hour + timedelta(hours=1)
    _customerio_fault(devstack, "POST", {"kind": "drop_column", "column": "customer_id", "count": 1000})
    try:
        bad_ref, _ = _land_deliveries_hour(devstack, container_store, bad_hour)
    finally:
        _customerio_fault(devstack, "DELETE")
    bad = run_gate(
        container_store, bad_ref, interval_start=bad_hour, interval_end=bad_hour + timedelta(hours=1)
    )
    assert not bad.success
    blocking = bad.blocking_failures
    assert any(check.column == "customer_id" for check in blocking), [c.describe() for c in blocking]
    # named as what it is: Customer.io stopped sending the column (not people without ids)
    assert any(f.kind == "missing_at_source" and f.column == "customer_id" for f in bad.drift)
    assert "schema_drift" in bad.likely_causes
    message = bad.on_call_message()
    assert "customer_id" in message
    print(message)
    # the earlier good hour is untouched: same manifest generation, same rows, its verdict still a pass
    assert read_manifest(container_store, good_ref).generation == good_manifest.generation
    assert read_table(container_store, good_ref).to_pylist() == good_rows
    assert json.loads(container_store.read_bytes(f"{good_ref.quality_prefix}/result.json"))["success"] is True
