"""The DAG config's per-audience ``platform_name``: the qualified default, and overrides that keep existing names."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from airflow_provider_cio.dag_config import DagConfigError, load_dag_config
from airflow_provider_cio.sync import ConfigurationError

CONFIG = Path(__file__).resolve().parents[3] / "dags" / "config" / "cio.yaml"


@pytest.fixture(autouse=True)
def _no_config_override(monkeypatch: pytest.MonkeyPatch) -> None:
    """``CIO_DAG_CONFIG`` (a user's shell, another suite) would win over the file each test writes."""
    monkeypatch.delenv("CIO_DAG_CONFIG", raising=False)


def write(tmp_path: Path, **audiences: dict[str, Any]) -> Path:
    raw = yaml.safe_load(CONFIG.read_text())
    raw["workspace"] = "acme"
    raw["audiences"]["definitions"] = audiences
    raw["cart_recovery"]["audiences"] = [a for a in raw["cart_recovery"]["audiences"] if a in audiences]
    path = tmp_path / "cio.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def test_every_reference_audience_defaults_to_its_qualified_name() -> None:
    cfg = load_dag_config(CONFIG)
    for audience in cfg.audiences:
        for platform in audience.destinations:
            expected = f"cio/{cfg.env}/{cfg.workspace}/{audience.name}"
            assert cfg.platform_audience_name(audience, platform) == expected


def test_platform_name_keeps_an_existing_name_on_every_or_on_one_destination(tmp_path: Path) -> None:
    cfg = load_dag_config(
        write(
            tmp_path,
            winback={"destinations": ["meta", "google"], "platform_name": "winback"},
            vip={"destinations": ["meta", "google"], "platform_name": {"meta": "VIP (legacy)"}},
        )
    )
    audiences = {a.name: a for a in cfg.audiences}
    winback, vip = audiences["winback"], audiences["vip"]
    assert [cfg.platform_audience_name(winback, p) for p in ("meta", "google")] == ["winback", "winback"]
    assert cfg.platform_audience_name(vip, "meta") == "VIP (legacy)"
    assert cfg.platform_audience_name(vip, "google") == "cio/dev/acme/vip"


@pytest.mark.parametrize(
    ("platform_name", "message"),
    [({"tiktok": "x"}, "not among its destinations"), (["x"], "a name or a mapping")],
)
def test_a_mistyped_platform_name_is_a_config_error(tmp_path: Path, platform_name: Any, message: str) -> None:
    with pytest.raises(DagConfigError, match=message):
        load_dag_config(write(tmp_path, vip={"destinations": ["meta"], "platform_name": platform_name}))


def test_an_over_long_name_fails_when_the_dag_is_wired(tmp_path: Path) -> None:
    cfg = load_dag_config(write(tmp_path, vip={"destinations": ["meta"], "platform_name": "v" * 300}))
    with pytest.raises(ConfigurationError, match="platform_name"):
        cfg.platform_audience_name(cfg.audiences[0], "meta")


@pytest.mark.parametrize(
    ("pool", "expected"), [("customerio_api", "customerio_api"), ("", None), (None, None)]
)
def test_the_app_api_pool_is_optional(tmp_path: Path, pool: str | None, expected: str | None) -> None:
    """Unset means the default pool (a pool that does not exist would never be scheduled)."""
    from airflow_provider_cio.dag_config import read_dag_config
    from airflow_provider_cio.dag_wiring import app_api_export

    raw = yaml.safe_load(CONFIG.read_text())
    raw["export"]["pool"] = pool
    path = tmp_path / "cio.yaml"
    path.write_text(yaml.safe_dump(raw))
    cfg = read_dag_config(path)
    assert cfg.customerio_pool == expected
    assert app_api_export(cfg).get("pool") == expected


def _with(path: str, value: Any) -> dict[str, Any]:
    """The reference config with the value at the dotted ``path`` replaced (or added)."""
    raw = yaml.safe_load(CONFIG.read_text())
    *parents, leaf = path.split(".")
    node = raw
    for key in parents:
        node = node[key]
    node[leaf] = value
    return raw


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (
            "audiences.max_shrink",
            1.5,
            "audiences.max_shrink: 1.5 is out of range: must be between 0.0 and 1.0",
        ),
        ("audiences.min_size", -5, "audiences.min_size: -5 is out of range: must be at least 0"),
        ("export.max_rejected_rate", 5, "export.max_rejected_rate: 5.0 is out of range"),
        ("export.source", "dataot", "export.source: 'dataot' is not one of app_api, dataout"),
        (
            "audiences.definitions.engaged_clickers_14d.mode",
            "mirorr",
            "audiences.definitions.engaged_clickers_14d.mode: 'mirorr' is not one of upsert, mirror, replace",
        ),
        ("export.datasets", ["people", "delivery"], "export.datasets: 'delivery' is not one of people, "),
        (
            "audiences.definitions.reactivation_tiers.destinations",
            ["meta", "tiktok"],
            "audiences.definitions.reactivation_tiers.destinations: 'tiktok' is not one of meta, google",
        ),
        ("retries", "2", "retries: must be a whole number, not str '2'"),
        ("catchup", "yes", "catchup: must be true or false, not str 'yes'"),
        ("audiences.min_size", 10.5, "audiences.min_size: must be a whole number, not float 10.5"),
        ("export.poll_interval", None, "export.poll_interval: must be a number, not nothing (null)"),
        ("audiences.max_shrink", float("nan"), "audiences.max_shrink: must be a finite number, not nan"),
        ("export.soruce", "app_api", "export.soruce: unknown key (allowed here: source, datasets,"),
        ("audiences.max_shrnk", 0.3, "audiences.max_shrnk: unknown key"),
        ("holdout.share", 1.2, "holdout.share: 1.2 is out of range"),
        ("holdout.salt", "", "holdout.salt: is empty"),
        (
            "cart_recovery.datasets",
            ["people"],
            "cart_recovery.datasets: 'people' is not one of events, deliveries",
        ),
        (
            "cart_recovery.audiences",
            ["high_intent_carts"],
            "cart_recovery.audiences: 'high_intent_carts' is not one",
        ),
        ("export.settle_minutes", -1, "export.settle_minutes: -1.0 is out of range"),
        ("start_date", "2026-13-01", "start_date: '2026-13-01' is not a date"),
        ("container", "Customer_IO", "container: 'Customer_IO' is not an Azure container name"),
        (
            "connections",
            {"blob": "cio_blob", "customerio": "cio_api", "meta": "cio_meta"},
            "connections.google: is missing",
        ),
    ],
)
def test_a_bad_value_fails_when_read_naming_its_key(path: str, value: Any, message: str) -> None:
    """Each of these loaded before (issue 16, defect 7): the shrink guard off, a negative size, a typo'd source."""
    from airflow_provider_cio.dag_config import parse_dag_config

    with pytest.raises(DagConfigError) as bad:
        parse_dag_config(_with(path, value), source="cio.yaml")
    assert str(bad.value).startswith(f"cio.yaml: {message}"), str(bad.value)
    assert bad.value.error_class == "configuration"
    assert bad.value.key == message.split(":")[0]


