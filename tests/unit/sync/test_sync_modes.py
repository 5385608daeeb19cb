"""Each sync mode against the Meta emulator through the real SDK: the final membership is what the mode promises."""

from __future__ import annotations

from meta_sync_support import make_members, sha
from sync_request_support import sync_with

from airflow_provider_cio.sync import Guardrails, SyncRequest

GUARDS = Guardrails(min_size=10)
NAME = "high value buyers"
# What these tests hold fixed; each call names its mode and members.
sync = sync_with(SyncRequest(audience_name=NAME, members=(), guards=GUARDS, quality_passed=True))


def extern_ids(members: dict[str, dict[str, set[str]]]) -> set[str]:
    return {key.removeprefix("x:") for key in members}


def test_mirror_adds_new_and_removes_departed(emulator, destination, store):
    first = sync(destination, store, members=make_members(range(250)), mode="mirror")
    assert first.plan["adds"] == 250 and first.batches_sent == 3
    second = sync(destination, store, members=make_members(range(20, 270)), mode="mirror")
    assert (
        second.plan["adds"] == 20 and second.plan["removes"] == 20 and second.plan["unchanged_members"] == 230
    )
    assert second.rows_sent == 40
    assert extern_ids(emulator.audience_members(second.audience_id)) == {
        f"cust-{i:06d}" for i in range(20, 270)
    }


def test_mirror_changed_identifiers_remove_old_and_add_new(emulator, destination, store):
    sync(destination, store, members=make_members(range(50)), mode="mirror")
    changed = make_members(range(10), email_salt="-new") + make_members(range(10, 50))
    report = sync(destination, store, members=changed, mode="mirror")
    assert report.plan["changed_members"] == 10 and report.plan["adds"] == 10 and report.plan["removes"] == 10
    person = emulator.audience_members(report.audience_id)["x:cust-000003"]
    # Meta removes people, never one identifier of a person who stays: the lost email is not sent for removal
    assert sha("person3@example.com-new") in person["EMAIL"]
    assert not any(extern == "cust-000003" for extern, _ in emulator.removal_rows(report.audience_id))
    assert len(emulator.audience_members(report.audience_id)) == 50


def test_upsert_only_adds_and_keeps_departed_members(emulator, destination, store):
    sync(destination, store, members=make_members(range(100)), mode="upsert")
    report = sync(destination, store, members=make_members(range(80, 130)), mode="upsert")
    assert report.plan["adds"] == 30 and report.plan["removes"] == 0 and report.plan["expected_size"] == 130
    assert not any(r["method"] == "DELETE" for r in emulator.requests)
    assert len(emulator.audience_members(report.audience_id)) == 130
    # the state is the union, so a later mirror removes what upsert left behind
    mirror = sync(destination, store, members=make_members(range(20, 130)), mode="mirror")
    assert mirror.plan["removes"] == 20
    assert len(emulator.audience_members(mirror.audience_id)) == 110


def test_replace_sends_everything_through_usersreplace(emulator, destination, store):
    sync(destination, store, members=make_members(range(200)), mode="mirror")
    report = sync(destination, store, members=make_members(range(50, 230)), mode="replace")
    assert report.plan["replace_rows"] == 180 and report.rows_sent == 180
    edits = [r for r in emulator.edit_requests() if r["operation"] == "replace"]
    assert [r["batch_seq"] for r in edits] == [1, 2] and [r["last_batch_flag"] for r in edits] == [
        False,
        True,
    ]
    assert len({r["session_id"] for r in edits}) == 1
    assert extern_ids(emulator.audience_members(report.audience_id)) == {
        f"cust-{i:06d}" for i in range(50, 230)
    }


def test_one_session_per_operation_with_ordered_batches(emulator, destination, store):
    sync(destination, store, members=make_members(range(350)), mode="mirror")
    adds = emulator.edit_requests()
    assert [r["batch_seq"] for r in adds] == [1, 2, 3, 4]
    assert [r["last_batch_flag"] for r in adds] == [False, False, False, True]
    assert len({r["session_id"] for r in adds}) == 1
    assert all(r["rows"] <= 100 for r in adds)


def test_removals_travel_in_the_request_body_not_the_url(emulator, destination, store):
    sync(destination, store, members=make_members(range(120)), mode="mirror")
    sync(destination, store, members=make_members(range(10, 120)), mode="mirror")
    deletes = [r for r in emulator.edit_requests() if r["method"] == "DELETE"]
    assert deletes and deletes[0]["rows"] == 10
    assert "payload" not in deletes[0]["query_keys"] and "session" not in deletes[0]["query_keys"]
