"""Customer.io App API exports, one test per documented rule, driven with plain HTTP as the reference pages show.

Pages (https://docs.customer.io/integrations/api/app/ ...):
- [EXC] "Export customer data"            .../tag/exports/exportPeopleData/
- [EXD] "Export information about deliveries" .../tag/exports/exportDeliveriesData/
- [EXG] "Get an export", "Download an export", "List exports" .../tag/exports/getExport/, downloadExport/, listExports/
Expected rows are computed from the synthetic workspace's own tables, never from the emulator's answer.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cio_devkit.emulators.synthetic import SyntheticWorkspace

from .customerio_support import (
    LONG,
    READINGS,
    call,
    export_rows,
    finished,
    months_before,
    running,
    unix,
    workspace,
)

# [EXC] the page's own JSON sample, verbatim in structure
DOCS_FILTER_SAMPLE: dict[str, Any] = {
    "and": [
        {"segment": {"id": 3}},
        {
            "or": [
                {"attribute": {"field": "interest", "operator": "eq", "value": "roadrunners"}},
                {"attribute": {"field": "state", "operator": "eq", "value": "NM"}},
                {"not": {"attribute": {"field": "species", "operator": "eq", "value": "roadrunners"}}},
            ]
        },
    ]
}
# [EXC] the page's generated curl sample: one object inside ``and`` holding four keys
DOCS_CURL_SAMPLE: dict[str, Any] = {
    "filters": {
        "and": [
            {
                "or": [{"segment": {"id": 4}}],
                "not": {"and": [{"segment": {"id": 4}}]},
                "segment": {"id": 4},
                "attribute": {"field": "unsubscribed", "operator": "eq", "value": True},
            }
        ]
    },
    "attributes": ["string"],
}
# [EXD] the metric enum, in the page's order
DOCS_METRICS = (
    "created", "attempted", "sent", "delivered", "opened", "clicked", "converted", "bounced", "spammed",
    "unsubscribed", "dropped", "failed", "undeliverable",
)  # fmt: skip


def _segment_ids(emulator: Any, segment_id: int) -> set[str]:
    """Members through ``GET /v1/segments/{id}/membership``, following ``next`` as ``start``."""
    ids: set[str] = set()
    params: dict[str, Any] = {"limit": 1000}
    while True:
        page = call(emulator, "GET", f"/v1/segments/{segment_id}/membership", params=params).json()
        ids.update(page["ids"])
        if not page["next"]:
            return ids
        params["start"] = page["next"]


def _newsletter_ids_between(ws: SyntheticWorkspace, newsletter: int, lo: datetime, hi: datetime) -> set[str]:
    d = ws.deliveries
    mask = pc.and_(
        pc.fill_null(pc.equal(d["newsletter_id"], newsletter), False),
        pc.and_(pc.greater_equal(d["created_at"], pa.scalar(lo)), pc.less(d["created_at"], pa.scalar(hi))),
    )
    return set(d.filter(mask)["delivery_id"].to_pylist())


# ---------------------------------------------------------------------------------------------- customers exports


def test_docs_filter_sample_selects_segment_members_and_the_or_group() -> None:
    """[EXC] and/or/not over segment and attribute leaves: the page's sample, and the same with a matching state."""
    ws = workspace()
    with running(ws) as emulator:
        members = _segment_ids(emulator, 3)
        rows = export_rows(emulator, "/v1/exports/customers", {"filters": DOCS_FILTER_SAMPLE})
        # no one has ``species``, so ``not species eq roadrunners`` holds for all: the segment's members
        assert {r["id"] for r in rows} == members and members
        narrowed = {
            "and": [
                {"segment": {"id": 3}},
                {"or": [{"attribute": {"field": "interest", "operator": "eq", "value": "roadrunners"}},
                        {"attribute": {"field": "state", "operator": "eq", "value": "CA"}}]},
            ]
        }  # fmt: skip
        rows = export_rows(emulator, "/v1/exports/customers", {"filters": narrowed})
    people = ws.people.to_pylist()
    in_ca = {p["customer_id"] for p in people if p["state"] == "CA"}
    assert {r["id"] for r in rows} == members & in_ca


