"""Answer a parsed GAQL query over ``GoogleAdsRow`` protos the way the API does: check, filter, order, limit, project.

Rules (Google Ads Query Language grammar and query structure pages,
https://developers.google.com/google-ads/api/docs/query/grammar and
https://developers.google.com/google-ads/api/docs/query/structure):

- every field in SELECT / WHERE / ORDER BY must exist on the resource (else ``UNRECOGNIZED_FIELD``) and belong to
  the resource in FROM or one of its attributed resources (else ``PROHIBITED_RESOURCE_TYPE_IN_*_CLAUSE``); fields are checked against the real
  ``GoogleAdsRow`` descriptor, then against what the emulator fills in (a real field it does not fill is refused
  too, so an emulator gap can never look like an empty value);
- conditions are ANDed and always filter; enum fields compare by constant name (a wrong constant is
  ``BAD_ENUM_CONSTANT``); a value of the wrong type is ``BAD_VALUE``; ordered operators and LIKE on an enum are
  ``OPERATOR_FIELD_MISMATCH``;
- a row carries only the selected fields (the response's ``field_mask`` lists them).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from cio_devkit.emulators.google.gaql import Condition, GaqlError, Query, like

# Fields the API documents as "Sortable: False" (ORDER BY on them is refused). Only those our queries can meet:
# offline_user_data_job fields, https://developers.google.com/google-ads/api/fields/v26/offline_user_data_job
NOT_SORTABLE = frozenset({"offline_user_data_job.customer_match_user_list_metadata.user_list"})
_NUMERIC = {"int32", "int64", "uint32", "uint64", "sint32", "sint64", "fixed32", "fixed64", "double", "float"}


def _row_descriptor() -> Any:
    from google.ads.googleads.v26.services.types import google_ads_service as g

    return g.GoogleAdsRow.pb().DESCRIPTOR


def _segment(descriptor: Any, name: str) -> str | None:
    """The proto field for a GAQL name: the generated protos spell reserved words with a "_" (``type`` -> ``type_``)."""
    for candidate in (name, name + "_"):
        if candidate in descriptor.fields_by_name:
            return candidate
    return None


def pb_path(path: str) -> str | None:
    """``path`` (GAQL spelling) as the GoogleAdsRow proto path, or None when no such field exists."""
    descriptor = _row_descriptor()
    out = []
    for name in path.split("."):
        segment = _segment(descriptor, name) if descriptor is not None else None
        if segment is None:
            return None
        out.append(segment)
        descriptor = descriptor.fields_by_name[segment].message_type
    return ".".join(out)


def _leaf(path: str) -> Any:
    """The field descriptor at ``path`` (GAQL spelling) on GoogleAdsRow, or None when the path does not exist."""
    real = pb_path(path)
    if real is None:
        return None
    descriptor = _row_descriptor()
    field = None
    for segment in real.split("."):
        field = descriptor.fields_by_name[segment]
        descriptor = field.message_type
    return field


def _kind(field: Any) -> str:
    if field.enum_type is not None:
        return "enum"
    if field.message_type is not None:
        return "message"
    name = {
        field.TYPE_STRING: "string",
        field.TYPE_BOOL: "bool",
        field.TYPE_BYTES: "bytes",
    }.get(field.type)
    return name or "number"


def check(query: Query, emulated: Mapping[str, frozenset[str]]) -> None:
    """Refuse a query naming a field that does not exist, that belongs elsewhere, or that the emulator cannot fill."""
    if query.resource not in emulated:
        if _leaf(query.resource) is None:
            raise GaqlError("BAD_RESOURCE_TYPE_IN_FROM_CLAUSE", f"{query.resource!r} is not a resource")
        raise GaqlError("PROHIBITED_RESOURCE_TYPE_IN_FROM_CLAUSE", f"{query.resource!r} is not emulated")
    # the FROM resource and its attributed resources ("Fields from the above resources may be selected along with
    # this resource", offline_user_data_job, https://developers.google.com/google-ads/api/fields/v26/offline_user_data_job)
    resources = {name.split(".", 1)[0] for name in emulated[query.resource]} | {query.resource}
    clauses = (
        [("SELECT", name) for name in query.fields]
        + [("WHERE", c.field) for c in query.conditions]
        + [("ORDER_BY", name) for name, _ in query.order_by]
    )
    for clause, name in clauses:
        if _leaf(name) is None:
            raise GaqlError("UNRECOGNIZED_FIELD", f"unrecognized field {name!r}")
        if name.split(".", 1)[0] not in resources:
            code = {"SELECT": "PROHIBITED_RESOURCE_TYPE_IN_SELECT_CLAUSE",
                    "WHERE": "PROHIBITED_RESOURCE_TYPE_IN_WHERE_CLAUSE",
                    "ORDER_BY": "PROHIBITED_FIELD_IN_ORDER_BY_CLAUSE"}[clause]  # fmt: skip
            raise GaqlError(code, f"{name!r} does not belong to {query.resource!r}")
        if name not in emulated[query.resource]:
            raise GaqlError("UNRECOGNIZED_FIELD", f"field {name!r} exists but the emulator does not fill it")
    for name, _ in query.order_by:
        if name in NOT_SORTABLE or _kind(_leaf(name)) == "message" or _leaf(name).is_repeated:
            raise GaqlError("PROHIBITED_FIELD_IN_ORDER_BY_CLAUSE", f"{name!r} is not sortable")
    for condition in query.conditions:
        _check_condition(condition, _leaf(condition.field))


def _check_condition(condition: Condition, field: Any) -> None:
    kind = _kind(field)
    op = condition.op
    if op in ("IS NULL", "IS NOT NULL"):
        return
    values = condition.value if isinstance(condition.value, tuple) else (condition.value,)
    if kind == "enum":
        if op not in ("=", "!=", "IN", "NOT IN"):
            raise GaqlError("OPERATOR_FIELD_MISMATCH", f"{op} does not apply to enum field {condition.field}")
        names = set(field.enum_type.values_by_name)
        for value in values:
            if not isinstance(value, str) or value not in names:
                raise GaqlError("BAD_ENUM_CONSTANT", f"{value!r} is not a constant of {condition.field}")
        return
    if op in ("LIKE", "NOT LIKE") and kind != "string":
        raise GaqlError("OPERATOR_FIELD_MISMATCH", f"LIKE applies to string fields, not {condition.field}")
    for value in values:
        ok = {
            "string": isinstance(value, str),
            "number": isinstance(value, int | float) and not isinstance(value, bool),
            "bool": isinstance(value, str) and value.upper() in ("TRUE", "FALSE"),
        }.get(kind, False)
        if not ok:
            raise GaqlError("BAD_VALUE", f"{value!r} does not fit field {condition.field}")


def value_at(message: Any, path: str) -> Any:
    """The value at ``path`` on a GoogleAdsRow pb: None when unset (fields with presence), enums by name."""
    current = message
    field = None
    for segment in (pb_path(path) or path).split("."):
        field = current.DESCRIPTOR.fields_by_name[segment]
        if field.has_presence and not field.is_repeated and not current.HasField(segment):
            return None
        current = getattr(current, segment)
    if field is not None and field.enum_type is not None:
        if field.is_repeated:
            return tuple(field.enum_type.values_by_number[v].name for v in current)
        return field.enum_type.values_by_number[current].name
    if field is not None and field.is_repeated:
        return tuple(current)
    return current


def _matches(message: Any, condition: Condition) -> bool:
    value = value_at(message, condition.field)
    op, wanted = condition.op, condition.value
    if op == "IS NULL":
        return value is None
    if op == "IS NOT NULL":
        return value is not None
    if value is None:
        return False
    if isinstance(value, bool) and isinstance(wanted, str):
        wanted = wanted.upper() == "TRUE"
    if op == "=":
        return bool(value == wanted)
    if op == "!=":
        return bool(value != wanted)
    if op in ("IN", "NOT IN"):
        listed = wanted if isinstance(wanted, tuple) else (wanted,)
        return (value in listed) == (op == "IN")
    if op == "LIKE":
        return like(str(value), str(wanted))
    if op == "NOT LIKE":
        return not like(str(value), str(wanted))
    ordered = {">": value > wanted, ">=": value >= wanted, "<": value < wanted, "<=": value <= wanted}  # type: ignore[operator]
    return bool(ordered[op])


def answer(query: Query, rows: Iterable[Any], emulated: Mapping[str, frozenset[str]]) -> list[Any]:
    """The rows (proto-plus ``GoogleAdsRow``) the API would return for ``query``, each carrying only its fields."""
    from google.ads.googleads.v26.services.types import google_ads_service as g
    from google.protobuf import field_mask_pb2

    check(query, emulated)
    pbs = [g.GoogleAdsRow.pb(row) for row in rows]
    kept = [pb for pb in pbs if all(_matches(pb, c) for c in query.conditions)]
    for name, descending in reversed(query.order_by):  # stable sorts, last key first
        present = [pb for pb in kept if value_at(pb, name) is not None]
        missing = [pb for pb in kept if value_at(pb, name) is None]
        present.sort(key=lambda pb, n=name: value_at(pb, n), reverse=descending)  # type: ignore[misc]
        kept = present + missing
    if query.limit is not None:
        kept = kept[: query.limit]
    mask = field_mask_pb2.FieldMask(paths=[pb_path(name) or name for name in query.fields])
    out = []
    for pb in kept:
        projected = type(pb)()
        mask.MergeMessage(pb, projected)
        out.append(g.GoogleAdsRow.wrap(projected))
    return out
