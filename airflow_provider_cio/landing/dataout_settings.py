"""What Customer.io's native data-out files look like, as settings (Customer.io does not publish all of it).

Journeys "Data out" writes Parquet files named ``<dataset>_v<N>_<workspace_id>_<sequence>.parquet``; Data
Pipelines' "Azure Blob Storage (Advanced)" writes ``<integration>.<action>.<position>.<type>.<ext>`` files of
track/identify calls. Each landed dataset lists, per source schema version, which source column feeds each landed
column. An unknown version is quarantined, never guessed. A mapped source column missing from a file is "unknown"
for that file's rows (their prior value is kept and the column is recorded as absent), never null by default.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from airflow_provider_cio.customerio.convert import DATAOUT_BOOLEANS, DEFAULT_MAX_FIELD_BYTES, Booleans


@dataclass(frozen=True)
class DataOutDataset:
    """One landed dataset fed by data-out files."""

    dataset: str
    pattern: str  # regex on the file's base name; groups: seq (required), version (optional), ext (optional)
    versions: dict[int, dict[str, str]]  # version -> landed column -> source column
    file_format: str = "parquet"  # parquet | csv | json (newline-delimited) | auto (by ext group)
    default_version: int | None = None  # for file kinds whose names carry no version


_V = r"_v(?P<version>\d+)_(?P<workspace>\d+)_(?P<seq>\d+)\.parquet$"

JOURNEYS_V4: tuple[DataOutDataset, ...] = (
    DataOutDataset(
        "people",
        r"^people" + _V,
        {
            4: {
                "customer_id": "customer_id",
                "internal_customer_id": "internal_customer_id",
                "email": "email_addr",
                "deleted": "deleted",
                "suppressed": "suppressed",
                "created_at": "created_at",
                "updated_at": "updated_at",
            }
        },
    ),
    DataOutDataset(
        "deliveries",
        r"^deliveries" + _V,
        {
            4: {
                "delivery_id": "delivery_id",
                "internal_customer_id": "internal_customer_id",
                "campaign_id": "campaign_id",
                "action_id": "action_id",
                "newsletter_id": "newsletter_id",
                "delivery_type": "delivery_type",
                "created_at": "created_at",
            }
        },
    ),
    DataOutDataset(
        "metrics",
        r"^metrics" + _V,
        {
            4: {
                "event_id": "event_id",
                "delivery_id": "delivery_id",
                "metric": "metric",
                "created_at": "created_at",
                "link_url": "link_url",
                "reason": "reason",
            }
        },
    ),
)

PIPELINES_TRACK = DataOutDataset(
    "events",
    r"^(?P<integration>[^.]+)\.(?P<action>[^.]+)\.(?P<seq>\d+)\.track\.(?P<ext>csv|json|parquet)$",
    {
        1: {
            "event_id": "messageId",
            "customer_id": "userId",
            "name": "event",
            "product_id": "properties_product_id",
            "cart_id": "properties_cart_id",
            "value": "properties_value",
            "timestamp": "timestamp",
        }
    },
    file_format="auto",
    default_version=1,
)


@dataclass(frozen=True)
class DataOutSettings:
    """``booleans``: the spellings a text boolean may take (anything else quarantines its row, never False);
    ``max_field_bytes``: a longer field quarantines its row; ``ad_consent_when_unmapped``: the ad consent of people
    whose files carry no consent column (Journeys data-out people do not: consent is an ``attributes`` row, a
    dataset not landed). False by default: nobody is targeted on a consent we never read; a team that collects ad
    consent outside Customer.io sets it to True deliberately."""

    datasets: tuple[DataOutDataset, ...] = field(default_factory=lambda: JOURNEYS_V4 + (PIPELINES_TRACK,))
    max_files_per_run: int = 500
    booleans: Booleans = DATAOUT_BOOLEANS
    max_field_bytes: int = DEFAULT_MAX_FIELD_BYTES
    ad_consent_when_unmapped: bool = False

    def dataset(self, name: str) -> DataOutDataset | None:
        return next((d for d in self.datasets if d.dataset == name), None)
