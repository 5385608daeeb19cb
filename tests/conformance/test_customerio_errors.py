"""Customer.io App API authentication, error shapes and the 10 requests/second limit.

Pages (https://docs.customer.io/integrations/api/app/ ...):
- [APP] "App API" overview: bearer App API key; "Aside from the API-triggered broadcast endpoint (1 per 10 seconds),
  requests are limited to 10 per second."
- [EXC]/[EXG]/[MSG]: every operation lists "429: Your request is over the 10-per-second limit."
- The ``{"errors": [{"detail", "status"}]}`` body and ``Retry-After`` come from customerio.md's field notes (clients
  seen in the wild), not from a reference page: see docs/platform-semantics.md, "could not confirm".
"""

from __future__ import annotations

import requests

from .customerio_support import KEY, call, running, workspace


def test_a_missing_or_wrong_bearer_key_is_401() -> None:
    """[APP] the App API uses a bearer App API key."""
    with running(workspace()) as emulator:
        missing = requests.get(emulator.url + "/v1/segments", timeout=10)
        wrong = requests.get(
            emulator.url + "/v1/segments", headers={"Authorization": "Bearer nope"}, timeout=10
        )
        right = requests.get(
            emulator.url + "/v1/segments", headers={"Authorization": f"Bearer {KEY}"}, timeout=10
        )
    assert (missing.status_code, wrong.status_code, right.status_code) == (401, 401, 200)
    assert missing.json()["errors"][0]["status"] == "401"


def test_more_than_ten_requests_a_second_are_answered_429() -> None:
    """[APP] "requests are limited to 10 per second"; [EXC] "429: Your request is over the 10-per-second limit".

    Sends until the first 429 (at most 100 requests): one must come, and not before the burst of 10 a full
    bucket allows. (How many more a slow machine's pace lets through is a matter of time, not asserted here.)
    """
    with running(workspace(), rate_limit=10.0) as emulator:
        served = 0
        throttled = None
        for _ in range(100):
            answer = call(emulator, "GET", "/v1/segments")
            if answer.status_code == 429:
                throttled = answer
                break
            served += 1
    assert throttled is not None, "100 requests were served without a 429"
    assert served >= 10
    assert throttled.json() == {
        "errors": [{"detail": "Too many requests: rate limit exceeded", "status": "429"}]
    }
    assert float(throttled.headers["Retry-After"]) > 0


def test_a_malformed_body_is_400_with_the_errors_body() -> None:
    """[EXC]/[EXD] "400: The request is malformed"."""
    with running(workspace()) as emulator:
        answer = call(
            emulator,
            "POST",
            "/v1/exports/deliveries",
            data=b"{not json",
            headers={"Content-Type": "application/json"},
        )
    assert answer.status_code == 400
    assert answer.json()["errors"][0]["status"] == "400" and answer.json()["errors"][0]["detail"]