@pytest.mark.parametrize("reading", ["strict", "lenient"])
def test_docs_curl_sample_with_a_multi_key_object(reading: str) -> None:
    """[EXC] "The top-level object accepts one property", yet the page's curl sample nests a four-key object.

    Under the lenient reading the object is the AND of its keys: ``or segment 4`` and ``segment 4`` and
    ``not segment 4`` can never all hold, so the export is empty; under the strict reading it is a 400.
    """
    with running(workspace(), readings=READINGS[reading]) as emulator:
        answer = call(emulator, "POST", "/v1/exports/customers", json=DOCS_CURL_SAMPLE)
        if READINGS[reading].multi_key_filter == "reject":
            assert answer.status_code == 400
            assert "one property" in answer.json()["errors"][0]["detail"]
        else:
            assert answer.status_code == 200
            assert export_rows(emulator, "/v1/exports/customers", DOCS_CURL_SAMPLE) == []


@pytest.mark.parametrize(
    ("body", "why"),
    [
        ({}, "filters is required"),
        (
            {"filters": {"segment": {"id": 1}, "attribute": {"field": "id", "operator": "exists"}}},
            "one property",
        ),
        ({"filters": {"attribute": {"field": "state", "operator": "eq"}}}, "needs a value"),
        (
            {"filters": {"attribute": {"field": "state", "operator": "contains", "value": "C"}}},
            "eq or exists",
        ),
        ({"filters": {"not": [{"segment": {"id": 1}}]}}, "single filter object"),
        ({"filters": {"and": []}}, "non-empty array"),
        ({"filters": {"segment": {"id": "1"}}}, "integer"),
    ],
)
def test_customers_export_refuses_what_the_filter_language_does_not_allow(
    body: dict[str, Any], why: str
) -> None:
    """[EXC] ``filters`` required; one top-level property; ``eq`` needs ``value``; operators eq/exists;
    ``not`` takes a single filter object; and/or take arrays; a segment ``id`` is an integer. Answered 400."""
    with running(workspace()) as emulator:
        answer = call(emulator, "POST", "/v1/exports/customers", json=body)
    assert answer.status_code == 400
    assert why in answer.json()["errors"][0]["detail"]


def test_exists_matches_people_who_have_the_attribute() -> None:
    """[EXC] "exists returns results if a person in the audience has the attribute"."""
    ws = workspace()
    with running(ws) as emulator:
        rows = export_rows(
            emulator,
            "/v1/exports/customers",
            {"filters": {"attribute": {"field": "phone", "operator": "exists"}}},
        )
    have_phone = {p["customer_id"] for p in ws.people.to_pylist() if p["phone"]}
    assert {r["id"] for r in rows} == have_phone
    assert 0 < len(have_phone) < ws.people.num_rows


# --------------------------------------------------------------------------------------------- deliveries exports


@pytest.mark.parametrize(
    "body",
    [{}, {"campaign_id": 2, "newsletter_id": 101}, {"action_id": 21, "transactional_message_id": 1}],
)
def test_deliveries_export_takes_exactly_one_parent(body: dict[str, Any]) -> None:
    """[EXD] the body is a oneOf Newsletter | Campaign | Transactional Message | Action: none or two is a 400."""
    with running(workspace()) as emulator:
        assert call(emulator, "POST", "/v1/exports/deliveries", json=body).status_code == 400


@pytest.mark.parametrize(
    "parent",
    [{"newsletter_id": 101}, {"campaign_id": 2}, {"action_id": 21}, {"transactional_message_id": 22}],
)
def test_each_documented_parent_alone_is_accepted(parent: dict[str, int]) -> None:
    """[EXD] each of the four parents on its own starts an export ({"export": {...}} with an integer id)."""
    with running(workspace()) as emulator:
        answer = call(emulator, "POST", "/v1/exports/deliveries", json=parent)
    assert answer.status_code == 200
    assert isinstance(answer.json()["export"]["id"], int) and answer.json()["export"]["type"] == "deliveries"


