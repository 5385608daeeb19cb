"""Meta Custom Audiences: the Graph emulator follows Meta's documented rules, driven by the official SDK's own calls.

These tests use facebook-business the way its docs show (``CustomAudience.add_users`` / ``remove_users`` with
single-key and multi-key schemas, upload sessions, ``usersreplace``), never our destination, so a rule the emulator
gets wrong cannot hide behind the same mistake in our code. One test per rule; each names the page it encodes.
Time is the emulator's injectable clock (seconds), so "applied later" is checked without sleeping.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from typing import Any

import pytest

from cio_devkit.emulators.meta import MetaGraphEmulator
from cio_devkit.emulators.meta.settings import MetaEmulatorSettings

TOKEN = "conformance-token"
SECRET = "conformance-secret"
ACCOUNT = "act_777"
USERS_REF = "https://developers.facebook.com/docs/marketing-api/reference/custom-audience/users"
REPLACE_REF = "https://developers.facebook.com/docs/marketing-api/reference/custom-audience/usersreplace"
GUIDE = "https://developers.facebook.com/docs/marketing-api/audiences/guides/custom-audiences"


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


class Clock:
    """The emulator's clock, moved by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def make_emulator(clock: Clock) -> Iterator[Any]:
    started: list[MetaGraphEmulator] = []

    def build(**settings: Any) -> MetaGraphEmulator:
        emulator = MetaGraphEmulator(
            access_token=TOKEN,
            app_secret=SECRET,
            ad_account_id=ACCOUNT,
            settings=MetaEmulatorSettings(**settings),
            clock=clock,
        ).start()
        started.append(emulator)
        return emulator

    yield build
    for emulator in started:
        emulator.stop()


def sdk_audience(emulator: MetaGraphEmulator, name: str = "conformance") -> Any:
    """A ``CustomAudience`` bound to a private SDK client pointed at the emulator (never ``FacebookAdsApi.init``)."""
    from facebook_business.adobjects.adaccount import AdAccount
    from facebook_business.adobjects.customaudience import CustomAudience
    from facebook_business.api import FacebookAdsApi
    from facebook_business.session import FacebookSession

    session = FacebookSession(app_secret=SECRET, access_token=TOKEN)
    session.GRAPH = emulator.url
    api = FacebookAdsApi(session, api_version="v26.0")
    created = AdAccount(ACCOUNT, api=api).create_custom_audience(
        params={
            "name": name,
            "subtype": CustomAudience.Subtype.custom,
            "customer_file_source": "USER_PROVIDED_ONLY",
        }
    )
    return CustomAudience(created["id"], api=api)


def members(emulator: MetaGraphEmulator, audience: Any) -> set[str]:
    return set(emulator.audience_members(audience["id"]))


def hashes(emulator: MetaGraphEmulator, audience: Any) -> set[str]:
    return {
        value
        for person in emulator.audience_members(audience["id"]).values()
        for values in person.values()
        for value in values
    }


def multi_key(audience: Any, rows: list[list[str]], *, remove: bool = False, session: Any = None) -> Any:
    call = audience.remove_users if remove else audience.add_users
    return call(["EXTERN_ID", "EMAIL"], rows, is_raw=True, pre_hashed=True, session=session)


def replace_batch(audience: Any, rows: list[list[str]], *, sid: int, seq: int, last: bool) -> Any:
    params = {
        "payload": {"schema": ["EXTERN_ID", "EMAIL"], "data": rows},
        "session": {"session_id": sid, "batch_seq": seq, "last_batch_flag": last, "estimated_num_total": 10},
    }
    return audience.get_api_assured().call("POST", (audience["id"], "usersreplace"), params=params)


def graph_error(call: Any) -> Any:
    from facebook_business.exceptions import FacebookRequestError

    with pytest.raises(FacebookRequestError) as info:
        call()
    return info.value


def test_single_key_add_users_is_accepted_then_applied_later(make_emulator, clock):
    """Users reference (USERS_REF): schema EMAIL_SHA256 with a flat list of hashes is what ``add_users`` sends for
    one kind; "Changes to your Custom Audiences don't happen immediately and usually take up to 24 hours"."""
    emulator = make_emulator(add_delay=3600.0)
    audience = sdk_audience(emulator)
    response = audience.add_users(
        audience.Schema.email_hash, [sha("a@example.com"), sha("b@example.com")], pre_hashed=True
    ).json()
    assert response["num_received"] == 2 and response["num_invalid_entries"] == 0
    assert members(emulator, audience) == set()  # accepted is not applied
    clock.advance(3599.0)
    assert members(emulator, audience) == set()
    clock.advance(1.0)
    assert hashes(emulator, audience) == {sha("a@example.com"), sha("b@example.com")}


def test_single_key_remove_users_removes_the_person_the_hash_matches(make_emulator):
    """Users reference, DELETE /{id}/users (USERS_REF): ``remove_users`` with a single-key schema; Meta removes the
    person a row matches, whatever other keys that person was uploaded with."""
    emulator = make_emulator()
    audience = sdk_audience(emulator)
    multi_key(audience, [["c1", sha("a@example.com")], ["c2", sha("b@example.com")]])
    audience.remove_users(audience.Schema.email_hash, [sha("a@example.com")], pre_hashed=True)
    assert members(emulator, audience) == {"x:c2"}


