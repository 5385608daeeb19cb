"""Reading a partition's last gate verdict (what a sync's quality guard needs)."""

from __future__ import annotations

import json

from airflow_provider_cio.landing.layout import PartitionRef
from airflow_provider_cio.storage.base import BlobNotFound, ObjectStore


def read_verdict(store: ObjectStore, ref: PartitionRef) -> bool | None:
    """True/False from ``_quality/result.json``; None when the partition was never gated (that blocks a sync)."""
    try:
        raw = json.loads(store.read_bytes(ref.quality_result_path))
    except BlobNotFound:
        return None
    return bool(raw.get("success"))
