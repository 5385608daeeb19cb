"""Platform audience names carry env and workspace, so two deployments syncing one definition to one ad account
(the Meta emulator here) never mirror into one audience; an audience another deployment owns is refused."""

from __future__ import annotations

import pytest
from meta_sync_support import ACCOUNT, make_members

from airflow_provider_cio.sync import ConfigurationError, Guardrails, SyncRequest, run_sync
from airflow_provider_cio.sync.naming import (
    MAX_NAME_LENGTH,
    AudienceOwner,
    platform_audience_name,
    refuse_foreign_audience,
)

AUDIENCE = "suppress_recent_purchasers"
GUARDS = Guardrails(min_size=10, max_shrink=0.9)


def sync_as(destination, store, env: str, workspace: str, ids: range, *, override: str | None = None):  # type: ignore[no-untyped-def]
    """What the sync operator does for one deployment: its name, its owner marker, its own ledger."""
    return run_sync(
        destination,
        store,
        SyncRequest(
            audience_name=platform_audience_name(env, workspace, AUDIENCE, override=override),
            members=make_members(ids),
            mode="mirror",
            guards=GUARDS,
            quality_passed=True,
            ledger_root=f"ledger/{env}/{workspace}",
            description=AudienceOwner(env, workspace, AUDIENCE).description(),
        ),
    )


def extern_ids(emulator, audience_id: str) -> set[str]:  # type: ignore[no-untyped-def]
    return {key.removeprefix("x:") for key in emulator.audience_members(audience_id)}


def customers(ids: range) -> set[str]:
    return {f"cust-{i:06d}" for i in ids}


def test_the_default_name_is_qualified_and_an_override_keeps_an_existing_name() -> None:
    assert platform_audience_name("prod", "acme", AUDIENCE) == f"cio/prod/acme/{AUDIENCE}"
    # "-" may appear in env and workspace; "/" may not, so two owners never share a name
    assert platform_audience_name("prod-eu", "acme", AUDIENCE) != platform_audience_name(
        "prod", "eu-acme", AUDIENCE
    )
    assert platform_audience_name("prod", "acme", AUDIENCE, override=AUDIENCE) == AUDIENCE


@pytest.mark.parametrize("override", ["", "  ", "x" * (MAX_NAME_LENGTH + 1)])
def test_an_empty_or_over_long_name_is_a_configuration_error(override: str) -> None:
    with pytest.raises(ConfigurationError, match="platform audience name"):
        platform_audience_name("prod", "acme", AUDIENCE, override=override)


def test_a_long_workspace_fails_with_the_fix_named() -> None:
    with pytest.raises(ConfigurationError, match="platform_name") as info:
        platform_audience_name("prod", "w" * MAX_NAME_LENGTH, AUDIENCE)
    assert f"over the {MAX_NAME_LENGTH}" in str(info.value)


def test_the_owner_marker_reads_back_the_description_earlier_versions_wrote() -> None:
    legacy = f"Customer.io audience {AUDIENCE} (prod/acme-eu), synced by Airflow"
    assert AudienceOwner.from_description(legacy) == AudienceOwner("prod", "acme-eu", AUDIENCE)
    owner = AudienceOwner("dev", "demo", AUDIENCE)
    assert AudienceOwner.from_description(owner.description()) == owner
    assert AudienceOwner.from_description("made by hand for the spring sale") is None
    assert AudienceOwner.from_description(None) is None


def test_only_a_marker_naming_another_owner_is_refused() -> None:
    ours = AudienceOwner("prod", "acme", AUDIENCE).description()
    refuse_foreign_audience("meta", AUDIENCE, ours, ours)
    refuse_foreign_audience("meta", AUDIENCE, "made by hand", ours)  # unmarked: adopted as before
    refuse_foreign_audience("meta", AUDIENCE, AudienceOwner("dev", "demo", AUDIENCE).description(), "")
    for theirs in (AudienceOwner("dev", "acme", AUDIENCE), AudienceOwner("prod", "acme", "other_definition")):
        with pytest.raises(ConfigurationError, match=f"belongs to {theirs}, not to prod/acme/{AUDIENCE}"):
            refuse_foreign_audience("meta", AUDIENCE, theirs.description(), ours)


def test_two_workspaces_sync_one_definition_to_one_ad_account_into_two_audiences(
    emulator, destination, store
):
    first = sync_as(destination, store, "prod", "acme", range(0, 60))
    second = sync_as(destination, store, "prod", "acme-eu", range(40, 100))
    assert first.audience_id != second.audience_id
    assert emulator.audience_ids() == {
        f"cio/prod/acme/{AUDIENCE}": first.audience_id,
        f"cio/prod/acme-eu/{AUDIENCE}": second.audience_id,
    }
    assert extern_ids(emulator, first.audience_id) == customers(range(0, 60))
    assert extern_ids(emulator, second.audience_id) == customers(range(40, 100))

    # each mirror removes only its own departed members: the overlap 40..59 stays in the other audience
    again = sync_as(destination, store, "prod", "acme", range(0, 20))
    assert again.audience_id == first.audience_id and again.plan["removes"] == 40
    assert extern_ids(emulator, first.audience_id) == customers(range(0, 20))
    assert extern_ids(emulator, second.audience_id) == customers(range(40, 100))
    described = emulator.state.audience(second.audience_id).description
    assert AudienceOwner.from_description(described) == AudienceOwner("prod", "acme-eu", AUDIENCE)


def test_an_override_onto_another_workspaces_audience_is_refused_before_anything_is_sent(
    emulator, destination, store
):
    owner = sync_as(destination, store, "prod", "acme", range(0, 60))
    edits = len(emulator.edit_requests())
    with pytest.raises(ConfigurationError, match="belongs to prod/acme/") as info:
        sync_as(destination, store, "dev", "acme", range(100, 130), override=f"cio/prod/acme/{AUDIENCE}")
    assert "who must act: the owner of the DAG config" in str(info.value)
    assert len(emulator.edit_requests()) == edits
    assert extern_ids(emulator, owner.audience_id) == customers(range(0, 60))


def test_an_existing_unmarked_audience_is_kept_through_the_override(emulator, destination, store):
    existing = emulator.state.create_audience(
        ACCOUNT,
        {"name": AUDIENCE, "description": "made by hand", "customer_file_source": "USER_PROVIDED_ONLY"},
    )
    report = sync_as(destination, store, "prod", "acme", range(0, 30), override=AUDIENCE)
    assert report.audience_id == existing.id
    assert extern_ids(emulator, existing.id) == customers(range(0, 30))
