"""The platform emulators the devstack runs, and the Airflow connections that point at them.

Each emulator is started through ``run_service`` (same marker and CLI for all); its connection factory runs in the
devstack process once the emulator answers.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cio_devkit.devstack.stack import Devstack

ConnectionFactory = Callable[["Devstack", int], dict[str, dict[str, Any]]]
Starter = Callable[[int, Path], Callable[[], None]]

GOOGLE_CUSTOMER_ID = "1234567890"
# the env and workspace of dags/config/devstack.yaml: the Google lists below are made for its audiences
DEVSTACK_ENV = "dev"
DEVSTACK_WORKSPACE = "demo"


def devstack_user_lists() -> dict[str, str]:
    """Platform name -> owner description of each reference audience in the devstack's workspace: Data Manager
    cannot create lists, so the emulator starts with them, made as the Google Ads backend would make them."""
    from airflow_provider_cio.audiences.definitions import REFERENCE_AUDIENCES
    from airflow_provider_cio.sync.naming import AudienceOwner, platform_audience_name

    return {
        platform_audience_name(DEVSTACK_ENV, DEVSTACK_WORKSPACE, audience): AudienceOwner(
            DEVSTACK_ENV, DEVSTACK_WORKSPACE, audience
        ).description()
        for audience in REFERENCE_AUDIENCES
    }


# -- Google (Data Manager + Google Ads, one gRPC server with TLS) -------------------------------------------------
def _start_google(port: int, state_dir: Path) -> Callable[[], None]:
    from cio_devkit.emulators.google import GoogleEmulator
    from cio_devkit.emulators.google.settings import EmulatorSettings

    # Data Manager requests are processed a second after receipt (Google: hours), so the demo stays fast
    settings = EmulatorSettings(dm_processing_seconds=1.0)
    _adopt_trusted_certificate(state_dir / "google")
    emulator = GoogleEmulator(port=port, cert_dir=state_dir / "google", settings=settings).start()
    lists = {
        name: str(emulator.create_user_list(GOOGLE_CUSTOMER_ID, name, description=description))
        for name, description in devstack_user_lists().items()
    }
    (state_dir / "google" / "lists.json").write_text(json.dumps(lists))
    return emulator.stop


def _adopt_trusted_certificate(cert_dir: Path) -> None:
    """Serve the certificate the starting process already trusts, when it names one of ours.

    gRPC reads ``GRPC_DEFAULT_SSL_ROOTS_FILE_PATH`` once per process: a process (a test session, say) that talked
    TLS to an in-process emulator keeps that emulator's bundle for good, so a devstack it starts later must serve
    that same certificate for it to connect. A fresh shell has no such variable and gets a new certificate."""
    import os
    import shutil

    from cio_devkit.emulators.google import certs

    inherited = os.environ.get(certs.ROOTS_ENV)
    if not inherited or certs.load(cert_dir) is not None:
        return
    pair = certs.load(Path(inherited).parent)
    if pair is None or pair.bundle_path != Path(inherited):
        return
    cert_dir.mkdir(parents=True, exist_ok=True)
    for path in (pair.key_path, pair.cert_path, pair.bundle_path):
        shutil.copy2(path, cert_dir / path.name)


def _google_connections(stack: Devstack, port: int) -> dict[str, dict[str, Any]]:
    lists = json.loads((stack.state_dir / "google" / "lists.json").read_text())
    common = {"credentials_json": json.dumps({"type": "anonymous"}), "customer_id": GOOGLE_CUSTOMER_ID}
    return {
        "cio_google_dm": {
            "conn_type": "google_customer_match",
            "host": f"localhost:{port}",
            "extra": {**common, "api": "data_manager", "user_list_ids": lists},
        },
        "cio_google_ads": {
            "conn_type": "google_customer_match",
            "host": f"localhost:{port}",
            "password": "devstack-developer-token",
            "extra": {**common, "api": "google_ads", "api_version": "v26"},
        },
    }


def _google_env(stack: Devstack, port: int) -> dict[str, str]:
    """Workers must trust the emulator's self-signed certificate (a bundle that keeps the public roots too)."""
    return {"GRPC_DEFAULT_SSL_ROOTS_FILE_PATH": str(stack.state_dir / "google" / "trust-bundle.pem")}


# -- Customer.io App API over a deterministic synthetic workspace ------------------------------------------------
CUSTOMERIO_API_KEY = "devstack-app-api-key"
WORKSPACE: dict[str, Any] = {"people": 20_000, "seed": 7, "start": "2026-06-01", "days": 155}


def _start_customerio(port: int, state_dir: Path) -> Callable[[], None]:
    from datetime import date

    from cio_devkit.emulators.customerio.server import CustomerIoEmulator
    from cio_devkit.emulators.synthetic import generate_workspace

    workspace = generate_workspace(
        people=int(WORKSPACE["people"]),
        seed=int(WORKSPACE["seed"]),
        start=date.fromisoformat(str(WORKSPACE["start"])),
        days=int(WORKSPACE["days"]),
    )
    return CustomerIoEmulator(workspace, CUSTOMERIO_API_KEY, port=port).start().stop


def _customerio_connections(stack: Devstack, port: int) -> dict[str, dict[str, Any]]:
    return {
        "cio_api": {
            "conn_type": "customerio",
            "host": f"http://127.0.0.1:{port}",
            "password": CUSTOMERIO_API_KEY,
            "extra": {"region": "us"},
        }
    }


# -- Meta Graph API (custom audiences) ------------------------------------------------------------------------------
META_TOKEN = "devstack-meta-access-token"
META_APP_SECRET = "devstack-meta-app-secret"
META_AD_ACCOUNT = "act_1000001"


def _start_meta(port: int, state_dir: Path) -> Callable[[], None]:
    from cio_devkit.emulators.meta import MetaGraphEmulator
    from cio_devkit.emulators.meta.settings import MetaEmulatorSettings

    # Meta applies edits later, removals last (hours on the real platform): about a second here keeps `make demo`
    # fast while a sync still sees accepted-but-not-applied edits; POST /_admin/settings changes them at run time.
    settings = MetaEmulatorSettings(add_delay=0.5, remove_delay=1.0, replace_delay=0.5, count_delay=1.0)
    emulator = MetaGraphEmulator(
        access_token=META_TOKEN,
        app_secret=META_APP_SECRET,
        ad_account_id=META_AD_ACCOUNT,
        port=port,
        settings=settings,
    )
    return emulator.start().stop


def _meta_connections(stack: Devstack, port: int) -> dict[str, dict[str, Any]]:
    return {
        "cio_meta": {
            "conn_type": "meta_custom_audience",
            "host": f"http://127.0.0.1:{port}",
            "password": META_TOKEN,
            "extra": {
                "app_secret": META_APP_SECRET,
                "ad_account_id": META_AD_ACCOUNT,
                "api_version": "v26.0",
            },
        }
    }


STARTERS: dict[str, Starter] = {"google": _start_google, "customerio": _start_customerio, "meta": _start_meta}
CONNECTIONS: dict[str, ConnectionFactory] = {
    "google": _google_connections,
    "customerio": _customerio_connections,
    "meta": _meta_connections,
}
ENVIRONMENT: dict[str, Callable[[Devstack, int], dict[str, str]]] = {"google": _google_env}