def test_rows_sharing_an_extern_id_are_one_person(make_emulator):
    """Guide, "External identifiers" (GUIDE): rows with one EXTERN_ID describe one person (multi-key, is_raw)."""
    emulator = make_emulator()
    audience = sdk_audience(emulator)
    multi_key(audience, [["c1", sha("a@example.com")], ["c1", sha("a2@example.com")]])
    assert members(emulator, audience) == {"x:c1"}
    assert hashes(emulator, audience) == {sha("a@example.com"), sha("a2@example.com")}


@pytest.mark.parametrize("reading", ["any_key", "extern_id"])
def test_a_removal_row_naming_a_person_by_extern_id_removes_the_person(make_emulator, reading):
    """Users reference, DELETE (USERS_REF) and "External identifiers" (GUIDE): a removal row removes a *person*, not
    one identifier. A row carrying the EXTERN_ID of someone who stays (with an email they lost) removes them under
    either reading: this is why our destination never sends such a row."""
    emulator = make_emulator(removal_match=reading)
    audience = sdk_audience(emulator)
    multi_key(audience, [["c1", sha("old@example.com")], ["c1", sha("new@example.com")]])
    multi_key(audience, [["c1", sha("old@example.com")]], remove=True)
    assert members(emulator, audience) == set()


@pytest.mark.parametrize(("reading", "removed"), [("any_key", True), ("extern_id", False)])
def test_a_removal_row_without_extern_id_matches_by_hashed_keys(make_emulator, reading, removed):
    """Users reference, DELETE (USERS_REF): without EXTERN_ID a row matches by its hashed keys. Whether a row that
    names a known EXTERN_ID *and* another person's hash removes that other person too is the ambiguous part, a
    setting (``removal_match``); a row without EXTERN_ID removes whoever holds one of its hashes in both."""
    emulator = make_emulator(removal_match=reading)
    audience = sdk_audience(emulator)
    multi_key(
        audience, [["c1", sha("shared@example.com")], ["c2", sha("b@example.com")], ["c3", sha("c@x.com")]]
    )
    multi_key(audience, [["c2", sha("shared@example.com")]], remove=True)
    assert ("x:c1" not in members(emulator, audience)) is removed
    assert "x:c2" not in members(emulator, audience) and "x:c3" in members(emulator, audience)
    multi_key(audience, [["", sha("c@x.com")]], remove=True)
    assert "x:c3" not in members(emulator, audience)


def test_no_order_between_an_add_and_a_removal(make_emulator, clock):
    """Guide (GUIDE): removals take longer ("The number of records you request to remove ... will increase the
    amount of time"); no order between requests is promised. A removal sent before an add can land after it."""
    emulator = make_emulator(add_delay=60.0, remove_delay=600.0)
    audience = sdk_audience(emulator)
    multi_key(audience, [["c1", sha("a@example.com")]], remove=True)
    multi_key(audience, [["c1", sha("a@example.com")]])
    clock.advance(60.0)
    assert members(emulator, audience) == {"x:c1"}
    clock.advance(540.0)
    assert members(emulator, audience) == set()  # the older removal applied last


def test_sessions_number_batches_from_one_and_refuse_repeats(make_emulator):
    """Users reference, ``session`` (USERS_REF): ``session_id``, ``batch_seq`` from 1, ``last_batch_flag``."""
    emulator = make_emulator()
    audience = sdk_audience(emulator)
    first = {"session_id": 11, "batch_seq": 1, "last_batch_flag": False, "estimated_num_total": 2}
    assert multi_key(audience, [["c1", sha("1")]], session=first).json()["session_id"] == "11"
    repeat = graph_error(lambda: multi_key(audience, [["c2", sha("2")]], session=first))
    assert repeat.api_error_code() == 100
    done = {**first, "batch_seq": 2, "last_batch_flag": True}
    assert multi_key(audience, [["c2", sha("2")]], session=done).json()["num_received"] == 1
    sessions = audience.get_api_assured().call("GET", (audience["id"], "sessions")).json()["data"]
    assert [(s["session_id"], s["num_received"]) for s in sessions] == [("11", 2)]


def test_usersreplace_swaps_membership_only_after_its_last_batch(make_emulator, clock):
    """Usersreplace reference (REPLACE_REF): the audience is replaced by what the session sent, once the session
    ends; while a replace session is open the audience takes no adds or removals."""
    emulator = make_emulator(replace_delay=120.0)
    audience = sdk_audience(emulator)
    multi_key(audience, [["old", sha("old")]])
    replace_batch(audience, [["n1", sha("n1")]], sid=5, seq=1, last=False)
    blocked = graph_error(lambda: multi_key(audience, [["x", sha("x")]]))
    assert blocked.api_error_code() == 100
    replace_batch(audience, [["n2", sha("n2")]], sid=5, seq=2, last=True)
    assert members(emulator, audience) == {"x:old"}
    clock.advance(120.0)
    assert members(emulator, audience) == {"x:n1", "x:n2"}


