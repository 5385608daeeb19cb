"""Snapshot write/read round trip through MemoryObjectStore, atomic replacement, sync Members, landing inputs."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from audience_tables import AS_OF, ago, orders, people, person, sha

from airflow_provider_cio.audiences import (
    AudienceInputs,
    HoldoutPolicy,
    SnapshotNotFound,
    build_audience,
    fetch_landing_inputs,
    latest_snapshot,
    load_definition,
    read_snapshot_members,
    read_snapshot_population,
    read_snapshot_stats,
    snapshot_members,
    snapshot_ref,
    write_snapshot,
)
from airflow_provider_cio.audiences.snapshot import SnapshotCorrupt
from airflow_provider_cio.landing.layout import PartitionRef
from airflow_provider_cio.landing.writer import write_table
from airflow_provider_cio.storage import MemoryObjectStore
from airflow_provider_cio.sync.destination import Member

DT = date(2026, 5, 31)


def _build(cids: list[str], holdout: HoldoutPolicy | None = None):  # noqa: ANN202
    p = people(*(person(c, phone="+44 20 7123 4567") for c in cids), person("z", email="Z.Z@gmail.com"))
    o = orders(*((c, 10, ago(days=2)) for c in [*cids, "z"]))
    return build_audience(
        load_definition("suppress_recent_purchasers"),
        AudienceInputs(people=p, warehouse={"orders": o}),
        as_of=AS_OF,
        holdout=holdout,
    )


def test_round_trip_and_members_for_each_platform() -> None:
    store = MemoryObjectStore()
    build = _build(["a", "b", "c"], HoldoutPolicy("retention", "salt-1", 0.25))
    ref = snapshot_ref("prod", "ws1", "suppress_recent_purchasers", DT)
    manifest = write_snapshot(store, ref, build, part_rows=2)
    names = store.list(ref.prefix + "/")
    assert ref.manifest_path in names and f"{ref.prefix}/_stats.json" in names
    assert len(manifest.parts) == (build.size + 1) // 2  # cut into parts of 2 rows
    assert read_snapshot_members(store, ref).equals(build.members)
    stats = read_snapshot_stats(store, ref)
    assert stats["size"] == build.size and stats["as_of"] == AS_OF.isoformat()
    assert stats["definition_version"] == "1" and stats["parameters"] == {"purchase_window_days": 30}
    population = read_snapshot_population(store, ref)
    assert population is not None and population.equals(build.population)
    assert stats["population"]["holdout"] + stats["population"]["treatment"] == 4

    meta = {m.customer_id: m for m in snapshot_members(store, ref, "meta")}
    google = {m.customer_id: m for m in snapshot_members(store, ref, "google")}
    assert set(meta) == set(google) == set(build.members.column("customer_id").to_pylist())
    if "z" in meta:
        assert meta["z"].identifiers["email"] == (sha("z.z@gmail.com"),)
        assert google["z"].identifiers["email"] == (sha("zz@gmail.com"),)
    some = next(iter(cid for cid in meta if cid != "z"))
    assert isinstance(meta[some], Member)
    assert meta[some].identifiers["phone"] == (sha("442071234567"),)
    assert google[some].identifiers["phone"] == (sha("+442071234567"),)
    assert google[some].identifiers["country"] == ("US",)
    assert "city" not in google[some].identifiers  # Google takes no city

    # no raw PII anywhere in what was written
    blob = b"".join(store.read_bytes(n) for n in store.list("audiences/"))
    for raw in (b"example.com", b"71234567", b"Z.Z@gmail"):
        assert raw not in blob


def test_rewrite_replaces_the_snapshot_and_leaves_no_stale_parts() -> None:
    store = MemoryObjectStore()
    ref = snapshot_ref("prod", "ws1", "suppress_recent_purchasers", DT)
    write_snapshot(store, ref, _build(["a", "b", "c", "d"]), part_rows=1)
    second = _build(["a"])
    manifest = write_snapshot(store, ref, second)
    names = store.list(ref.prefix + "/")
    assert sorted(names) == sorted(
        [p.path for p in manifest.parts] + [ref.manifest_path, f"{ref.prefix}/_stats.json"]
    )
    assert read_snapshot_members(store, ref).equals(second.members)
    assert latest_snapshot(store, "prod", "ws1", "suppress_recent_purchasers") == ref


def test_stats_of_another_generation_are_detected() -> None:
    store = MemoryObjectStore()
    ref = snapshot_ref("prod", "ws1", "suppress_recent_purchasers", DT)
    write_snapshot(store, ref, _build(["a"]))
    stats = json.loads(store.read_bytes(f"{ref.prefix}/_stats.json"))
    stats["generation"] = "crashed-run"
    store.write_bytes(f"{ref.prefix}/_stats.json", json.dumps(stats).encode())
    with pytest.raises(SnapshotCorrupt, match="generation"):
        read_snapshot_stats(store, ref)
    with pytest.raises(SnapshotNotFound):
        read_snapshot_members(
            store, snapshot_ref("prod", "ws1", "suppress_recent_purchasers", date(2020, 1, 1))
        )


def test_build_from_landing_partitions(tmp_path: Path) -> None:
    store = MemoryObjectStore()
    p_ref = PartitionRef("landing", "prod", "ws1", "people", DT)
    write_table(store, p_ref, people(person("l1"), person("l2", deleted=True)))
    local = fetch_landing_inputs(store, {"people": [p_ref]}, tmp_path)
    assert len(local["people"]) == 1 and local["people"][0].exists()
    o = orders(("l1", 5, ago(days=1)), ("l2", 5, ago(days=1)))
    build = build_audience(
        load_definition("suppress_recent_purchasers"),
        AudienceInputs(people=local["people"], warehouse={"orders": o}),
        as_of=AS_OF,
    )
    assert build.members.column("customer_id").to_pylist() == ["l1"]
    assert build.stats["exclusions"]["deleted"] == 1


def test_snapshot_audiences_returns_pointers_and_counts_only() -> None:
    from airflow_provider_cio.audiences import snapshot_audiences

    store = MemoryObjectStore()
    p = people(person("a"), person("b", ad_consent=False))
    o = orders(("a", 10, ago(days=2)), ("b", 10, ago(days=2)))
    result = snapshot_audiences(
        store,
        env="prod",
        workspace="ws1",
        inputs=AudienceInputs(people=p, warehouse={"orders": o}),
        audiences=["suppress_recent_purchasers"],
        as_of=AS_OF,
        parameters={"suppress_recent_purchasers": {"purchase_window_days": 7}},
    )
    entry = result["suppress_recent_purchasers"]
    assert (
        entry["prefix"] == "audiences/prod/ws1/suppress_recent_purchasers/dt=2026-05-31"
    )  # the interval's day
    assert entry["size"] == 1 and entry["exclusions"]["no_ad_consent"] == 1
    ref = snapshot_ref("prod", "ws1", "suppress_recent_purchasers", DT)
    assert read_snapshot_stats(store, ref)["parameters"] == {"purchase_window_days": 7}
