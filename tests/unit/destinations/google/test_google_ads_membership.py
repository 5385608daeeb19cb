"""Customer Match memberships lapse: the Google Ads destination validates the life span, follows the list's own, and
says when to re-send; the emulator lets memberships expire on a clock the test moves (issue 15, defect 3)."""

from __future__ import annotations

from typing import Any

import pytest
from google_support import CUSTOMER, email_key, emails_in, member
from hypothesis import given
from hypothesis import strategies as st
from test_google_ads import destination, sync

from airflow_provider_cio.destinations.google.ads import GoogleAdsDestination
from airflow_provider_cio.sync.errors import ConfigurationError
from cio_devkit.emulators.google.server import GoogleEmulator
from cio_devkit.emulators.google.state import EmulatorState


def bare(**kwargs: Any) -> GoogleAdsDestination:
    """A destination for constructor checks only (no call is made)."""
    return GoogleAdsDestination(object(), customer_id=CUSTOMER, **kwargs)


@given(st.one_of(st.integers(-5, 20_000), st.booleans(), st.floats(1, 600), st.text(max_size=4)))
def test_life_span_must_be_whole_days_from_1_to_540(value: Any) -> None:
    valid = isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 540
    if valid:
        dest = bare(membership_life_span_days=value)
        assert dest.membership_life_span_days == value and dest.refresh_after_days == value // 3
    else:
        with pytest.raises(ConfigurationError, match="membership_life_span_days"):
            bare(membership_life_span_days=value)


@given(st.integers(1, 540), st.integers(-3, 600))
def test_refresh_must_come_before_the_membership_lapses(span: int, refresh: int) -> None:
    if 0 <= refresh < span:
        assert bare(membership_life_span_days=span, refresh_after_days=refresh).refresh_after_days == refresh
    else:
        with pytest.raises(ConfigurationError, match="refresh_after_days"):
            bare(membership_life_span_days=span, refresh_after_days=refresh)


def test_a_created_list_gets_the_configured_life_span(emulator: GoogleEmulator) -> None:
    dest = destination(emulator, membership_life_span_days=90)
    list_id = int(dest.ensure_audience("vip"))
    assert emulator.membership_life_span(CUSTOMER, list_id) == 90
    assert dest.describe(str(list_id))["membership_life_span"] == 90


def test_an_existing_list_s_life_span_wins_and_the_refresh_follows_it(emulator: GoogleEmulator) -> None:
    emulator.create_user_list(CUSTOMER, "vip", membership_life_span=300)
    dest = destination(emulator)  # configured 540, refresh 180
    dest.ensure_audience("vip")
    assert dest.membership_life_span_days == 300 and dest.refresh_after_days == 100
    explicit = destination(emulator, refresh_after_days=45)
    explicit.ensure_audience("vip")
    assert explicit.membership_life_span_days == 300 and explicit.refresh_after_days == 45


def test_a_list_that_would_lapse_before_the_planned_refresh_is_refused(emulator: GoogleEmulator) -> None:
    emulator.create_user_list(CUSTOMER, "vip", membership_life_span=30)
    # the runner planned this run's refreshes with 180 (a third of 540) before ensure_audience: members would lapse
    with pytest.raises(ConfigurationError, match="set membership_life_span_days on the connection"):
        destination(emulator).ensure_audience("vip")
    with pytest.raises(ConfigurationError, match="set refresh_after_days on the connection"):
        destination(emulator, refresh_after_days=45).ensure_audience("vip")
    matching = destination(emulator, membership_life_span_days=30)
    matching.ensure_audience("vip")
    assert matching.refresh_after_days == 10


@pytest.mark.parametrize("days", [10_000, 541])
def test_a_list_google_no_longer_allows_is_refused(emulator: GoogleEmulator, days: int) -> None:
    emulator.create_user_list(CUSTOMER, "vip", membership_life_span=days)
    with pytest.raises(ConfigurationError, match=f"membership_life_span {days}") as err:
        destination(emulator).ensure_audience("vip")
    assert "admin of the Google Ads account" in str(err.value)


def test_the_emulator_refuses_a_life_span_above_540(emulator: GoogleEmulator) -> None:
    dest = destination(emulator, membership_life_span_days=540)
    dest.membership_life_span_days = 541  # what an unchecked client would send
    with pytest.raises(ConfigurationError, match=r"range_error\.TOO_HIGH"):
        dest.ensure_audience("vip")
    assert emulator.list_id(CUSTOMER, "vip") is None


def test_memberships_lapse_unless_uploaded_again_within_the_life_span(emulator: GoogleEmulator) -> None:
    dest = destination(emulator, membership_life_span_days=30)
    sync(dest, "vip", "add", [member(i) for i in range(4)], size=10)
    list_id = int(dest.ensure_audience("vip"))
    emulator.advance(days=20)
    sync(dest, "vip", "add", [member(0), member(1)], size=10)  # a refresh of two members
    emulator.advance(days=10)  # day 30: the others' memberships end
    assert emails_in(emulator.members(CUSTOMER, list_id)) == {email_key(0), email_key(1)}
    emulator.advance(days=19)
    assert emails_in(emulator.members(CUSTOMER, list_id)) == {email_key(0), email_key(1)}
    emulator.advance(days=1)  # day 50 = 20 + 30
    assert emulator.members(CUSTOMER, list_id) == set()


def test_expiry_lives_in_the_shared_list_state_so_both_apis_see_it() -> None:
    now = [0]
    state = EmulatorState(clock_ns=lambda: now[0])
    user_list = state.create_user_list(CUSTOMER, "l", membership_life_span=2)
    user_list.add(frozenset({"email:a"}), state.clock_ns())  # as either service applies an upload
    state.advance(86_400 * 2 - 1)
    assert len(state.find_list(CUSTOMER, user_list.id).members) == 1  # type: ignore[union-attr]
    state.advance(1)
    assert state.find_list(CUSTOMER, user_list.id).members == []  # type: ignore[union-attr]
    assert list(state.lists_of(CUSTOMER))[0].expired == 1
    with pytest.raises(ValueError):
        state.advance(-1)


def test_sizes_are_unknown_then_late_then_follow_lapses(emulator: GoogleEmulator) -> None:
    emulator.settings.size_delay_seconds = 6 * 3600
    dest = destination(emulator, membership_life_span_days=30)
    sync(dest, "vip", "add", [member(i) for i in range(3)], size=10)
    list_id = dest.ensure_audience("vip")
    assert dest.describe(list_id)["size_for_display"] is None  # not determined yet
    emulator.advance(6 * 3600)
    assert dest.describe(list_id)["size_for_search"] == 3
    emulator.advance(days=30)  # lapsed, but the estimate lags
    assert dest.describe(list_id)["size_for_search"] == 3
    emulator.advance(6 * 3600)
    assert dest.describe(list_id)["size_for_search"] == 0


def test_rounded_size_reading(emulator: GoogleEmulator) -> None:
    emulator.settings.size_rounding = "two_significant_digits"
    dest = destination(emulator)
    sync(dest, "vip", "add", [member(i) for i in range(123)], size=100)
    assert dest.describe(dest.ensure_audience("vip"))["size_for_display"] == 120
