"""Customer.io App API hook: owns the ``customerio`` connection and builds one client per hook."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseHook

from airflow_provider_cio.hooks._extras import ConnectionConfigError, read_extras

if TYPE_CHECKING:
    from airflow_provider_cio.customerio.client import CustomerIoClient


class CustomerIoHook(BaseHook):
    """Connection: password = App API key; extras region (us/eu), site_id, track_api_key; host overrides the base URL."""

    conn_name_attr = "customerio_conn_id"
    default_conn_name = "customerio_default"
    conn_type = "customerio"
    hook_name = "Customer.io"

    def __init__(self, customerio_conn_id: str = default_conn_name, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.customerio_conn_id = customerio_conn_id

    @cached_property
    def client(self) -> CustomerIoClient:
        return client_from_connection(self.customerio_conn_id, self.get_connection(self.customerio_conn_id))

    def get_conn(self) -> CustomerIoClient:
        return self.client

    def test_connection(self) -> tuple[bool, str]:
        """One cheap authenticated call."""
        try:
            self.client.ping()
        except Exception as exc:  # the UI shows the message; it never contains the key
            return False, str(exc)
        return True, "Customer.io App API reachable and the key is accepted"


def client_from_connection(conn_id: str, conn: Any) -> CustomerIoClient:
    """The one place a ``customerio`` connection becomes a client (shared by the hook and the trigger)."""
    from airflow_provider_cio.customerio.client import REGION_BASE_URLS, CustomerIoClient

    extras = read_extras(conn_id, conn.extra_dejson, allowed={"region", "site_id", "track_api_key"})
    if not conn.password:
        raise ConnectionConfigError(f"connection {conn_id!r} has no App API key (password)")
    region = str(extras.get("region") or "us").strip().lower()
    if region not in REGION_BASE_URLS:
        # the client would raise a bare ValueError (classed bug, retried); a typo in a connection is configuration
        raise ConnectionConfigError(
            f"connection {conn_id!r}: region {extras.get('region')!r} is not one of "
            f"{', '.join(sorted(REGION_BASE_URLS))}; fix the connection's region extra"
        )
    return CustomerIoClient(conn.password, region=region, base_url=conn.host or None)
