"""Customer.io App API rules the emulator enforces, each with the page it is read from.

Pure functions over plain values, so the conformance tests can check them one rule at a time. Where the docs leave a
case open, the emulator's reading is a named setting (``Readings``) and the tests run under each reading.

Sources (Customer.io App API reference, https://docs.customer.io/integrations/api/app/):
- [EXD] "Export information about deliveries", .../tag/exports/exportDeliveriesData/
- [EXC] "Export customer data", .../tag/exports/exportPeopleData/
- [EXG] "Get an export" / "Download an export", .../tag/exports/getExport/ and .../downloadExport/
- [MSG] "List messages", .../tag/messages/listMessages/
- [SRCH] "Search for customers", .../tag/customers/getPeopleFilter/ (the same filter language as [EXC])
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

# [EXD] body: exactly one of these (a oneOf of Newsletter, Campaign, Transactional Message, Action).
DELIVERY_PARENTS = ("newsletter_id", "campaign_id", "action_id", "transactional_message_id")
# [EXD] ``metric`` enum, in the page's order. ``created`` is every delivery.
EXPORT_METRICS = (
    "created",
    "attempted",
    "sent",
    "delivered",
    "opened",
    "clicked",
    "converted",
    "bounced",
    "spammed",
    "unsubscribed",
    "dropped",
    "failed",
    "undeliverable",
)
# [MSG] ``metric`` filter of GET /v1/messages: the same states less ``created`` (UNCONFIRMED: the page's enum was
# not visible in full to us; the emulator accepts the export's list less ``created``).
MESSAGE_METRICS = EXPORT_METRICS[1:]
# [EXD] "If your request doesn't include start and end parameters, we'll return the most recent 6 months".
EXPORT_DEFAULT_MONTHS = 6
# [EXD] "If your start and end range is more than 12 months, we'll return 12 months of data from the most recent
# timestamp in your request." A silent clamp, not an error.
EXPORT_MAX_MONTHS = 12
# [MSG] "We limit your requests to 6 months", with the cases of a missing start_ts / end_ts spelled out.
MESSAGES_MAX_MONTHS = 6
# [MSG] ``limit`` max 1000; [SRCH] "up to 1000 people per request".
MESSAGES_MAX_LIMIT = 1000
# [EXC]/[EXG]/[MSG] every 429 answer: "Your request is over the 10-per-second limit."
RATE_LIMIT_PER_S = 10.0
# [EXG] "This endpoint returns a signed link to download an export. The link expires after 15 minutes."
DOWNLOAD_URL_TTL_S = 15 * 60
# [EXC] attribute ``operator`` enum.
FILTER_OPERATORS = ("eq", "exists")


@dataclass(frozen=True)
class Readings:
    """How the emulator reads what the docs leave open (each a setting; conformance runs every value).

    ``months``: "calendar" (12 months before 2025-03-15 is 2024-03-15) or "30d" (a month is 30 days, the
    shortest common reading: a client that relies on 365 days loses data under it).
    ``export_open_range``: a deliveries export with only ``start`` or only ``end`` ([EXD] says nothing):
    "like_messages" applies [MSG]'s spelled-out rules (only end: the default span before it; only start: up to now)
    or "reject" answers 400.
    ``multi_key_filter``: a filter object with several keys. [EXC] says "The top-level object accepts one
    property", yet its own generated curl sample puts ``or``, ``not``, ``segment`` and ``attribute`` in one object
    inside ``and``. "and" reads such an object as the AND of its keys (below the top level), "reject" answers 400.
    """

    months: Literal["calendar", "30d"] = "calendar"
    export_open_range: Literal["like_messages", "reject"] = "like_messages"
    multi_key_filter: Literal["and", "reject"] = "and"


class RuleViolation(ValueError):
    """A request the documented API refuses (answered 400 with the message)."""


def months_before(moment: int, months: int, reading: str = "calendar") -> int:
    """Unix seconds ``months`` before ``moment`` under a ``Readings.months`` reading."""
    if reading == "30d":
        return moment - months * 30 * 86400
    if reading != "calendar":
        raise ValueError(f"unknown months reading {reading!r}")
    at = datetime.fromtimestamp(moment, UTC)
    index = at.year * 12 + (at.month - 1) - months
    year, month = divmod(index, 12)
    day = min(at.day, calendar.monthrange(year, month + 1)[1])
    return int(at.replace(year=year, month=month + 1, day=day).timestamp())


def export_window(
    start: int | None, end: int | None, now: int, readings: Readings = Readings()
) -> tuple[int, int]:
    """[EXD] the [start, end) a deliveries export covers (creation times), after the documented defaults and cap."""
    if start is not None and end is not None:
        if end < start:
            raise RuleViolation("end must not be before start")
        return max(start, months_before(end, EXPORT_MAX_MONTHS, readings.months)), end
    if start is None and end is None:
        return months_before(now, EXPORT_DEFAULT_MONTHS, readings.months), now
    if readings.export_open_range == "reject":
        raise RuleViolation("give both start and end, or neither")
    if start is None:
        assert end is not None
        return months_before(end, EXPORT_DEFAULT_MONTHS, readings.months), end
    return max(start, months_before(now, EXPORT_MAX_MONTHS, readings.months)), now


def messages_window(
    start_ts: int | None, end_ts: int | None, now: int, readings: Readings = Readings()
) -> tuple[int, int]:
    """[MSG] the [start, end) GET /v1/messages covers, by the page's own cases."""
    span = MESSAGES_MAX_MONTHS
    if start_ts is None and end_ts is None:  # "the most recent 6 months of deliveries"
        return months_before(now, span, readings.months), now
    if start_ts is None:  # "If only end_ts is specified, we return 6 months of data before this timestamp"
        assert end_ts is not None
        return months_before(end_ts, span, readings.months), end_ts
    if (
        end_ts is None
    ):  # "we then set the end_ts to the current time and deliver 6 months of data prior to this"
        return max(start_ts, months_before(now, span, readings.months)), now
    # "If start_ts is greater than 6-months before end_ts, we only send back 6 months of data."
    return max(start_ts, months_before(end_ts, span, readings.months)), end_ts


