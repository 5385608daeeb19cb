"""The emulator's own reading of the files Customer.io writes into a customer's container.

Written from Customer.io's pages and the field notes in ``shared/reference/customerio.md``, never imported from our
ingestion code (``airflow_provider_cio.customerio.dataout_format``): if our reader misreads a column, a name or a
type, the files written here do not follow it, and the landing tests fail instead of passing on a shared mistake.

Sources:
- [JD] "Azure blob storage" (Journeys data out), https://docs.customer.io/journeys/ms-azure-data-out/ :
  parquet only; one file per dataset (Deliveries, Metrics, Subjects, Outputs, Content, People, Attributes) holding
  the rows changed since the last export; the first sync carries history; about every 15 minutes.
- [DP] "Microsoft Azure Blob Storage Destination" (Data Pipelines),
  https://docs.customer.io/cdp/destinations/connections/azure-blob-storage : CSV, JSON or parquet every 10 minutes,
  ``<destination id>.<action id>.<current position>.<type>``, position counting up from 1, files only ever created.
- [FN] customerio.md field notes: column lists agreed by two third-party loaders, and one real file name
  ``attributes_v4_111528_241600000000311123.parquet``. Customer.io's own pages publish no column list, name rule
  or version history: everything from [FN] is a setting here (``DATAOUT_VERSION``, ``TIMESTAMP_UNIT``), not a fact.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import pyarrow as pa


class BlobWriter(Protocol):
    """Where Customer.io writes: anything with ``write_bytes`` (a test's memory store, Azurite, a local folder)."""

    def write_bytes(self, path: str, data: bytes, *, overwrite: bool = True) -> Any: ...


# [FN] only v4 has been seen in the wild; a setting, so a v5 can be emulated the day one is seen.
DATAOUT_VERSION = 4
# [FN] loaders read microsecond timestamps; some parse strings. A setting of the writers below.
TIMESTAMP_UNIT = "us"
# [JD] the seven datasets; [FN] the content dataset's files are named ``delivery_contents``.
DATAOUT_DATASETS_ALL = ("deliveries", "metrics", "subjects", "outputs", "content", "people", "attributes")
FILE_STEM = {"content": "delivery_contents"}
# [DP] the call types a Data Pipelines storage destination writes a file for.
PIPELINES_CALL_TYPES = ("identify", "track", "page", "screen", "alias", "group")

# [FN] columns per dataset, in file order: (name, kind) with kind one of str / int / bool / ts.
_COLUMNS: dict[str, tuple[tuple[str, str], ...]] = {
    "deliveries": (
        ("workspace_id", "int"), ("delivery_id", "str"), ("internal_customer_id", "str"), ("subject_id", "str"),
        ("event_id", "str"), ("delivery_type", "str"), ("campaign_id", "int"), ("action_id", "int"),
        ("newsletter_id", "int"), ("content_id", "int"), ("trigger_id", "int"), ("created_at", "ts"),
        ("transactional_message_id", "int"), ("seq_num", "int"),
    ),
    "metrics": (
        ("event_id", "str"), ("workspace_id", "int"), ("delivery_id", "str"), ("metric", "str"),
        ("created_at", "ts"), ("reason", "str"), ("link_id", "int"), ("link_url", "str"), ("seq_num", "int"),
    ),
    "subjects": (
        ("workspace_id", "int"), ("subject_name", "str"), ("internal_customer_id", "str"),
        ("campaign_type", "str"), ("campaign_id", "int"), ("event_id", "str"), ("trigger_id", "int"),
        ("started_campaign_at", "ts"), ("created_at", "ts"), ("seq_num", "int"),
    ),
    "outputs": (
        ("workspace_id", "int"), ("output_id", "str"), ("subject_name", "str"), ("output_type", "str"),
        ("action_id", "int"), ("explanation", "str"), ("delivery_id", "str"), ("draft", "bool"),
        ("link_tracked", "bool"), ("split_test_index", "int"), ("delay_ends_at", "ts"), ("branch_index", "int"),
        ("manual_segment_id", "int"), ("add_to_manual_segment", "bool"), ("created_at", "ts"), ("seq_num", "int"),
    ),
    "content": (
        ("workspace_id", "int"), ("delivery_id", "str"), ("campaign_id", "int"), ("action_id", "int"),
        ("newsletter_id", "int"), ("content_id", "int"), ("from", "str"), ("reply_to", "str"), ("bcc", "str"),
        ("recipient", "str"), ("subject", "str"), ("body", "str"), ("body_amp", "str"), ("body_plain", "str"),
        ("preheader", "str"), ("url", "str"), ("method", "str"), ("headers", "str"), ("type", "str"),
    ),
    # people and attributes carry no seq_num in the loaders' lists
    "people": (
        ("workspace_id", "int"), ("customer_id", "str"), ("internal_customer_id", "str"), ("deleted", "bool"),
        ("suppressed", "bool"), ("created_at", "ts"), ("updated_at", "ts"), ("email_addr", "str"),
    ),
    "attributes": (
        ("workspace_id", "int"), ("internal_customer_id", "str"), ("attribute_name", "str"),
        ("attribute_value", "str"), ("timestamp", "ts"),
    ),
}  # fmt: skip


def column_names(dataset: str) -> tuple[str, ...]:
    return tuple(name for name, _ in _COLUMNS[dataset])


def has_seq_num(dataset: str) -> bool:
    return "seq_num" in column_names(dataset)


def file_schema(dataset: str, timestamp_unit: str = TIMESTAMP_UNIT) -> pa.Schema:
    """The Arrow schema of one data-out file of ``dataset`` as the emulator writes it."""
    import pyarrow as pa

    kinds = {
        "str": pa.string(),
        "int": pa.int64(),
        "bool": pa.bool_(),
        "ts": pa.timestamp(timestamp_unit, tz="UTC"),
    }
    return pa.schema([(name, kinds[kind]) for name, kind in _COLUMNS[dataset]])


def dataout_name(
    dataset: str, workspace_id: int, sequence: int, *, version: int = DATAOUT_VERSION, ext: str = "parquet"
) -> str:
    """[FN] ``<stem>_v<version>_<workspace id>_<sequence>.parquet`` (the one real name seen follows it).

    [JD] says parquet only; ``ext="csv"`` is a drill for a reader meeting a file it was not promised.
    """
    return f"{FILE_STEM.get(dataset, dataset)}_v{version}_{workspace_id}_{sequence}.{ext}"


def pipelines_name(destination_id: str, action_id: str, position: int, call_type: str, ext: str) -> str:
    """[DP] ``<destination id>.<action id>.<current position>.<type>`` plus the format's extension.

    The page's example ``2184.13699.1.track.json`` shows the extension; ``position`` starts at 1.
    """
    if position < 1:
        raise ValueError("a Data Pipelines file position counts up from 1")
    if call_type not in PIPELINES_CALL_TYPES:
        raise ValueError(f"unknown call type {call_type!r}")
    return f"{destination_id}.{action_id}.{position}.{call_type}.{ext}"
