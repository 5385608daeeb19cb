"""What a sync does when a guard would block it (``on_guard``) and how long an approval waits: per audience, with the
audiences section's default, validated when the config is read."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from airflow_provider_cio.dag_config import DagConfigError, parse_dag_config

CONFIG = Path(__file__).resolve().parents[3] / "dags" / "config" / "cio.yaml"


def raw_config(**audience_keys: Any) -> dict[str, Any]:
    raw = yaml.safe_load(CONFIG.read_text())
    raw["audiences"]["definitions"]["engaged_clickers_14d"].update(audience_keys)
    return raw


def test_the_shipped_config_asks_on_call_and_an_audience_can_choose_otherwise() -> None:
    cfg = parse_dag_config(raw_config(on_guard="skip", approval_timeout_minutes=30))
    by_name = {a.name: a for a in cfg.audiences}
    assert cfg.guard_policy(by_name["suppress_recent_purchasers"]) == ("approve", 240.0)
    assert cfg.guard_policy(by_name["engaged_clickers_14d"]) == ("skip", 30.0)


def test_the_section_default_applies_to_audiences_without_their_own() -> None:
    raw = raw_config(approval_timeout_minutes=15)
    raw["audiences"]["on_guard"] = "fail"
    raw["audiences"]["approval_timeout_minutes"] = 60
    cfg = parse_dag_config(raw)
    by_name = {a.name: a for a in cfg.audiences}
    assert cfg.guard_policy(by_name["reactivation_tiers"]) == ("fail", 60.0)
    assert cfg.guard_policy(by_name["engaged_clickers_14d"]) == ("fail", 15.0)


@pytest.mark.parametrize(
    ("section", "key", "value", "message"),
    [
        ("audience", "on_guard", "ask", "on_guard: 'ask' is not one of approve, fail, skip"),
        ("audience", "on_guard", True, "on_guard: must be text, not bool True"),
        ("audience", "approval_timeout_minutes", 0, "approval_timeout_minutes: 0.0 is out of range"),
        (
            "audience",
            "approval_timeout_minutes",
            10**6,
            "approval_timeout_minutes: 1000000.0 is out of range",
        ),
        ("audience", "approval_timeout_minutes", "4h", "approval_timeout_minutes: must be a number"),
        ("section", "on_guard", "approved", "on_guard: 'approved' is not one of approve, fail, skip"),
        ("section", "approval_timeout_minutes", -1, "approval_timeout_minutes: -1.0 is out of range"),
    ],
)
def test_a_bad_policy_fails_when_read_naming_its_key(
    section: str, key: str, value: Any, message: str
) -> None:
    if section == "audience":
        raw, where = raw_config(**{key: value}), f"audiences.definitions.engaged_clickers_14d.{key}"
    else:
        raw, where = raw_config(), f"audiences.{key}"
        raw["audiences"][key] = value
    with pytest.raises(DagConfigError) as bad:
        parse_dag_config(raw, source="cio.yaml")
    assert str(bad.value).startswith(f"cio.yaml: {where.rsplit('.', 1)[0]}.{message}"), str(bad.value)
    assert bad.value.key == where


def test_the_policies_are_the_sync_cores() -> None:
    from airflow_provider_cio.dag_config import ON_GUARD
    from airflow_provider_cio.sync.approval import ON_GUARD as CORE

    assert ON_GUARD == CORE