@pytest.mark.parametrize("metric", DOCS_METRICS)
def test_every_documented_metric_value_is_accepted(metric: str) -> None:
    """[EXD] ``metric`` takes each value of the page's enum."""
    with running(workspace()) as emulator:
        answer = call(
            emulator, "POST", "/v1/exports/deliveries", json={"newsletter_id": 101, "metric": metric}
        )
    assert answer.status_code == 200, answer.text


def test_an_undocumented_metric_is_refused() -> None:
    """[EXD] ``metric`` is an enum: ``open`` (not ``opened``) is a 400."""
    with running(workspace()) as emulator:
        answer = call(
            emulator, "POST", "/v1/exports/deliveries", json={"newsletter_id": 101, "metric": "open"}
        )
    assert answer.status_code == 400


def test_a_metric_narrows_the_export_to_deliveries_that_reached_it() -> None:
    """[EXD] "Determines the metric(s) you want to return": ``opened`` keeps the opened deliveries only."""
    ws = workspace()
    with running(ws) as emulator:
        opened = export_rows(emulator, "/v1/exports/deliveries", {"newsletter_id": 101, "metric": "opened"})
        created = export_rows(emulator, "/v1/exports/deliveries", {"newsletter_id": 101, "metric": "created"})
    d = ws.deliveries.filter(pc.fill_null(pc.equal(ws.deliveries["newsletter_id"], 101), False))
    assert {r["id"] for r in created} == set(d["delivery_id"].to_pylist())
    assert {r["id"] for r in opened} == set(d.filter(pc.is_valid(d["opened_at"]))["delivery_id"].to_pylist())
    assert 0 < len(opened) < len(created)


@pytest.mark.parametrize("reading", ["strict", "lenient"])
def test_without_start_and_end_an_export_covers_the_most_recent_six_months(reading: str) -> None:
    """[EXD] "If your request doesn't include start and end parameters, we'll return the most recent 6 months"."""
    ws = workspace(**LONG)
    now = ws.end_at
    with running(ws, readings=READINGS[reading]) as emulator:
        rows = export_rows(emulator, "/v1/exports/deliveries", {"newsletter_id": 101})
    expected = _newsletter_ids_between(ws, 101, months_before(now, 6, reading), now)
    assert {r["id"] for r in rows} == expected
    assert expected != _newsletter_ids_between(
        ws, 101, ws.start_at, now
    )  # older deliveries exist and are left out


@pytest.mark.parametrize("reading", ["strict", "lenient"])
def test_a_range_over_twelve_months_returns_the_twelve_months_before_its_end(reading: str) -> None:
    """[EXD] "If your start and end range is more than 12 months, we'll return 12 months of data from the most
    recent timestamp in your request": not an error, a silent cut at the old end."""
    ws = workspace(**LONG)
    start, end = ws.start_at, ws.end_at
    with running(ws, readings=READINGS[reading]) as emulator:
        body = {"newsletter_id": 101, "start": int(start.timestamp()), "end": int(end.timestamp())}
        answer = call(emulator, "POST", "/v1/exports/deliveries", json=body)
        assert answer.status_code == 200
        rows = export_rows(emulator, "/v1/exports/deliveries", body)
    cut = months_before(end, 12, reading)
    assert {r["id"] for r in rows} == _newsletter_ids_between(ws, 101, cut, end)
    assert min(unix(r["created_at"]) for r in rows) >= int(cut.timestamp())
    assert _newsletter_ids_between(ws, 101, start, cut)  # the cut dropped real deliveries


def test_a_range_within_twelve_months_is_served_whole() -> None:
    """[EXD] ``start``/``end`` are unix seconds on the deliveries' creation time; a short range is not cut."""
    ws = workspace()
    lo, hi = ws.start_at + timedelta(days=2), ws.start_at + timedelta(days=5)
    with running(ws) as emulator:
        rows = export_rows(
            emulator,
            "/v1/exports/deliveries",
            {"newsletter_id": 101, "start": int(lo.timestamp()), "end": int(hi.timestamp())},
        )
    assert {r["id"] for r in rows} == _newsletter_ids_between(ws, 101, lo, hi)