@pytest.mark.parametrize(("leaves", "after"), [("previous", {"x:old"}), ("partial", {"x:n1"})])
def test_an_expired_replace_session_is_refused_with_2650(make_emulator, clock, leaves, after):
    """Usersreplace reference (REPLACE_REF): a replace session has a time limit; a batch after it is refused with
    error 2650. What the session leaves on the audience is not documented: both readings are settings."""
    emulator = make_emulator(replace_session_ttl=90 * 60.0, expired_replace_leaves=leaves)
    audience = sdk_audience(emulator)
    multi_key(audience, [["old", sha("old")]])
    replace_batch(audience, [["n1", sha("n1")]], sid=9, seq=1, last=False)
    clock.advance(90 * 60.0 + 1)
    expired = graph_error(lambda: replace_batch(audience, [["n2", sha("n2")]], sid=9, seq=2, last=True))
    assert expired.api_error_code() == 2650 and expired.api_error_subcode() is not None
    assert members(emulator, audience) == after
    multi_key(audience, [["x", sha("x")]])  # an ended replace no longer blocks edits
    assert "x:x" in members(emulator, audience)


def test_an_interrupted_replace_session_is_refused_with_2650(make_emulator):
    """Usersreplace reference (REPLACE_REF): a replace session Meta interrupts ends the same way (error 2650)."""
    emulator = make_emulator()
    audience = sdk_audience(emulator)
    replace_batch(audience, [["n1", sha("n1")]], sid=3, seq=1, last=False)
    assert emulator.interrupt_replace(audience["id"]) == 1
    interrupted = graph_error(lambda: replace_batch(audience, [["n2", sha("n2")]], sid=3, seq=2, last=True))
    assert interrupted.api_error_code() == 2650
    assert interrupted.api_error_subcode() != emulator.settings.replace_expired_subcode


def test_a_flagged_audience_refuses_membership_edits(make_emulator):
    """Users / Usersreplace reference, "Flagged custom and lookalike audiences" (USERS_REF): operation_status 471;
    edits fail with code 100, subcode 1713230, title "Audience Upload Blocked"."""
    emulator = make_emulator()
    audience = sdk_audience(emulator)
    emulator.flag_audience(audience["id"])
    for call in (
        lambda: multi_key(audience, [["c1", sha("1")]]),
        lambda: multi_key(audience, [["c1", sha("1")]], remove=True),
        lambda: replace_batch(audience, [["c1", sha("1")]], sid=1, seq=1, last=True),
    ):
        refused = graph_error(call)
        assert (refused.api_error_code(), refused.api_error_subcode()) == (100, 1713230)
        assert refused.body()["error"]["error_user_title"] == "Audience Upload Blocked"
    status = audience.api_get(fields=["operation_status"])["operation_status"]
    assert status["code"] == 471


def test_at_most_ten_thousand_rows_per_request(make_emulator):
    """Users reference (USERS_REF): "only a maximum of 10000 at a time"."""
    emulator = make_emulator()
    audience = sdk_audience(emulator)
    rows = [[f"c{i}", sha(str(i))] for i in range(10_000)]
    assert multi_key(audience, rows).json()["num_received"] == 10_000
    too_many = graph_error(lambda: multi_key(audience, [*rows, ["c", sha("c")]]))
    assert too_many.api_error_code() == 100


def test_removals_from_an_audience_below_the_floor_are_refused(make_emulator):
    """Guide (GUIDE): audiences are usable from about 100 people and Meta refuses some removals from very small
    audiences; the floor is a setting, the refusal is error 2650 with a user message that names the size."""
    emulator = make_emulator(min_size_for_removal=100)
    audience = sdk_audience(emulator)
    multi_key(audience, [[f"c{i}", sha(str(i))] for i in range(99)])
    refused = graph_error(lambda: multi_key(audience, [["c1", sha("1")]], remove=True))
    assert refused.api_error_code() == 2650 and "fewer than 100" in refused.body()["error"]["error_user_msg"]
    multi_key(audience, [["c99", sha("99")]])
    multi_key(audience, [["c1", sha("1")]], remove=True)
    assert len(members(emulator, audience)) == 99


def test_sizes_are_reported_late_and_rounded(make_emulator, clock):
    """Custom Audience reference, ``approximate_count_lower_bound`` / ``_upper_bound``: estimates, not counts; the
    emulator refreshes them ``count_delay`` after a change and rounds them (its reading, a setting)."""
    emulator = make_emulator(count_delay=600.0, count_digits=2, count_spread=0.1, count_floor=1000)
    audience = sdk_audience(emulator)
    fields = ["approximate_count_lower_bound", "approximate_count_upper_bound"]
    multi_key(audience, [[f"c{i}", sha(str(i))] for i in range(1234)])
    before = audience.api_get(fields=fields)
    assert (before[fields[0]], before[fields[1]]) == (-1, -1)  # still the empty audience's figures
    clock.advance(600.0)
    after = audience.api_get(fields=fields)
    assert (after[fields[0]], after[fields[1]]) == (1200, 1400)
    assert json.dumps(dict(after)).count("1234") == 0  # never the exact count
