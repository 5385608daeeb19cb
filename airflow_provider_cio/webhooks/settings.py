"""The receiver's settings: one dataclass, read from the environment (``CIO_WEBHOOK_*``) or the command line."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from airflow_provider_cio.errors import CioError, ErrorClass
from airflow_provider_cio.webhooks.flusher import DEFAULT_INTERVAL_SECONDS, DEFAULT_RETENTION_HOURS
from airflow_provider_cio.webhooks.signature import DEFAULT_TOLERANCE_SECONDS

DEFAULT_PATH = "/webhooks/customerio"
DEFAULT_PIPELINES_PATH = "/webhooks/customerio/pipelines"
# A "sent" event with Body Content enabled carries the whole message; we land none of it, but must read it.
DEFAULT_MAX_BODY_BYTES = 1024 * 1024


class SettingsError(CioError, ValueError):
    """A setting is missing or out of range; the message names it (never its value)."""

    error_class = ErrorClass.CONFIGURATION


@dataclass(frozen=True)
class ReceiverSettings:
    signing_key: bytes
    journal_dir: Path
    landing_root: str = "landing"
    env: str = "dev"
    workspace: str = "default"
    path: str = DEFAULT_PATH
    tolerance_seconds: float = DEFAULT_TOLERANCE_SECONDS
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    flush_interval: float = DEFAULT_INTERVAL_SECONDS
    retention_hours: int = DEFAULT_RETENTION_HOURS
    # A signature seen within the tolerance is a captured request sent again (Customer.io signs each attempt
    # anew: a retry that kept its first timestamp would go stale under any tolerance). Off: only event_id dedupes.
    refuse_replayed_signatures: bool = True
    # the Data Pipelines Webhook destination's Shared Secret; empty: that route is off
    pipelines_secret: bytes = b""
    pipelines_path: str = DEFAULT_PIPELINES_PATH

    def __post_init__(self) -> None:
        if len(self.signing_key) < 8:
            raise SettingsError(
                "the webhook signing key is missing or shorter than 8 bytes (CIO_WEBHOOK_SIGNING_KEY)"
            )
        if not self.path.startswith("/") or not self.pipelines_path.startswith("/"):
            raise SettingsError(f"paths {self.path!r}, {self.pipelines_path!r} must start with '/'")
        if self.path == self.pipelines_path:
            raise SettingsError("the Reporting Webhooks path and the Data Pipelines path must differ")
        if self.pipelines_secret and len(self.pipelines_secret) < 8:
            raise SettingsError(
                "the Data Pipelines shared secret is shorter than 8 bytes (CIO_WEBHOOK_PIPELINES_SECRET)"
            )
        for name, value, low in (
            ("tolerance_seconds", self.tolerance_seconds, 1.0),
            ("max_body_bytes", self.max_body_bytes, 1024),
            ("flush_interval", self.flush_interval, 0.01),
            ("retention_hours", self.retention_hours, 1),
        ):
            if value < low:
                raise SettingsError(f"{name} is {value}; it must be at least {low}")

    def __repr__(self) -> str:  # the key never reaches a log line or a traceback
        return f"ReceiverSettings(path={self.path!r}, journal_dir={str(self.journal_dir)!r}, workspace={self.workspace!r})"

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides: object) -> ReceiverSettings:
        """``CIO_WEBHOOK_SIGNING_KEY`` (or ``CIO_WEBHOOK_SIGNING_KEY_FILE``, a mounted secret), ``CIO_WEBHOOK_*``."""
        env = dict(os.environ if environ is None else environ)
        key = env.get("CIO_WEBHOOK_SIGNING_KEY", "")
        key_file = env.get("CIO_WEBHOOK_SIGNING_KEY_FILE")
        if key_file:
            key = Path(key_file).read_text().strip()
        secret = env.get("CIO_WEBHOOK_PIPELINES_SECRET", "")
        secret_file = env.get("CIO_WEBHOOK_PIPELINES_SECRET_FILE")
        if secret_file:
            secret = Path(secret_file).read_text().strip()
        values: dict[str, object] = {
            "signing_key": key.encode(),
            "journal_dir": Path(env.get("CIO_WEBHOOK_JOURNAL_DIR", ".webhook-journal")),
            "landing_root": env.get("CIO_WEBHOOK_LANDING_ROOT", "landing"),
            "env": env.get("CIO_WEBHOOK_ENV", "dev"),
            "workspace": env.get("CIO_WEBHOOK_WORKSPACE", "default"),
            "path": env.get("CIO_WEBHOOK_PATH", DEFAULT_PATH),
            "tolerance_seconds": float(env.get("CIO_WEBHOOK_TOLERANCE_SECONDS", DEFAULT_TOLERANCE_SECONDS)),
            "max_body_bytes": int(env.get("CIO_WEBHOOK_MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES)),
            "flush_interval": float(env.get("CIO_WEBHOOK_FLUSH_INTERVAL", DEFAULT_INTERVAL_SECONDS)),
            "retention_hours": int(env.get("CIO_WEBHOOK_RETENTION_HOURS", DEFAULT_RETENTION_HOURS)),
            "refuse_replayed_signatures": env.get("CIO_WEBHOOK_REFUSE_REPLAYS", "true").lower() != "false",
            "pipelines_secret": secret.encode(),
            "pipelines_path": env.get("CIO_WEBHOOK_PIPELINES_PATH", DEFAULT_PIPELINES_PATH),
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]
