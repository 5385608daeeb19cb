"""A real flow's leftovers hold no raw email, phone or secret: task logs (the ``dags test`` output and any log
file), every XCom value in the metadata DB, every report / stats / ledger / plan / state object in Blob outside the
raw landing parts and ``_rejected/`` (the only places raw PII may live), and the exception messages of the blocked run.
Also: the blocked hour stops where it should, and Airflow's masker hides connection secrets a task prints."""

from __future__ import annotations

import io
import sqlite3

import pytest
from conftest import FULL
from pii_scan import SECRETS, Leak, PiiScanner

from cio_devkit.devstack.stack import blob_connection_string

CONTAINER = "customerio"


@pytest.fixture(scope="module")
def scanner() -> PiiScanner:
    return PiiScanner()


def _is_raw_zone(name: str) -> bool:
    return (name.startswith("landing/") and name.endswith(".parquet")) or "/_rejected/" in name


def _blob_texts(devstack):  # type: ignore[no-untyped-def]
    """(name, text) for every object the flow produced outside the raw zone; Parquet is read column by column."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    from azure.storage.blob import BlobServiceClient

    port = devstack.read_state()["services"]["azurite"]["port"]
    container = BlobServiceClient.from_connection_string(blob_connection_string(port)).get_container_client(
        CONTAINER
    )
    for blob in container.list_blobs():
        name = blob.name
        if _is_raw_zone(name) or name.startswith("warehouse/"):  # warehouse: seeded input, not our output
            continue
        data = container.download_blob(name).readall()
        if name.endswith(".parquet"):
            table = pq.read_table(io.BytesIO(data))
            columns = [c for c in table.column_names if pa.types.is_string(table.schema.field(c).type)]
            text = "\n".join(str(v) for c in columns for v in table[c].to_pylist())
            yield name, text
        else:
            yield name, data.decode("utf-8", errors="replace")


def test_flow_ran_the_good_hour_and_the_blocked_hour(flow) -> None:
    print("flow timings (s):", flow.seconds)
    assert flow.returncodes["cart_good"] == 0, flow.outputs["cart_good"][-4000:]
    assert flow.returncodes["cart_blocked"] != 0
    for label in ("export", "audiences"):
        if label in flow.returncodes:
            assert flow.returncodes[label] == 0, flow.outputs[label][-4000:]


def test_schema_drift_blocks_the_hour_names_the_column_and_skips_the_syncs(flow) -> None:
    states = flow.states["cart_blocked"]
    assert states["land_deliveries_hourly"] == "success"
    assert states["gate_deliveries_hourly"] == "failed"
    for task_id, state in states.items():
        if task_id.startswith(("build_", "sync_")):
            assert state == "upstream_failed", (task_id, state)
    output = flow.outputs["cart_blocked"]
    # the on-call message names the column and the error class (the cause reads identity_gap, not schema drift:
    # the landing fills a nullable column the export lost with nulls; see docs/reliability.md)
    assert "customer_id" in output and "[UPSTREAM_DATA] cio_cart_recovery.gate_deliveries_hourly" in output
    good = flow.states["cart_good"]
    # no guard would block the good hour: its approval steps skip themselves, every other task succeeds
    assert all(state == "skipped" for task, state in good.items() if task.startswith("approve_")), good
    assert any(task.startswith("approve_") for task in good), good
    assert all(state == "success" for task, state in good.items() if not task.startswith("approve_")), good


def test_no_raw_pii_or_secret_anywhere_the_flow_writes(flow, devstack, scanner) -> None:
    leaks: list[Leak] = []
    scanned = {"outputs": 0, "log files": 0, "xcoms": 0, "blobs": 0}
    for label, text in flow.outputs.items():
        if label == "mask_probe":  # prints its secrets on purpose; its task log file is scanned below
            continue
        leaks += scanner.scan(f"dags test {label}", text)
        scanned["outputs"] += 1
    for path in (flow.home / "logs").rglob("*"):
        if path.is_file():
            leaks += scanner.scan(str(path.relative_to(flow.home)), path.read_text(errors="replace"))
            scanned["log files"] += 1
    with sqlite3.connect(flow.home / "airflow.db") as db:
        for dag_id, task_id, key, value in db.execute("SELECT dag_id, task_id, key, value FROM xcom"):
            text = value.decode("utf-8", errors="replace") if isinstance(value, bytes) else str(value)
            leaks += scanner.scan(f"xcom {dag_id}.{task_id}.{key}", text)
            scanned["xcoms"] += 1
    for name, text in _blob_texts(devstack):
        leaks += scanner.scan(f"blob {name}", text)
        scanned["blobs"] += 1
    assert scanned["xcoms"] > 5 and scanned["blobs"] > 10, scanned
    assert not leaks, "\n".join(str(leak) for leak in leaks[:40])


def test_the_scanner_finds_what_it_looks_for(scanner) -> None:
    """The scan above is only as good as its matcher: planted values are found, masked ones are not."""
    email = sorted(scanner.emails)[0]
    phone = sorted(p for p in scanner.phones if len(p) == 10)[0]
    planted = f"x {email} y ({phone[:3]}) {phone[3:6]}-{phone[6:]} z {SECRETS['meta app secret']}"
    assert {leak.kind for leak in scanner.scan("planted", planted)} == {"email", "phone", "meta app secret"}
    assert scanner.scan("masked", f"{email[0]}***@{email.split('@')[1]} sha256:{'ab' * 8}") == []


@pytest.mark.skipif(
    not FULL, reason="runs in the full form (make chaos): its supervised worker hung once in CI"
)
def test_airflow_masker_hides_connection_secrets_a_task_prints(flow) -> None:
    assert flow.returncodes["mask_probe"] == 0, flow.outputs["mask_probe"][-4000:]
    logs = list((flow.home / "logs").glob("dag_id=cio_mask_probe/**/*.log"))
    assert logs, "the probe task wrote no log file"
    text = "\n".join(path.read_text() for path in logs)
    for line in (
        "probe cio_api password=***",
        "probe cio_meta password=***",
        "probe cio_meta extra app_secret=***",
        "probe cio_google_ads password=***",
        "probe cio_blob extra connection_string=***",
        "probe-print cio_meta password=***",  # print() too
    ):
        assert line in text, line
    for name, value in SECRETS.items():
        assert value not in text, f"{name} shown in the task log"
