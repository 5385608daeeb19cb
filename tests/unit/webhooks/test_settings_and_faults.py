"""Settings read from the environment never show the key; a journal that cannot fsync answers 503 and keeps its
file clean, so the retry is accepted (not taken for a duplicate) and lands once."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from airflow_provider_cio.landing.layout import PartitionRef
from airflow_provider_cio.landing.reader import read_table
from airflow_provider_cio.storage import MemoryObjectStore
from airflow_provider_cio.webhooks import journal as journal_module
from airflow_provider_cio.webhooks.app import create_app
from airflow_provider_cio.webhooks.journal import Journal
from airflow_provider_cio.webhooks.settings import ReceiverSettings, SettingsError
from airflow_provider_cio.webhooks.signature import sign

KEY = "whsec-settings-key-77"
NOW = 1_765_000_000.0


def test_settings_from_the_environment_and_a_secret_file(tmp_path: Path) -> None:
    secret = tmp_path / "key"
    secret.write_text(KEY + "\n")
    settings = ReceiverSettings.from_env(
        {
            "CIO_WEBHOOK_SIGNING_KEY_FILE": str(secret),
            "CIO_WEBHOOK_FLUSH_INTERVAL": "5",
            "CIO_WEBHOOK_ENV": "prod",
        }
    )
    assert (settings.signing_key, settings.flush_interval, settings.env) == (KEY.encode(), 5.0, "prod")
    assert KEY not in repr(settings)
    with pytest.raises(SettingsError) as info:
        ReceiverSettings.from_env({})
    assert "CIO_WEBHOOK_SIGNING_KEY" in str(info.value)
    with pytest.raises(SettingsError, match="flush_interval"):
        ReceiverSettings.from_env({"CIO_WEBHOOK_SIGNING_KEY": KEY, "CIO_WEBHOOK_FLUSH_INTERVAL": "0"})


def test_a_failed_fsync_is_a_503_and_the_retry_lands_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = MemoryObjectStore()
    settings = ReceiverSettings(
        signing_key=KEY.encode(), journal_dir=tmp_path / "j", env="t", workspace="w", flush_interval=3600
    )
    body = json.dumps({"event_id": "f1", "object_type": "email", "metric": "sent", "timestamp": 1}).encode()

    def post(client: TestClient, at: float) -> int:
        stamp = str(int(at))
        headers = {"X-CIO-Timestamp": stamp, "X-CIO-Signature": sign(KEY.encode(), stamp, body)}
        return client.post("/webhooks/customerio", content=body, headers=headers).status_code

    real_fsync = os.fsync
    with TestClient(create_app(settings, store, clock=lambda: NOW)) as client:
        monkeypatch.setattr(journal_module.os, "fsync", _disk_full)
        assert post(client, NOW) == 503
        monkeypatch.setattr(journal_module.os, "fsync", real_fsync)
        assert post(client, NOW + 1) == 200
        status = client.get("/_status").json()
        assert (status["unavailable"], status["accepted"], status["duplicates"]) == (1, 1, 0)
        client.app.state.receiver.flusher.flush_once()  # type: ignore[attr-defined]
    ref = PartitionRef(
        "landing", "t", "w", "webhook_events", PartitionRef.parse("a/t/w/x/dt=2025-12-06").dt, 5
    )
    assert read_table(store, ref).column("event_id").to_pylist() == ["f1"]
    reopened = Journal(tmp_path / "j").open()  # the failed write was cut back: one clean record
    hours = reopened.hours()
    assert [r["event_id"] for h, size in hours.items() for r in reopened.read(h, 0, size)] == ["f1"]
    reopened.close()


def _disk_full(fd: int) -> None:
    raise OSError(28, "No space left on device")
