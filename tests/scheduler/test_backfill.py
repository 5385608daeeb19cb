"""``airflow backfill create`` on ``cio_export`` with a real scheduler: three days land (each run the day before its
logical date: the day that had ended when it would have fired), equal what ``dags test`` of the same logical date
lands, and a ``--reprocess-behavior completed`` rerun replaces each partition without duplicates."""

from __future__ import annotations

from typing import Any

import pytest
from scheduler_support import DATES, REFERENCE_DATE, Backfill, Reference, covered, failed_tasks

from airflow_provider_cio.landing.layout import PartitionRef
from airflow_provider_cio.landing.reader import read_table
from cio_devkit.standalone import Standalone

pytestmark = [pytest.mark.integration, pytest.mark.timeout(1200)]  # the fixtures run whole backfills

# people rows the export lacks created_at/updated_at for are stamped with the export time (landing/app_api.py)
EXPORT_TIME_COLUMNS = ["created_at", "updated_at"]


def _parts(manifest: dict[str, Any]) -> list[str]:
    return sorted(part["path"] for part in manifest["parts"])


def test_backfill_runs_one_run_per_day_and_all_succeed(
    scheduler: Standalone, backfilled: tuple[Backfill, Reference]
) -> None:
    result, _ = backfilled
    assert sorted(result.runs) == list(DATES)
    for run in result.runs.values():
        assert run["state"] == "success", failed_tasks(scheduler, "cio_export", run)
        assert run["run_type"] == "backfill"
    print(f"backfill of {len(DATES)} days: {result.seconds:.0f}s")


def test_backfill_lands_a_committed_partition_per_dataset_and_day(
    backfilled: tuple[Backfill, Reference], datasets: list[str]
) -> None:
    result, _ = backfilled
    for dataset in datasets:
        for date in DATES:
            manifest = result.manifests[f"{dataset}/{date}"]
            assert manifest, f"{dataset} {date}: no _manifest.json (not landed)"
            assert manifest["partition"].endswith(f"dt={covered(date)}"), manifest["partition"]
            assert manifest["dataset"] == dataset
            assert manifest["parts"], f"{dataset} {date}: no parts"
            assert manifest["rows"] == sum(part["rows"] for part in manifest["parts"])
            listing = result.listings[f"{dataset}/{date}"]
            for part in _parts(manifest):
                assert part in listing, f"{dataset} {date}: manifest lists {part} but it is not in Blob"
            assert any(name.endswith("/_quality/result.json") for name in listing), (
                f"{dataset} {date}: not gated"
            )
    # the three days are different data (a backfill that landed one day three times would pass the above)
    for dataset in ("deliveries", "events"):
        checksums = {result.manifests[f"{dataset}/{date}"]["content_sha256"] for date in DATES}
        assert len(checksums) == len(DATES), dataset


def test_backfilled_day_equals_a_dags_test_of_that_day(
    backfilled: tuple[Backfill, Reference], datasets: list[str], landing_store: Any
) -> None:
    result, reference = backfilled
    assert reference.returncode == 0, reference.output
    print(f"dags test of {REFERENCE_DATE} (while Airflow started): {reference.seconds:.0f}s")
    for dataset in datasets:
        ours = result.manifests[f"{dataset}/{REFERENCE_DATE}"]
        theirs = _manifest(landing_store, reference.workspace, dataset, covered(REFERENCE_DATE))
        assert ours["rows"] == theirs["rows"], dataset
        assert ours["rejected_rows"] == theirs["rejected_rows"], dataset
        if dataset == "people":
            # export-time fills make the bytes differ: compare the content without those two columns
            mine = _table(landing_store, result.workspace, dataset).drop_columns(EXPORT_TIME_COLUMNS)
            other = _table(landing_store, reference.workspace, dataset).drop_columns(EXPORT_TIME_COLUMNS)
            assert mine.num_rows == other.num_rows > 0
            assert mine.equals(other), "people differ beyond the export-time created_at/updated_at fills"
        else:
            assert ours["content_sha256"] == theirs["content_sha256"], dataset


def test_reprocess_completed_replaces_each_partition_without_duplicates(
    scheduler: Standalone,
    backfilled: tuple[Backfill, Reference],
    reprocessed: Backfill,
    datasets: list[str],
) -> None:
    before, _ = backfilled
    after = reprocessed
    assert after.backfill_id != before.backfill_id
    assert sorted(after.runs) == list(DATES)
    for date, run in after.runs.items():
        assert run["state"] == "success", failed_tasks(scheduler, "cio_export", run)
        # completed runs are cleared and rerun in place: same run, not a second one for the day
        assert run["dag_run_id"] == before.runs[date]["dag_run_id"]
    print(f"reprocess (completed) of {len(DATES)} days: {after.seconds:.0f}s")
    for dataset in datasets:
        for date in DATES:
            key = f"{dataset}/{date}"
            old, new = before.manifests[key], after.manifests[key]
            assert new["generation"] != old["generation"], f"{key} was not rewritten"
            assert new["produced_at"] >= old["produced_at"]
            assert new["rows"] == old["rows"], key
            if dataset != "people":
                assert new["content_sha256"] == old["content_sha256"], key
            # exactly the new manifest's parts are left: the old generation's parts are gone, none doubled
            part_files = [name for name in after.listings[key] if "/part-" in name]
            assert sorted(part_files) == _parts(new), key
            assert not set(_parts(old)) & set(part_files), f"{key}: parts of the replaced generation remain"
            assert sum(name.endswith("/_manifest.json") for name in after.listings[key]) == 1


def _manifest(store: Any, workspace: str, dataset: str, date: str) -> dict[str, Any]:
    import json

    return dict(json.loads(store.read_bytes(f"landing/dev/{workspace}/{dataset}/dt={date}/_manifest.json")))


def _table(store: Any, workspace: str, dataset: str) -> Any:
    from datetime import date

    ref = PartitionRef("landing", "dev", workspace, dataset, date.fromisoformat(covered(REFERENCE_DATE)))
    return read_table(store, ref)
