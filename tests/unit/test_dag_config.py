"""The DAG config's per-audience ``platform_name``: the qualified default, and overrides that keep existing names."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from airflow_provider_cio.dag_config import DagConfigError, load_dag_config
from airflow_provider_cio.sync import ConfigurationError

CONFIG = Path(__file__).resolve().parents[2] / "dags" / "config" / "cio.yaml"


@pytest.fixture(autouse=True)
def _no_config_override(monkeypatch: pytest.MonkeyPatch) -> None:
    """``CIO_DAG_CONFIG`` (a user's shell, another suite) would win over the file each test writes."""
    monkeypatch.delenv("CIO_DAG_CONFIG", raising=False)


def write(tmp_path: Path, **audiences: dict[str, Any]) -> Path:
    raw = yaml.safe_load(CONFIG.read_text())
    raw["workspace"] = "acme"
    raw["audiences"]["definitions"] = audiences
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
