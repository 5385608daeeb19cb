"""The ledger's paths come from the layout: what a sync writes is where readers (pipeline state, demo) look."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from meta_sync_support import make_members

from airflow_provider_cio.landing.layout import (
    audience_ledger,
    ledger_root,
    ledger_run,
    ledger_run_done,
    ledger_state_pointer,
)
from airflow_provider_cio.sync import Guardrails, SyncRequest, run_sync
from airflow_provider_cio.sync.runner import audience_slug, ledger_prefix

segment = st.text(st.characters(codec="ascii", exclude_characters="/"), min_size=1, max_size=12)


@given(segment, segment, st.integers(0, 3), segment, st.text(max_size=30))
def test_one_audience_ledger_sits_under_its_root_whatever_the_names(
    env: str, workspace: str, slashes: int, platform: str, name: str
) -> None:
    root = ledger_root(env, workspace) + "/" * slashes
    ledger = ledger_prefix(root, platform, name)
    assert ledger == audience_ledger(root, platform, audience_slug(name))
    assert ledger.startswith(f"ledger/{env}/{workspace}/{platform}/") and "//" not in ledger.replace(
        "://", ""
    )
    assert ledger_state_pointer(ledger).startswith(ledger + "/") and ledger_run_done(ledger, "r").startswith(
        ledger_run(ledger, "r") + "/"
    )


def test_a_sync_writes_its_state_and_report_where_the_layout_says(destination, store) -> None:
    request = SyncRequest(
        audience_name="vips",
        members=make_members(range(20)),
        guards=Guardrails(min_size=1),
        quality_passed=True,
    )
    report = run_sync(destination, store, request)
    ledger = audience_ledger("ledger", "meta", audience_slug("vips"))
    assert store.exists(ledger_state_pointer(ledger))
    assert store.exists(ledger_run_done(ledger, report.run_id))