@pytest.mark.parametrize("reading", ["strict", "lenient"])
def test_an_export_with_only_end_under_each_reading(reading: str) -> None:
    """[EXD] is silent on a lone ``start`` or ``end``: lenient applies [MSG]'s rule (6 months before ``end``),
    strict refuses it. Our client always sends both; the emulator must not pretend to know."""
    ws = workspace(**LONG)
    end = ws.end_at - timedelta(days=30)
    with running(ws, readings=READINGS[reading]) as emulator:
        body = {"newsletter_id": 101, "end": int(end.timestamp())}
        if READINGS[reading].export_open_range == "reject":
            assert call(emulator, "POST", "/v1/exports/deliveries", json=body).status_code == 400
            return
        rows = export_rows(emulator, "/v1/exports/deliveries", body)
    assert {r["id"] for r in rows} == _newsletter_ids_between(ws, 101, months_before(end, 6, reading), end)


def test_attributes_add_recipient_columns() -> None:
    """[EXD] "Recipient attributes you want to include as extra columns in your export"."""
    ws = workspace()
    with running(ws) as emulator:
        rows = export_rows(emulator, "/v1/exports/deliveries", {"campaign_id": 2, "attributes": ["country"]})
    assert rows and all("country" in r for r in rows)
    country = {p["customer_id"]: p["country"] for p in ws.people.to_pylist()}
    assert all(r["country"] == country[r["customer_id"]] for r in rows)


# ---------------------------------------------------------------------------------------- export status, download


def test_an_export_is_pending_then_done_and_reports_zero_until_done() -> None:
    """[EXG] status is pending | done | failed; "The number of entries in the export. Exports report 0 until done"."""
    with running(workspace(), pending_polls=2) as emulator:
        created = call(emulator, "POST", "/v1/exports/deliveries", json={"campaign_id": 2}).json()["export"]
        polled = [call(emulator, "GET", f"/v1/exports/{created['id']}").json()["export"] for _ in range(3)]
    assert created["status"] == "pending" and created["total"] == 0
    assert [p["status"] for p in polled] == ["pending", "pending", "done"]
    assert [p["total"] for p in polled[:2]] == [0, 0] and polled[2]["total"] > 0
    assert all(p["failed"] is False for p in polled)


def test_an_export_stays_pending_for_seconds_before_it_is_done() -> None:
    """Real exports are asynchronous: accepted at once, done later. The emulator holds one pending for seconds."""
    with running(workspace(), pending_seconds=5.0) as emulator:
        created = call(emulator, "POST", "/v1/exports/deliveries", json={"campaign_id": 2}).json()["export"]
        first = call(emulator, "GET", f"/v1/exports/{created['id']}").json()["export"]
        last = finished(emulator, created["id"], polls=400)
    assert first["status"] == "pending" and last["status"] == "done"


def test_a_failed_export_says_so_after_being_accepted() -> None:
    """[EXG] "failed indicates an export that has failed and will not be downloadable"; ``failed`` is true."""
    with running(workspace(), pending_polls=1) as emulator:
        emulator.faults.fail_exports(1)
        created = call(emulator, "POST", "/v1/exports/deliveries", json={"campaign_id": 2})
        assert created.status_code == 200  # accepted first
        export = finished(emulator, created.json()["export"]["id"])
        download = call(emulator, "GET", f"/v1/exports/{export['id']}/download")
    assert export["status"] == "failed" and export["failed"] is True
    assert download.status_code >= 400


def test_an_unknown_export_is_404() -> None:
    """[EXG] "404: The export ID does not exist", with the App API's errors body."""
    with running(workspace()) as emulator:
        answer = call(emulator, "GET", "/v1/exports/987654")
    assert answer.status_code == 404 and answer.json()["errors"][0]["status"] == "404"


