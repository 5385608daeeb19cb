"""The event-driven path end to end on a private devstack: Customer.io (emulated) posts cart adds, the receiver
lands them, ``cio_realtime`` (real ``airflow dags test``) adds the people to the cart audience on Meta and Google;
later a ``converted`` webhook moves one of them from the cart audience to the suppression audience."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from cio_devkit.devstack.realtime import (
    CART_AUDIENCE,
    RECENT_BUYERS,
    SUPPRESSION_AUDIENCE,
    RealtimeStack,
    run_realtime,
)

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealtimeStack]:
    with RealtimeStack(tmp_path_factory.mktemp("realtime"), flush_interval=1.0) as running:
        yield running


def _run_realtime(stack: RealtimeStack, home: Path) -> str:
    code, output = run_realtime(stack, home)
    (home / "dags_test.log").write_text(output)
    failed = [
        line for line in output.splitlines() if "[error" in line or "Traceback" in line or "Error:" in line
    ]
    assert code == 0, "\n".join(failed[-40:]) or output[-6000:]
    return output


def _settled(stack: RealtimeStack, expected: dict[str, int]) -> dict[str, dict[str, int]]:
    """Membership once the platforms applied what they accepted (bounded: they apply within seconds here)."""
    deadline = time.monotonic() + 60
    while True:
        live = stack.membership()
        if all(live[p] == expected for p in ("meta", "google")) or time.monotonic() > deadline:
            return live
        time.sleep(0.5)


def test_a_cart_event_reaches_both_platforms_and_a_conversion_moves_the_person_to_suppression(
    stack: RealtimeStack, tmp_path: Path
) -> None:
    people = stack.cart_people(4)
    stack.post_carts(people)
    landed = stack.wait_landed()
    assert landed["accepted"] == 8 and landed["refused"]["forged"] == 0  # 4 track calls + 4 sent events
    _run_realtime(stack, tmp_path / "airflow")
    before = {
        CART_AUDIENCE: 4,
        SUPPRESSION_AUDIENCE: RECENT_BUYERS,
    }  # the shop's recent buyers are suppressed already
    live = _settled(stack, before)
    assert live["meta"] == live["google"] == before

    stack.post_converted(people[:1])
    stack.wait_landed()
    _run_realtime(stack, tmp_path / "airflow")
    after = {CART_AUDIENCE: 3, SUPPRESSION_AUDIENCE: RECENT_BUYERS + 1}
    live = _settled(stack, after)
    assert live["meta"] == live["google"] == after
