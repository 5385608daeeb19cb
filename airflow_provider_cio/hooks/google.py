"""Google Customer Match hook: one connection, two backends (Data Manager API or Google Ads API).

Connection: ``api`` (data_manager | google_ads), ``credentials_json`` (secret: a service-account or authorized-user
JSON; ``{"type": "anonymous"}`` only for emulators), ``customer_id``, optional ``login_customer_id``,
``api_version``, ``user_list_ids`` (Data Manager: platform audience name, e.g. ``cio/prod/acme/winback``, -> user
list id, because Data Manager cannot create lists), optional ``membership_life_span_days`` (1..540, default 540) and
``refresh_after_days`` (default a third of it: members are re-sent before their membership lapses); password =
developer token (Google Ads API only); host = endpoint override (``127.0.0.1:PORT`` for the devstack, whose
certificate the worker trusts through ``GRPC_DEFAULT_SSL_ROOTS_FILE_PATH``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TypeAlias

from airflow.sdk import BaseHook

from airflow_provider_cio.hooks._extras import ConnectionConfigError, read_extras

if TYPE_CHECKING:
    from airflow_provider_cio.destinations.google.ads import GoogleAdsDestination
    from airflow_provider_cio.destinations.google.datamanager import DataManagerDestination

    # the two backends of one connection (extra ``api``): both are ``sync.Destination``s with ``ping`` and
    # ``bound_worker_wait``
    GoogleDestination: TypeAlias = DataManagerDestination | GoogleAdsDestination

_ALLOWED = {
    "api",
    "credentials_json",
    "customer_id",
    "login_customer_id",
    "api_version",
    "user_list_ids",
    "membership_life_span_days",
    "refresh_after_days",
}
_SCOPES = {
    "data_manager": ["https://www.googleapis.com/auth/datamanager"],
    "google_ads": ["https://www.googleapis.com/auth/adwords"],
}


class GoogleCustomerMatchHook(BaseHook):
    conn_name_attr = "google_conn_id"
    default_conn_name = "google_customer_match_default"
    conn_type = "google_customer_match"
    hook_name = "Google Customer Match"

    def __init__(self, google_conn_id: str = default_conn_name, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.google_conn_id = google_conn_id
        self._destination: GoogleDestination | None = None

    def _settings(self) -> tuple[Any, dict[str, Any]]:
        conn = self.get_connection(self.google_conn_id)
        extras = read_extras(
            self.google_conn_id, conn.extra_dejson, allowed=_ALLOWED, required={"customer_id"}
        )
        api = str(extras.get("api") or "data_manager")
        if api not in _SCOPES:
            raise ConnectionConfigError(
                f"connection {self.google_conn_id!r}: api must be 'data_manager' or 'google_ads', not {api!r}"
            )
        extras["api"] = api
        return conn, extras

    def _credentials(self, raw: Any, api: str) -> Any:
        if not raw:
            raise ConnectionConfigError(f"connection {self.google_conn_id!r} has no credentials_json")
        info = json.loads(raw) if isinstance(raw, str) else dict(raw)
        kind = info.get("type")
        if kind == "anonymous":
            from google.auth.credentials import AnonymousCredentials

            return AnonymousCredentials()
        if kind == "service_account":
            from google.oauth2 import service_account

            return service_account.Credentials.from_service_account_info(info, scopes=_SCOPES[api])
        if kind == "authorized_user":
            from google.oauth2.credentials import Credentials

            return Credentials.from_authorized_user_info(info, scopes=_SCOPES[api])
        raise ConnectionConfigError(
            f"connection {self.google_conn_id!r}: credentials_json type {kind!r} is not supported "
            "(service_account, authorized_user)"
        )

    @property
    def api(self) -> str:
        return str(self._settings()[1]["api"])

    def get_destination(self, **options: Any) -> GoogleDestination:
        """The ``Destination`` of the configured backend (built once per hook)."""
        if self._destination is not None:
            return self._destination
        conn, extras = self._settings()
        api = extras["api"]
        credentials = self._credentials(extras.get("credentials_json"), api)
        customer_id = str(extras["customer_id"]).replace("-", "")
        if api == "data_manager":
            from airflow_provider_cio.destinations.google.datamanager import (
                DataManagerDestination,
                build_ingestion_client,
            )

            client = build_ingestion_client(credentials=credentials, endpoint=conn.host or None)
            lists = extras.get("user_list_ids") or {}
            if isinstance(lists, str):
                lists = json.loads(lists)
            self._destination = DataManagerDestination(
                client,
                operating_account_id=customer_id,
                user_list_ids={str(k): str(v) for k, v in lists.items()},
                login_account_id=extras.get("login_customer_id") or None,
                **_membership_options(extras),
                **options,
            )
        else:
            from airflow_provider_cio.destinations.google.ads import GoogleAdsDestination, build_ads_client

            if not conn.password:
                raise ConnectionConfigError(
                    f"connection {self.google_conn_id!r} has no developer token (password), needed by the Google Ads API"
                )
            version = str(extras.get("api_version") or "v26")
            client = build_ads_client(
                developer_token=conn.password,
                credentials=credentials,
                endpoint=conn.host or None,
                login_customer_id=extras.get("login_customer_id") or None,
                version=version,
            )
            self._destination = GoogleAdsDestination(
                client,
                customer_id=customer_id,
                api_version=version,
                **_membership_options(extras),
                **options,
            )
        return self._destination

    def get_conn(self) -> GoogleDestination:
        return self.get_destination()

    def preflight(self, audience_names: Sequence[str] = ()) -> list[Any]:
        """Before a sync: the backend answers (``ping``), and with Data Manager each named platform audience maps to
        a list that accepts uploads (a validate-only upload; the Google Ads backend finds or creates its lists).
        Returns ``preflight.findings.Finding``s."""
        from airflow_provider_cio.destinations.google.datamanager import DataManagerDestination
        from airflow_provider_cio.preflight.google_lists import check_lists

        destination = self.get_destination()
        destination.ping()
        if not isinstance(destination, DataManagerDestination):  # api: google_ads
            return []
        return check_lists(destination, audience_names or list(destination.user_list_ids))

    def test_connection(self) -> tuple[bool, str]:
        """One cheap real call on the configured backend."""
        try:
            self.get_destination().ping()
        except Exception as exc:
            return False, str(exc)
        return True, f"Google {self.api} backend reachable; credentials accepted"


def _membership_options(extras: dict[str, Any]) -> dict[str, Any]:
    """``membership_life_span_days`` / ``refresh_after_days`` from the extras, when set (the destination checks
    them and names the key it refuses)."""
    found: dict[str, Any] = {}
    for key in ("membership_life_span_days", "refresh_after_days"):
        value = extras.get(key)
        if value is not None and value != "":
            found[key] = int(value) if isinstance(value, str) and value.strip().isdigit() else value
    return found
