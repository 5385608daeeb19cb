"""The sync operator's platform and mode inputs: the enums' values pass, anything else fails naming the value."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from airflow_provider_cio.dag_config import Platform
from airflow_provider_cio.operators.audience_sync import CioAudienceSyncOperator, platform_of, sync_mode_of
from airflow_provider_cio.sync import SyncMode


@pytest.mark.parametrize("value", ["meta", "google", Platform.META, Platform.GOOGLE])
def test_platform_values_and_members_are_accepted(value: str) -> None:
    platform = platform_of(value)
    assert platform is Platform(value) and f"{platform}" == str(value)


@given(st.text(max_size=12).filter(lambda v: v not in {p.value for p in Platform}))
def test_any_other_platform_fails_naming_it(value: str) -> None:
    with pytest.raises(ValueError) as info:
        platform_of(value)
    assert repr(value) in str(info.value) and "meta, google" in str(info.value)


@given(st.sampled_from([m.value for m in SyncMode]) | st.text(max_size=12))
def test_a_rendered_mode_is_a_sync_mode_or_an_error_naming_it(value: str) -> None:
    if value in {m.value for m in SyncMode}:
        assert sync_mode_of(value) is SyncMode(value)
    else:
        with pytest.raises(ValueError) as info:
            sync_mode_of(value)
        assert repr(value) in str(info.value) and "upsert, mirror, replace" in str(info.value)


def test_the_operator_refuses_an_unknown_platform_when_the_dag_is_parsed() -> None:
    with pytest.raises(ValueError, match="not 'tiktok'"):
        CioAudienceSyncOperator(
            task_id="sync", audience="vips", platform="tiktok", conn_id="x", workspace="w"
        )
    task = CioAudienceSyncOperator(
        task_id="sync", audience="vips", platform="google", conn_id="x", workspace="w"
    )
    assert task.platform is Platform.GOOGLE
