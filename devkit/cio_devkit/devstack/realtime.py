"""The event-driven path on a private devstack, for the end-to-end test, the ``realtime_latency`` benchmark and the
demo: Azurite, the webhook receiver (a real process, both routes), the Meta and Google emulators in this process
(so their membership can be read: Google's has no HTTP admin), and helpers to post what Customer.io would post.

Set-up, not the thing under test: a people partition landed from the same synthetic workspace the Customer.io
emulator serves (the daily export's job), the warehouse orders (the devstack's seed), and a DAG config (a copy of
``devstack.yaml`` with its own workspace and a ``min_size`` of 1: a handful of carts makes the audience).
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cio_devkit.devstack.stack import Devstack, default_services, project_root

CART_AUDIENCE = "high_intent_unresponsive_carts"
SUPPRESSION_AUDIENCE = "suppress_recent_purchasers"
SIGNING_KEY = "realtime-reporting-webhook-key"
PIPELINES_SECRET = "realtime-data-pipelines-secret"
RECENT_BUYERS = 10  # people with an order in the last days: the suppression audience before any conversion
CART_CAMPAIGN_ID, FIRST_CART_ACTION_ID = 2, 21  # the definitions' defaults, the synthetic workspace's flow


class RealtimeStack:
    """``with RealtimeStack(tmp) as stack: stack.post_carts([...])``; ``stack.env`` runs Airflow against it."""

    def __init__(
        self,
        home: Path,
        *,
        flush_interval: float = 2.0,
        workspace: str | None = None,
        devstack: Devstack | None = None,
    ) -> None:
        self.home = home
        self._shared = devstack  # a running devstack whose Azurite to use (the demo's); else a private one
        self.flush_interval = flush_interval
        self.env_name = "dev"
        self.workspace = workspace or f"rt{uuid.uuid4().hex[:6]}"
        self.env: dict[str, str] = {}
        self.recent_buyers: list[str] = []
        self._deliveries: dict[str, str] = {}  # customer id -> delivery id of their last cart email
        self._stops: list[Any] = []

    # -- lifecycle -----------------------------------------------------------------------------------------------
    def __enter__(self) -> RealtimeStack:
        try:
            self._start()
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        for stop in reversed(self._stops):
            with contextlib.suppress(Exception):  # keep stopping the rest
                stop()
        self._stops.clear()

    def _start(self) -> None:
        from airflow_provider_cio.sync.naming import AudienceOwner, platform_audience_name
        from cio_devkit.devstack.emulator_services import (
            GOOGLE_CUSTOMER_ID,
            META_AD_ACCOUNT,
            META_APP_SECRET,
            META_TOKEN,
        )
        from cio_devkit.devstack.stack import BLOB_CONN_ID
        from cio_devkit.emulators.google import GoogleEmulator
        from cio_devkit.emulators.google.settings import EmulatorSettings
        from cio_devkit.emulators.meta import MetaGraphEmulator
        from cio_devkit.emulators.meta.settings import MetaEmulatorSettings

        self.home.mkdir(parents=True, exist_ok=True)
        if self._shared is not None:
            self.devstack = self._shared
            connections = self.devstack.read_state()["connections"]
        else:
            services = [s for s in default_services() if s.name == "azurite"]
            self.devstack = Devstack(self.home / "devstack", services)
            connections = self.devstack.up()
            self._stops.append(self.devstack.down)
        self.connection_string = str(connections[BLOB_CONN_ID]["extra"]["connection_string"])
        # the devstack's own timings: Meta applies edits about a second later, Data Manager processes in a second
        self.meta = MetaGraphEmulator(
            access_token=META_TOKEN,
            app_secret=META_APP_SECRET,
            ad_account_id=META_AD_ACCOUNT,
            settings=MetaEmulatorSettings(
                add_delay=0.5, remove_delay=1.0, replace_delay=0.5, count_delay=1.0
            ),
        ).start()
        self._stops.append(self.meta.stop)
        self.google = GoogleEmulator(
            cert_dir=self.home / "google", settings=EmulatorSettings(dm_processing_seconds=1.0)
        ).start()
        self._stops.append(self.google.stop)
        self.google_customer = GOOGLE_CUSTOMER_ID
        self.google_lists = {
            audience: self.google.create_user_list(
                GOOGLE_CUSTOMER_ID,
                platform_audience_name(self.env_name, self.workspace, audience),
                description=AudienceOwner(self.env_name, self.workspace, audience).description(),
            )
            for audience in (CART_AUDIENCE, SUPPRESSION_AUDIENCE)
        }
        common = {"credentials_json": json.dumps({"type": "anonymous"}), "customer_id": GOOGLE_CUSTOMER_ID}
        platform_connections = {
            "cio_meta": {
                "conn_type": "meta_custom_audience",
                "host": self.meta.url,
                "password": META_TOKEN,
                "extra": {
                    "app_secret": META_APP_SECRET,
                    "ad_account_id": META_AD_ACCOUNT,
                    "api_version": "v26.0",
                },
            },
            "cio_google_dm": {
                "conn_type": "google_customer_match",
                "host": f"localhost:{self.google.port}",
                "extra": {
                    **common,
                    "api": "data_manager",
                    "user_list_ids": {
                        platform_audience_name(self.env_name, self.workspace, a): str(i)
                        for a, i in self.google_lists.items()
                    },
                },
            },
        }
        assert self.google.certificate is not None
        self.env = {
            **self.devstack.environment(),
            **Devstack.connection_env(platform_connections),
            "GRPC_DEFAULT_SSL_ROOTS_FILE_PATH": str(self.google.certificate.bundle_path),
        }
        self.dag_config = self._write_dag_config()
        self._land_people()
        self._seed_recent_orders()
        self._start_receiver()

    def _write_dag_config(self) -> Path:
        import yaml

        raw = yaml.safe_load((project_root() / "dags" / "config" / "devstack.yaml").read_text())
        raw["workspace"] = self.workspace
        raw["audiences"]["min_size"] = (
            0  # a handful of carts makes the audience; none yet is no guard failure
        )
        raw["audiences"]["max_shrink"] = 0.5
        raw["audiences"]["on_guard"] = (
            "fail"  # a blocked guard fails the run here, it does not wait for on-call
        )
        path = self.home / "dag_config.yaml"
        path.write_text(yaml.safe_dump(raw))
        return path

    def store(self) -> Any:
        from azure.storage.blob import ContainerClient

        from airflow_provider_cio.storage.azure import AzureObjectStore

        return AzureObjectStore(ContainerClient.from_connection_string(self.connection_string, "customerio"))

    def workspace_data(self) -> Any:
        from datetime import date

        from cio_devkit.devstack.emulator_services import WORKSPACE
        from cio_devkit.emulators.synthetic import generate_workspace

        if not hasattr(self, "_workspace_data"):
            self._workspace_data = generate_workspace(
                people=int(WORKSPACE["people"]),
                seed=int(WORKSPACE["seed"]),
                start=date.fromisoformat(str(WORKSPACE["start"])),
                days=int(WORKSPACE["days"]),
            )
        return self._workspace_data

    def _land_people(self) -> None:
        """Yesterday's people partition, as the daily export lands it (full state, App API source)."""
        from airflow_provider_cio.datasets import arrow_schema
        from airflow_provider_cio.landing.layout import PartitionRef
        from airflow_provider_cio.landing.writer import PartitionWriter

        day = (datetime.now(UTC) - timedelta(days=1)).date()
        ref = PartitionRef("landing", self.env_name, self.workspace, "people", day)
        schema = arrow_schema("people")
        table = self.workspace_data().people.cast(schema)
        with PartitionWriter(self.store(), ref, schema, source="customerio_app_api") as writer:
            for batch in table.to_batches(max_chunksize=50_000):
                writer.write_batch(batch)
            writer.commit()

    def _start_receiver(self) -> None:
        from cio_devkit.devstack.processes import free_port

        self.receiver_port = free_port()
        env = {
            **os.environ,
            "CIO_WEBHOOK_SIGNING_KEY": SIGNING_KEY,
            "CIO_WEBHOOK_PIPELINES_SECRET": PIPELINES_SECRET,
            "CIO_WEBHOOK_BLOB_CONNECTION_STRING": self.connection_string,
        }
        command = [sys.executable, "-m", "airflow_provider_cio.webhooks", "--port", str(self.receiver_port),
                   "--container", "customerio", "--journal-dir", str(self.home / "journal"),
                   "--env", self.env_name, "--workspace", self.workspace,
                   "--flush-interval", str(self.flush_interval), "--log-level", "warning"]  # fmt: skip
        log = (self.home / "receiver.log").open("ab")
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)

        def stop() -> None:
            process.terminate()
            process.wait(timeout=60)
            log.close()

        self._stops.append(stop)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"the webhook receiver exited at start; see {self.home / 'receiver.log'}")
            try:
                urllib.request.urlopen(f"{self.receiver_url}/healthz", timeout=1).close()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("the webhook receiver did not answer within 60 s")

    @property
    def receiver_url(self) -> str:
        return f"http://127.0.0.1:{self.receiver_port}"

    # -- what Customer.io posts ------------------------------------------------------------------------------------
    def _seed_recent_orders(self) -> None:
        """Orders of the last days by ``RECENT_BUYERS`` people, under the warehouse prefix: the synthetic history
        ends months ago, and a real shop's suppression audience is never empty (an empty snapshot fails its gate)."""
        import io

        import pyarrow as pa
        import pyarrow.parquet as pq

        buyers = self._eligible(RECENT_BUYERS, exclude=set())
        now = datetime.now(UTC)
        table = pa.table(
            {
                "customer_id": pa.array(buyers, pa.string()),
                "order_id": pa.array([f"rt-{self.workspace}-{i}" for i in range(len(buyers))], pa.string()),
                "amount": pa.array([60.0] * len(buyers), pa.float64()),
                "margin": pa.array([18.0] * len(buyers), pa.float64()),
                "ordered_at": pa.array([now - timedelta(days=2)] * len(buyers), pa.timestamp("us", tz="UTC")),
            }
        )
        buffer = io.BytesIO()
        pq.write_table(table, buffer)
        path = f"warehouse/{self.env_name}/orders/recent-{self.workspace}.parquet"
        self.store().write_bytes(path, buffer.getvalue())
        self._stops.append(
            lambda: self.store().delete(path)
        )  # a shared devstack keeps its warehouse as it was
        self.recent_buyers = buyers

    def cart_people(self, count: int) -> list[str]:
        """People the cart audience can take: consented, live, with an email, not held out, average order above
        the definition's 80 and no order in the last 30 days (so a conversion visibly moves them)."""
        return self._eligible(count, exclude=set(self.recent_buyers), min_aov=100.0)

    def _eligible(self, count: int, *, exclude: set[str], min_aov: float = 0.0) -> list[str]:
        import pyarrow.compute as pc

        from airflow_provider_cio.audiences.holdout import HoldoutPolicy
        from airflow_provider_cio.dag_config import read_dag_config

        data = self.workspace_data()
        cfg = read_dag_config(self.dag_config)
        holdout = HoldoutPolicy(**cfg.holdout.policy()) if cfg.holdout else None
        now = datetime.now(UTC)
        orders = data.orders.filter(pc.greater_equal(data.orders["ordered_at"], now - timedelta(days=365)))
        spent: dict[str, list[float]] = {}
        latest: dict[str, datetime] = {}
        for row in orders.to_pylist():
            spent.setdefault(row["customer_id"], []).append(row["amount"])
            latest[row["customer_id"]] = max(
                latest.get(row["customer_id"], row["ordered_at"]), row["ordered_at"]
            )
        chosen: list[str] = []
        for person in data.people.to_pylist():
            cid = person["customer_id"]
            amounts = spent.get(cid)
            if cid in exclude or (min_aov and (not amounts or sum(amounts) / len(amounts) <= min_aov)):
                continue
            if amounts and latest[cid] >= now - timedelta(days=31):
                continue
            if person["deleted"] or person["suppressed"] or not person["ad_consent"] or not person["email"]:
                continue
            if "@" not in str(person["email"]) or (holdout is not None and holdout.contains(cid)):
                continue
            chosen.append(cid)
            if len(chosen) == count:
                return chosen
        raise RuntimeError(f"only {len(chosen)} people qualify for a cart audience; asked for {count}")

    def post_carts(self, customer_ids: Sequence[str]) -> float:
        """Each person adds to cart (a Data Pipelines track call) and the flow's first cart email is sent to them
        (a Reporting Webhook ``sent``); returns when the posts were acknowledged (unix seconds)."""
        from cio_devkit.emulators.customerio.pipelines import post_calls, track_call

        now = datetime.now(UTC)
        calls = [track_call(cid, "added_to_cart", at=now - timedelta(minutes=2)) for cid in customer_ids]
        status = post_calls(
            f"{self.receiver_url}/webhooks/customerio/pipelines", PIPELINES_SECRET.encode(), calls
        )
        if status != 200:
            raise RuntimeError(f"the receiver answered {status} to the cart calls")
        # every cart email is a new delivery, as in Customer.io: posting a person's cart again (the latency
        # benchmark's warm-up does while the watcher starts) must not make one delivery "sent" before its cart
        for cid in customer_ids:
            self._deliveries[cid] = f"rt-{cid}-{uuid.uuid4().hex[:8]}"
        self._report(
            [self._message_event(cid, "sent", now - timedelta(minutes=1)) for cid in customer_ids],
        )
        return time.time()

    def post_converted(self, customer_ids: Sequence[str]) -> float:
        """Each person converts on their last cart email (a Reporting Webhook ``converted``)."""
        self._report([self._message_event(cid, "converted", datetime.now(UTC)) for cid in customer_ids])
        return time.time()

    def _message_event(self, cid: str, metric: str, at: datetime) -> dict[str, Any]:
        return {
            "event_id": uuid.uuid4().hex,
            "object_type": "email",
            "metric": metric,
            "timestamp": int(at.timestamp()),
            "data": {
                "delivery_id": self._deliveries.get(cid, f"rt-{cid}"),
                "identifiers": {"id": cid},
                "campaign_id": CART_CAMPAIGN_ID,
                "action_id": FIRST_CART_ACTION_ID,
            },
        }

    def _report(self, events: list[dict[str, Any]]) -> None:
        from cio_devkit.emulators.customerio.webhooks import ReportingWebhookSender

        sender = ReportingWebhookSender(
            f"{self.receiver_url}/webhooks/customerio", SIGNING_KEY.encode()
        ).start()
        try:
            sender.send(events)
            if not sender.wait_idle(60) or len(sender.stats.acknowledged) != len(events):
                raise RuntimeError(
                    f"the receiver acknowledged {len(sender.stats.acknowledged)} of {len(events)}"
                )
        finally:
            sender.stop()

    def wait_landed(self, timeout: float = 60.0) -> dict[str, Any]:
        """Block until every acknowledged event is in a committed micro-batch; the receiver's status."""
        deadline = time.monotonic() + timeout
        while True:
            with urllib.request.urlopen(f"{self.receiver_url}/_status", timeout=10) as answer:
                status: dict[str, Any] = json.loads(answer.read())
            if not status["flush"]["pending_hours"]:
                return status
            if time.monotonic() > deadline:
                raise RuntimeError(f"micro-batches not landed within {timeout:.0f} s: {status['flush']}")
            time.sleep(0.2)

    # -- what the platforms hold -----------------------------------------------------------------------------------
    def membership(self) -> dict[str, dict[str, int]]:
        """Members (applied or pending, i.e. requests that reached the platform) per platform and audience."""
        from airflow_provider_cio.sync.naming import platform_audience_name

        out: dict[str, dict[str, int]] = {"meta": {}, "google": {}}
        ids = self.meta.audience_ids()
        for audience in (CART_AUDIENCE, SUPPRESSION_AUDIENCE):
            name = platform_audience_name(self.env_name, self.workspace, audience)
            out["meta"][audience] = len(self.meta.audience_members(ids[name])) if name in ids else 0
            out["google"][audience] = len(
                self.google.members(self.google_customer, self.google_lists[audience])
            )
        return out

    def meta_pending(self) -> int:
        return int(self.meta.pending_changes())


def run_realtime(stack: RealtimeStack, home: Path, *, migrate_db: bool = True) -> tuple[int, str]:
    """One ``cio_realtime`` run covering the hour in progress (what a batch's Asset event sets), through the real
    ``airflow dags test``: its exit code and output."""
    from cio_devkit.airflow_env import airflow_cli, airflow_env, migrate

    env = airflow_env(home, project_root() / "dags", stack.env)
    env["CIO_DAG_CONFIG"] = str(stack.dag_config)
    if migrate_db and not (home / "migrated").exists():
        migrate(env)
        (home / "migrated").touch()
    hour_end = (datetime.now(UTC) + timedelta(hours=1)).replace(minute=0, second=0, microsecond=0)
    result = airflow_cli(env, "dags", "test", "cio_realtime", hour_end.isoformat(), check=False, capture=True)
    return result.returncode, result.stdout + result.stderr
