"""A sync diffs against the ledger only while the platform audience is the one that holds the ledger's members.

Deleted in Ads Manager (so recreated by the next sync), the audience starts empty: sending only the day's adds and
removes would leave it with a handful of members while the ledger claims thousands.
"""

from __future__ import annotations

from meta_sync_support import make_members
from sync_request_support import sync_with

from airflow_provider_cio.sync import Guardrails, SyncRequest

NAME = "carts"
sync = sync_with(
    SyncRequest(audience_name=NAME, members=(), guards=Guardrails(min_size=10), quality_passed=True)
)


def test_a_deleted_audience_is_recreated_and_filled_in_full(emulator, destination, store):
    from facebook_business.adobjects.customaudience import CustomAudience

    first = sync(destination, store, members=make_members(range(150)))
    CustomAudience(first.audience_id, api=destination.api).api_delete()  # as a user would, through the API

    after = sync(destination, store, members=make_members(range(20, 160)))

    assert after.status == "synced" and after.replaced_audience_id == first.audience_id
    assert after.audience_id != first.audience_id
    assert after.plan["adds"] == 140 and after.plan["removes"] == 0
    assert len(emulator.audience_members(after.audience_id)) == 140
    # and from there on, deltas again
    later = sync(destination, store, members=make_members(range(20, 161)))
    assert later.replaced_audience_id is None and later.audience_id == after.audience_id
    assert later.plan["adds"] == 1 and len(emulator.audience_members(later.audience_id)) == 141


def test_a_duplicate_made_later_does_not_divert_the_sync(emulator, destination, store):
    first = sync(destination, store, members=make_members(range(100)))
    copy = emulator.state.create_audience(
        destination.ad_account_id, {"name": NAME, "customer_file_source": "USER_PROVIDED_ONLY"}
    )

    after = sync(destination, store, members=make_members(range(10, 110)))

    assert after.audience_id == first.audience_id and after.replaced_audience_id is None
    assert after.plan["adds"] == 10 and after.plan["removes"] == 10
    assert len(emulator.audience_members(first.audience_id)) == 100
    assert emulator.audience_members(copy.id) == {}
