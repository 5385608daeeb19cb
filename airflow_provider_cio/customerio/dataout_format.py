"""The files Customer.io itself writes into our container: Journeys data-out and Data Pipelines storage.

Everything here is an observation from third-party loaders, not Customer.io's own spec (see customerio.md), so each
detail is a constant or a parameter: column lists, dedupe keys, the file-name rule, the version, the timestamp unit.

Journeys data-out: Parquet files ``<dataset>_v<N>_<workspace_id>_<sequence>.parquet``, incremental, the newest row
per key winning (``seq_num``, then file sequence). Data Pipelines "Azure Blob Storage (Advanced)":
``<integration id>.<action id>.<position>.<type>.<ext>`` (csv, json lines or parquet), created once, never rewritten.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pyarrow as pa

_S, _I, _B, _T = "string", "int64", "bool", "timestamp"

# dataset -> [(column, type)] as seen in data-out v4 files
DATAOUT_COLUMNS: dict[str, list[tuple[str, str]]] = {
    "deliveries": [
        ("workspace_id", _I),
        ("delivery_id", _S),
        ("internal_customer_id", _S),
        ("subject_id", _S),
        ("event_id", _S),
        ("delivery_type", _S),
        ("campaign_id", _I),
        ("action_id", _I),
        ("newsletter_id", _I),
        ("content_id", _I),
        ("trigger_id", _I),
        ("created_at", _T),
        ("transactional_message_id", _I),
        ("seq_num", _I),
    ],
    "metrics": [
        ("event_id", _S),
        ("workspace_id", _I),
        ("delivery_id", _S),
        ("metric", _S),
        ("created_at", _T),
        ("reason", _S),
        ("link_id", _I),
        ("link_url", _S),
        ("seq_num", _I),
    ],
    "subjects": [
        ("workspace_id", _I),
        ("subject_name", _S),
        ("internal_customer_id", _S),
        ("campaign_type", _S),
        ("campaign_id", _I),
        ("event_id", _S),
        ("trigger_id", _I),
        ("started_campaign_at", _T),
        ("created_at", _T),
        ("seq_num", _I),
    ],
    "people": [
        ("workspace_id", _I),
        ("customer_id", _S),
        ("internal_customer_id", _S),
        ("deleted", _B),
        ("suppressed", _B),
        ("created_at", _T),
        ("updated_at", _T),
        ("email_addr", _S),
    ],
    "attributes": [
        ("workspace_id", _I),
        ("internal_customer_id", _S),
        ("attribute_name", _S),
        ("attribute_value", _S),
        ("timestamp", _T),
    ],
}

# Rows are replaced by newer rows with the same key.
DATAOUT_KEYS: dict[str, tuple[str, ...]] = {
    "deliveries": ("delivery_id",),
    "metrics": ("event_id",),
    "subjects": ("subject_name",),
    "people": ("internal_customer_id",),
    "attributes": ("internal_customer_id", "attribute_name"),
}
# Datasets whose file stem differs from the dataset name.
DATAOUT_FILE_STEMS: dict[str, str] = {"content": "delivery_contents"}
DATAOUT_VERSION = 4

_DATAOUT_NAME = re.compile(
    r"^(?P<stem>[a-z_]+?)_v(?P<version>\d+)_(?P<workspace>\d+)_(?P<sequence>\d+)\.(?P<ext>parquet|csv)$"
)
_PIPELINES_NAME = re.compile(
    r"^(?P<integration>[^.]+)\.(?P<action>[^.]+)\.(?P<position>\d+)\.(?P<type>[a-z_]+)\.(?P<ext>csv|json|parquet)$"
)
PIPELINES_CALL_TYPES = ("identify", "track", "page", "screen", "alias", "group")


@dataclass(frozen=True, order=True)
class DataOutFile:
    """A parsed data-out file name; ordering by (dataset, sequence) is the order to apply files in."""

    dataset: str
    sequence: int
    version: int
    workspace_id: int
    name: str


def dataout_file_name(
    dataset: str, version: int, workspace_id: int, sequence: int, ext: str = "parquet"
) -> str:
    stem = DATAOUT_FILE_STEMS.get(dataset, dataset)
    return f"{stem}_v{version}_{workspace_id}_{sequence}.{ext}"


def parse_dataout_name(name: str) -> DataOutFile | None:
    """Parse the last path segment of a data-out file; None for anything else (e.g. our own manifests)."""
    base = name.rsplit("/", 1)[-1]
    match = _DATAOUT_NAME.match(base)
    if not match:
        return None
    stem = match["stem"]
    dataset = next((ds for ds, s in DATAOUT_FILE_STEMS.items() if s == stem), stem)
    return DataOutFile(dataset, int(match["sequence"]), int(match["version"]), int(match["workspace"]), base)


@dataclass(frozen=True, order=True)
class PipelinesFile:
    integration_id: str
    action_id: str
    position: int
    call_type: str
    ext: str
    name: str


def pipelines_file_name(integration_id: str, action_id: str, position: int, call_type: str, ext: str) -> str:
    return f"{integration_id}.{action_id}.{position}.{call_type}.{ext}"


def parse_pipelines_name(name: str) -> PipelinesFile | None:
    base = name.rsplit("/", 1)[-1]
    match = _PIPELINES_NAME.match(base)
    if not match:
        return None
    return PipelinesFile(
        match["integration"], match["action"], int(match["position"]), match["type"], match["ext"], base
    )


def dataout_arrow_schema(dataset: str, timestamp_unit: str = "us") -> pa.Schema:
    """The Arrow schema we write (emulation) and expect (ingestion) for a data-out dataset."""
    import pyarrow as pa

    types = {_S: pa.string(), _I: pa.int64(), _B: pa.bool_(), _T: pa.timestamp(timestamp_unit, tz="UTC")}
    return pa.schema([pa.field(name, types[kind]) for name, kind in DATAOUT_COLUMNS[dataset]])
