"""The landing, identity and quality-gate benchmarks fail loudly when a run is not what its record claims (issue 21):
a landing that did not land every row of the clean export, an identity run that hashes a labelled value wrong, and
a gate whose two engines disagree or whose clean data fails (or dirty data passes) a check."""

from __future__ import annotations

from typing import Any

import pytest

from bench.bench_identity import check_correct
from bench.bench_landing import check_landed
from bench.bench_quality_gate import check_verdicts

NO_LONGER = "the set-up no longer matches the code"


def test_a_landing_of_every_row_passes() -> None:
    check_landed("landing 1M ours_child", 1_000_000, {"rows_landed": 1_000_000, "quarantined": 0})
    check_landed(
        "landing 1M naive_child", 1_000_000, {"rows_landed": 1_000_000}
    )  # the naive way quarantines nothing


@pytest.mark.parametrize(
    ("extra", "says"),
    [
        ({"rows_landed": 999_999, "quarantined": 0}, "landed 999999 of the export's 1000000 rows"),
        ({"rows_landed": 1_000_000, "quarantined": 3}, "quarantined 3 rows of a clean export"),
        ({}, "landed None of the export's 1000000 rows"),
    ],
)
def test_a_landing_that_timed_less_work_fails_loudly(extra: dict[str, Any], says: str) -> None:
    with pytest.raises(AssertionError, match=NO_LONGER) as raised:
        check_landed("landing 1M ours_child", 1_000_000, extra)
    assert str(raised.value).startswith("landing 1M ours_child: ")
    assert says in str(raised.value)


def test_identity_is_timed_only_when_every_labelled_value_is_right() -> None:
    check_correct("5M", 0, 4_000)
    with pytest.raises(
        AssertionError, match=f"identity_hash 5M ours: {NO_LONGER}: 2 of 4000 labelled values"
    ):
        check_correct("5M", 2, 4_000)


def test_gate_verdicts_that_agree_as_expected_pass() -> None:
    check_verdicts("quality_gate 1M", {"clean": {"identical": True, "failed": []}}, clean=True)
    dirty = {"dirty": {"identical": True, "failed": ["unique:delivery_id"]}}
    check_verdicts("quality_gate dirty sets", dirty, clean=False)


@pytest.mark.parametrize(
    ("outcome", "clean", "says"),
    [
        ({"identical": False, "failed": []}, True, "on the clean data our verdicts differ from stock GX's"),
        ({"identical": True, "failed": ["regex:email"]}, True, "the clean data failed regex:email"),
        ({"identical": True, "failed": []}, False, "the clean data failed no check"),
    ],
)
def test_gate_verdicts_that_do_not_compare_fail_loudly(
    outcome: dict[str, Any], clean: bool, says: str
) -> None:
    with pytest.raises(AssertionError, match=NO_LONGER) as raised:
        check_verdicts("quality_gate 1M", {"clean": outcome}, clean=clean)
    assert says in str(raised.value)


SIZES = {"deliveries": 9_899_654, "people": 1_000_000, "events": 2_539_118, "orders": 435_430}


def e2e_stages(**changes: Any) -> dict[str, dict[str, Any]]:
    extra: dict[str, dict[str, Any]] = {
        "export": {
            "deliveries_rows": 9_899_654,
            "people_rows": 1_000_000,
            "events_rows": 2_539_118,
            "quarantined": 0,
        },
        "gate": {"gate_success": True, "blocking_failures": []},
        "audiences": {"audience_sizes": {"engaged_clickers_14d": 69_076, "reactivation_tiers": 12_000}},
        "sync_plan": {"members": 69_076, "plan_adds": 69_076, "plan_removes": 0},
    }
    for key, value in changes.items():
        stage, field = key.split("__")
        extra[stage][field] = value
    return {stage: {"extra": values} for stage, values in extra.items()}


def test_an_end_to_end_run_that_did_every_stages_work_passes() -> None:
    from bench.bench_end_to_end import check_stages

    check_stages("1M_people", SIZES, e2e_stages())


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"export__events_rows": 2_500_000}, "landed 2500000 events rows of 2539118"),
        ({"export__quarantined": 12}, "quarantined 12 rows of the generated export"),
        (
            {"gate__gate_success": False, "gate__blocking_failures": ["unique:delivery_id"]},
            "gate failed (unique",
        ),
        (
            {"audiences__audience_sizes": {"engaged_clickers_14d": 69_076, "reactivation_tiers": 0}},
            "no member in reactivation_tiers",
        ),
        ({"sync_plan__plan_adds": 0}, "the first sync plans 0 adds / 0 removes for 69076 members"),
    ],
)
def test_an_end_to_end_run_that_did_less_fails_loudly(changes: dict[str, Any], says: str) -> None:
    from bench.bench_end_to_end import check_stages

    with pytest.raises(AssertionError, match=f"end_to_end 1M_people: {NO_LONGER}") as raised:
        check_stages("1M_people", SIZES, e2e_stages(**changes))
    assert says in str(raised.value)
