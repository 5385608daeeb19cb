"""Data Manager lists checked before a sync by a validate-only upload, through the real client against the
emulator: a mapped list that exists passes and stays empty, an id Google does not know and a name with no mapping
are configuration findings naming who must act."""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import pytest

from airflow_provider_cio.destinations.google.datamanager import (
    DataManagerDestination,
    build_ingestion_client,
)
from airflow_provider_cio.preflight.findings import ERROR
from airflow_provider_cio.preflight.google_lists import check_lists
from cio_devkit.emulators.google.server import GoogleEmulator
from cio_devkit.emulators.google.settings import EmulatorSettings

ACCOUNT = "1234567890"


@pytest.fixture
def google() -> Iterator[GoogleEmulator]:
    emu = GoogleEmulator(tls=True, settings=EmulatorSettings())
    emu.start()
    try:
        yield emu
    finally:
        emu.stop()


def destination(google: GoogleEmulator, lists: dict[str, str]) -> DataManagerDestination:
    assert google.cert_path is not None
    channel = grpc.secure_channel(
        google.target, grpc.ssl_channel_credentials(root_certificates=google.cert_path.read_bytes())
    )
    return DataManagerDestination(
        build_ingestion_client(channel=channel), operating_account_id=ACCOUNT, user_list_ids=lists
    )


def test_lists_checked_without_changing_them(google: GoogleEmulator) -> None:
    good = google.create_user_list(ACCOUNT, "vip")
    dest = destination(google, {"cio/dev/demo/vip": str(good), "cio/dev/demo/gone": "999999"})
    assert check_lists(dest, ["cio/dev/demo/vip"]) == []
    (probe,) = google.calls("IngestAudienceMembers")
    assert probe.summary.get("validate_only") is True and not google.members(ACCOUNT, good)  # nothing applied
    findings = check_lists(dest, ["cio/dev/demo/gone", "cio/dev/demo/unmapped"])
    assert [(f.level, f.check) for f in findings] == [(ERROR, "google_list")] * 2
    gone, unmapped = findings
    assert (
        "cio/dev/demo/gone" in gone.message and "INVALID_USER_LIST_ID" in gone.message and gone.who_must_act
    )
    assert "no user list id configured" in unmapped.message and "(who must act" not in unmapped.message