def test_the_salt_is_never_echoed() -> None:
    from airflow_provider_cio.dag_config import parse_dag_config

    raw = _with("holdout.share", 7)
    with pytest.raises(DagConfigError) as bad:
        parse_dag_config(raw)
    assert raw["holdout"]["salt"] not in str(bad.value)


def test_defaults_live_in_the_sections_and_a_minimal_config_loads() -> None:
    from airflow_provider_cio.dag_config import ExportConfig, parse_dag_config

    cfg = parse_dag_config(
        {
            "env": "dev",
            "workspace": "acme",
            "start_date": "2026-11-01",
            "connections": {"blob": "b", "customerio": "c"},
        }
    )
    assert cfg.export == ExportConfig()
    assert (cfg.min_size, cfg.max_shrink, cfg.retries, cfg.holdout, cfg.audiences) == (100, 0.3, 2, None, ())
    # the DAGs' start_date: the configured day at midnight UTC, aware (a naive one would be read as local time)
    assert cfg.start == datetime(2026, 11, 1, tzinfo=UTC)
    assert cfg.start.utcoffset() == timedelta(0)


def test_the_enumerations_are_the_sync_cores_and_the_operators() -> None:
    from airflow_provider_cio.dag_config import SYNC_MODES, Platform
    from airflow_provider_cio.operators.audience_sync import platform_of, sync_mode_of
    from airflow_provider_cio.sync.plan import SYNC_MODES as CORE_MODES

    assert SYNC_MODES == CORE_MODES
    assert [sync_mode_of(mode).value for mode in SYNC_MODES] == list(CORE_MODES)
    # the operator takes the config's platforms, and only them
    assert [platform_of(p.value) for p in Platform] == list(Platform)
    with pytest.raises(ValueError, match="not 'tiktok'"):
        platform_of("tiktok")


def _leaves(node: Any, prefix: str = "") -> list[str]:
    if isinstance(node, dict):
        return [leaf for key, value in node.items() for leaf in _leaves(value, f"{prefix}{key}.")]
    return [prefix.rstrip(".")]


LEAVES = _leaves(yaml.safe_load(CONFIG.read_text()))
JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.lists(st.text(max_size=8), max_size=3),
    st.dictionaries(st.text(max_size=6), st.integers(), max_size=2),
)


@settings(max_examples=300, deadline=None)
@given(changes=st.lists(st.tuples(st.sampled_from(LEAVES), JUNK), min_size=1, max_size=3))
def test_any_value_anywhere_either_loads_within_range_or_is_a_config_error(
    changes: list[tuple[str, Any]],
) -> None:
    """Generated bad input: never a KeyError, TypeError or a config whose guards are off."""
    import math

    from airflow_provider_cio.dag_config import SYNC_MODES, parse_dag_config

    raw = yaml.safe_load(CONFIG.read_text())
    for path, value in changes:
        *parents, leaf = path.split(".")
        node = raw
        for key in parents:
            node = node[key] if isinstance(node.get(key), dict) else node.setdefault(key, {})
            if not isinstance(node, dict):
                break
        else:
            node[leaf] = value
    try:
        cfg = parse_dag_config(raw)
    except DagConfigError as bad:
        assert str(bad).startswith("cio.yaml: ") and bad.key
        return
    assert 0.0 <= cfg.max_shrink <= 1.0 and cfg.min_size >= 0
    assert 0.0 <= cfg.export.max_rejected_rate <= 1.0 and math.isfinite(cfg.export.poll_interval)
    assert all(a.mode in SYNC_MODES and set(a.destinations) <= {"meta", "google"} for a in cfg.audiences)
    assert cfg.holdout is None or 0.0 <= cfg.holdout.share < 1.0