def test_download_answers_a_signed_url_that_counts_downloads_and_expires() -> None:
    """[EXG] "returns a signed link to download an export. The link expires after 15 minutes"; ``downloads`` counts
    the times the export was downloaded. The link needs no bearer key; an expired link is refused."""
    import requests

    with running(workspace()) as emulator:
        export = call(emulator, "POST", "/v1/exports/deliveries", json={"campaign_id": 2}).json()["export"]
        link = call(emulator, "GET", f"/v1/exports/{export['id']}/download").json()
        assert set(link) == {"url"}
        assert requests.get(link["url"], timeout=10).status_code == 200
        assert requests.get(link["url"], timeout=10).status_code == 200
        listed = call(emulator, "GET", "/v1/exports").json()["exports"]
        assert [e["downloads"] for e in listed if e["id"] == export["id"]] == [2]
        assert emulator.url_ttl == 15 * 60
    with running(workspace(), url_ttl=0.0) as emulator:
        export = call(emulator, "POST", "/v1/exports/deliveries", json={"campaign_id": 2}).json()["export"]
        url = call(emulator, "GET", f"/v1/exports/{export['id']}/download").json()["url"]
        assert requests.get(url, timeout=10).status_code == 403


def test_export_object_carries_the_documented_fields() -> None:
    """[EXG] an export is {id, type: customers|deliveries, status, failed, total, downloads, created_at, ...}."""
    with running(workspace()) as emulator:
        export = call(
            emulator, "POST", "/v1/exports/customers", json={"filters": {"segment": {"id": 1}}}
        ).json()
    fields = export["export"]
    documented = {"id", "user_id", "user_email", "total", "deduplicate_id", "type", "failed", "description"}
    assert documented | {"downloads", "created_at", "updated_at", "status"} <= set(fields)
    assert fields["type"] == "customers" and fields["status"] in ("pending", "done", "failed")
    assert fields["deduplicate_id"] == f"{fields['id']}:{fields['updated_at']}"  # "id:timestamp"
    assert (
        isinstance(fields["created_at"], int)
        and datetime.fromtimestamp(fields["created_at"], UTC).year >= 2024
    )


# ------------------------------------------------------------------------------------ generated filters (Hypothesis)

_FIELDS = ("state", "country", "city", "interest")


def _leaf() -> st.SearchStrategy[dict[str, Any]]:
    return st.one_of(
        st.builds(lambda i: {"segment": {"id": i}}, st.sampled_from([1, 2, 3, 4])),
        st.builds(
            lambda f, v: {"attribute": {"field": f, "operator": "eq", "value": v}},
            st.sampled_from(_FIELDS),
            st.sampled_from(["CA", "NY", "US", "DE", "Berlin", "London", "roadrunners"]),
        ),
        st.builds(lambda f: {"attribute": {"field": f, "operator": "exists"}}, st.sampled_from(_FIELDS)),
    )


_TREES = st.recursive(
    _leaf(),
    lambda inner: st.one_of(
        st.builds(lambda xs: {"and": xs}, st.lists(inner, min_size=1, max_size=3)),
        st.builds(lambda xs: {"or": xs}, st.lists(inner, min_size=1, max_size=3)),
        st.builds(lambda x: {"not": x}, inner),
    ),
    max_leaves=6,
)


def _evaluate(node: dict[str, Any], person: dict[str, Any], segments: dict[int, set[str]]) -> bool:
    """The test's own reading of [EXC]'s filter language, for one person."""
    (key, value), *more = node.items()
    assert not more
    if key == "and":
        return all(_evaluate(child, person, segments) for child in value)
    if key == "or":
        return any(_evaluate(child, person, segments) for child in value)
    if key == "not":
        return not _evaluate(value, person, segments)
    if key == "segment":
        return person["customer_id"] in segments[value["id"]]
    have = person.get(value["field"])
    if value["operator"] == "exists":
        return have not in (None, "")
    return have is not None and str(have) == value["value"]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(tree=_TREES)
def test_generated_filters_select_the_people_the_filter_language_describes(tree: dict[str, Any]) -> None:
    """[EXC] and/or/not over segment and attribute (eq/exists) leaves: any well-formed tree, generated, selects the
    people the language says, checked against the test's own evaluator over the workspace's people."""
    ws = workspace()
    with running(ws) as emulator:
        segments = {i: _segment_ids(emulator, i) for i in (1, 2, 3, 4)}
        rows = export_rows(emulator, "/v1/exports/customers", {"filters": tree})
    expected = {p["customer_id"] for p in ws.people.to_pylist() if _evaluate(tree, p, segments)}
    assert {r["id"] for r in rows} == expected