def deliveries_export_parent(body: dict[str, Any]) -> tuple[str, int]:
    """[EXD] the one parent a deliveries export names (``oneOf``: exactly one), as (field, id)."""
    given = [p for p in DELIVERY_PARENTS if body.get(p) is not None]
    if len(given) != 1:
        raise RuleViolation(
            "exactly one of newsletter_id, campaign_id, action_id, transactional_message_id is required"
        )
    value = body[given[0]]
    if isinstance(value, bool) or not isinstance(value, int):
        raise RuleViolation(f"{given[0]} must be an integer")
    return given[0], value


def export_metric(body: dict[str, Any]) -> str | None:
    """[EXD] the optional ``metric``, one of the documented values."""
    metric = body.get("metric")
    if metric is not None and metric not in EXPORT_METRICS:
        raise RuleViolation(f"metric must be one of {', '.join(EXPORT_METRICS)}")
    return metric


def check_filter(node: Any, readings: Readings = Readings(), *, top: bool = True) -> None:
    """[EXC]/[SRCH] the filter language: ``and``/``or`` take a non-empty array, ``not`` one filter object, leaves are
    ``{"segment": {"id": int}}`` or ``{"attribute": {"field", "operator": eq|exists, "value"}}`` (``value`` required
    with ``eq``). Raises ``RuleViolation`` with the first problem."""
    if not isinstance(node, dict) or not node:
        raise RuleViolation("a filter is a JSON object with one of and, or, not, segment, attribute")
    unknown = set(node) - {"and", "or", "not", "segment", "attribute"}
    if unknown:
        raise RuleViolation(f"unknown filter key {sorted(unknown)[0]!r}")
    if len(node) > 1 and (top or readings.multi_key_filter == "reject"):
        raise RuleViolation("a filter object accepts one property; nest groups for complex filters")
    for key, value in node.items():
        if key in ("and", "or"):
            if not isinstance(value, list) or not value:
                raise RuleViolation(f"{key} takes a non-empty array of filters")
            for child in value:
                check_filter(child, readings, top=False)
        elif key == "not":
            if isinstance(value, list):
                raise RuleViolation("not takes a single filter object, not an array")
            check_filter(value, readings, top=False)
        elif key == "segment":
            if (
                not isinstance(value, dict)
                or isinstance(value.get("id"), bool)
                or not isinstance(value.get("id"), int)
            ):
                raise RuleViolation('segment takes {"id": <integer>}')
        else:
            if (
                not isinstance(value, dict)
                or not isinstance(value.get("field"), str)
                or not value.get("field")
            ):
                raise RuleViolation("attribute needs a field")
            if value.get("operator") not in FILTER_OPERATORS:
                raise RuleViolation("attribute operator must be eq or exists")
            if value["operator"] == "eq" and "value" not in value:
                raise RuleViolation("attribute with operator eq needs a value")
