"""The sync benchmark fails loudly when its set-up no longer matches the code (issue 21): a mirror run that sends
more than 1.1x the seeded churn (the runner re-uploaded: the seeded state's audience is not the emulator's), a plan
that is not the seeded diff, a replace that did not send the snapshot, or an audience that ends at another size."""

from __future__ import annotations

from typing import Any

import pytest

from bench.sync_harness import check_sample

FACTS = {"true_churn": 10_000, "adds": 5_000, "removes": 5_000, "next_size": 1_000_000}


def sample(**changes: Any) -> dict[str, Any]:
    extra = {"plan_adds": 5_000, "plan_removes": 5_000, "rows_sent": 10_000, "final_size": 1_000_000}
    return {**extra, **changes}


def test_a_run_that_is_the_seeded_diff_passes() -> None:
    check_sample("sync_plan_meta", "mirror", FACTS, sample())
    check_sample("sync_plan_meta", "mirror", FACTS, sample(rows_sent=11_000))
    check_sample("sync_plan_meta", "replace", FACTS, sample(rows_sent=1_000_000, plan_adds=0, plan_removes=0))


@pytest.mark.parametrize(
    ("mode", "changes", "says"),
    [
        ("mirror", {"rows_sent": 1_000_000}, "uploaded more than the diff"),
        ("mirror", {"rows_sent": 11_001}, "limit 1.1x"),
        ("mirror", {"plan_adds": 1_000_000, "plan_removes": 0}, "plan has 1000000 adds / 0 removes"),
        ("mirror", {"final_size": 999_999}, "ends with 999999 members"),
        ("replace", {"rows_sent": 10_000}, "replace sent 10000 rows"),
    ],
)
def test_a_run_that_measures_something_else_fails_loudly(
    mode: str, changes: dict[str, Any], says: str
) -> None:
    with pytest.raises(AssertionError, match="the set-up no longer matches the code") as raised:
        check_sample("sync_plan_meta", mode, FACTS, sample(**changes))
    assert says in str(raised.value)


@pytest.mark.parametrize(
    ("diff_cpu", "says"),
    [
        (
            [0.30, 0.31, 0.35, 0.33, 0.32],
            "0.32 s (0.30-0.35) median (min-max over the runs), under 0.5 s in every run",
        ),
        ([0.30, 0.31, 0.62, 0.33, 0.32], "under 0.5 s at the median only (0.62 s in the slowest run)"),
        (
            [0.70, 0.31, 0.62, 0.53, 0.32],
            "0.53 s (0.31-0.70) median (min-max over the runs), NOT under 0.5 s",
        ),
    ],
)
def test_the_note_states_the_diff_cpu_against_its_target_as_measured(
    diff_cpu: list[float], says: str
) -> None:
    from bench.sync_harness import _note

    ours = [
        {
            "extra": {
                "diff_cpu_seconds": value,
                "diff_snapshot_cpu_seconds": value - 0.1,
                "diff_plan_cpu_seconds": 0.1,
            }
        }
        for value in diff_cpu
    ]
    note = _note(5, [1.0, 1.2], ours)
    assert says in note
    assert "planning 0.10 s (0.10-0.10)" in note
