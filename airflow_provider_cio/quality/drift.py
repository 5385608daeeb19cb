"""Schema drift: the partition's Arrow schema against the contract's columns.

Policy: a new column is a warning (recorded, the gate passes); a missing or retyped column is critical; a column
the source did not send (named in the manifest: landed as nulls, or kept from prior rows for a data-out upsert) has
the contract column's ``absent_severity`` (warning unless the contract says critical) and becomes the cause of any
check failing on it. Types are
compared by family (any string flavour, any integer width, any float width, timestamps by time zone), so writer
details such as ``large_string`` or a microsecond/nanosecond unit do not count as drift.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from airflow_provider_cio.quality.contract import Contract

if TYPE_CHECKING:
    import pyarrow as pa


@dataclass(frozen=True)
class DriftFinding:
    """One difference between the contract and the landed schema."""

    column: str
    kind: str  # new_column | missing_column | missing_at_source | retyped_column
    severity: str
    expected_type: str | None
    actual_type: str | None

    def describe(self) -> str:
        if self.kind == "new_column":
            return f"new column {self.column!r} ({self.actual_type}) not in the contract"
        if self.kind == "missing_column":
            return f"column {self.column!r} ({self.expected_type}) is missing"
        if self.kind == "missing_at_source":
            return (
                f"column {self.column!r} ({self.expected_type}) was not in the source export "
                "(landed as nulls, or kept from prior rows)"
            )
        return f"column {self.column!r} changed type: contract {self.expected_type}, found {self.actual_type}"


def type_family(arrow_type: str) -> str:
    """A coarse family for an Arrow type string (``"timestamp[ns, tz=UTC]"`` -> ``"timestamp:UTC"``)."""
    text = arrow_type.strip()
    if text in ("string", "large_string", "string_view", "utf8", "large_utf8"):
        return "string"
    if text.startswith(("int", "uint")):
        return "integer"
    if text in ("float", "double", "halffloat", "float16", "float32", "float64"):
        return "float"
    if text in ("bool", "boolean"):
        return "bool"
    if text.startswith("timestamp["):
        tz = text.split("tz=", 1)[1].rstrip("]") if "tz=" in text else ""
        return f"timestamp:{'UTC' if tz in ('UTC', '+00:00', 'Etc/UTC') else tz}"
    if text.startswith("date"):
        return "date"
    if text.startswith(("list<", "large_list<")):
        return "list:" + type_family(text.split("<", 1)[1].rsplit(">", 1)[0].split(":")[-1])
    return text


def schema_drift(
    contract: Contract, schema: pa.Schema, absent_at_source: Iterable[str] = ()
) -> list[DriftFinding]:
    """Findings in contract column order, then new columns in file order.

    ``absent_at_source`` (from the manifest) names columns the source did not carry. Their severity is the
    contract's ``absent_severity`` for the column: a warning by default (a customers export leaves out an attribute
    nobody has), critical where the contract says so (an identifier the suppression lists match on); a check that
    then fails on such a column blocks as usual, with schema drift as its cause.
    """
    actual = {field.name: str(field.type) for field in schema}
    absent = set(absent_at_source)
    findings: list[DriftFinding] = []
    for column in contract.columns:
        found = actual.get(column.name)
        if found is None:
            findings.append(DriftFinding(column.name, "missing_column", "critical", column.type, None))
        elif column.name in absent:
            findings.append(
                DriftFinding(column.name, "missing_at_source", column.absent_severity, column.type, None)
            )
        elif type_family(found) != type_family(column.type):
            findings.append(DriftFinding(column.name, "retyped_column", "critical", column.type, found))
    declared = set(contract.column_names)
    for name, found in actual.items():
        if name not in declared:
            findings.append(DriftFinding(name, "new_column", "warning", None, found))
    return findings
