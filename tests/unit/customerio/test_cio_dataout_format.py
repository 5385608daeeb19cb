"""Data-out and Data Pipelines file names: one rule to write and parse them."""

from __future__ import annotations

from airflow_provider_cio.customerio.dataout_format import (
    DATAOUT_COLUMNS,
    DATAOUT_KEYS,
    dataout_arrow_schema,
    dataout_file_name,
    parse_dataout_name,
    parse_pipelines_name,
    pipelines_file_name,
)


def test_the_real_file_name_seen_in_the_wild_parses() -> None:
    parsed = parse_dataout_name("cio/attributes_v4_111528_241600000000311123.parquet")
    assert parsed is not None
    assert (parsed.dataset, parsed.version, parsed.workspace_id, parsed.sequence) == (
        "attributes",
        4,
        111528,
        241600000000311123,
    )


def test_dataout_names_round_trip_including_the_content_stem() -> None:
    name = dataout_file_name("content", 4, 7, 99)
    assert name == "delivery_contents_v4_7_99.parquet"
    parsed = parse_dataout_name(name)
    assert parsed is not None and parsed.dataset == "content"
    for dataset in DATAOUT_COLUMNS:
        parsed = parse_dataout_name(dataout_file_name(dataset, 4, 111528, 5))
        assert parsed is not None and parsed.dataset == dataset


def test_other_names_are_not_dataout_files() -> None:
    for name in ["_manifest.json", "people.parquet", "people_v4_x_1.parquet", "people_v4_1_2.json"]:
        assert parse_dataout_name(name) is None


def test_files_sort_in_apply_order() -> None:
    names = [dataout_file_name("people", 4, 1, s) for s in (30, 4, 200)]
    ordered = sorted(p for p in map(parse_dataout_name, names) if p is not None)
    assert [p.sequence for p in ordered] == [4, 30, 200]


def test_pipelines_names() -> None:
    name = pipelines_file_name("int_1", "act_2", 12, "track", "parquet")
    assert name == "int_1.act_2.12.track.parquet"
    parsed = parse_pipelines_name(f"some/prefix/{name}")
    assert parsed is not None and (parsed.position, parsed.call_type, parsed.ext) == (12, "track", "parquet")
    assert parse_pipelines_name("int_1.act_2.x.track.csv") is None


def test_schemas_and_keys_agree() -> None:
    for dataset, keys in DATAOUT_KEYS.items():
        schema = dataout_arrow_schema(dataset)
        assert all(k in schema.names for k in keys)
    assert str(dataout_arrow_schema("people", "ms").field("created_at").type) == "timestamp[ms, tz=UTC]"
