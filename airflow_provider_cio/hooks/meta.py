"""Meta Custom Audiences hook: owns the ``meta_custom_audience`` connection and builds the destination."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseHook

from airflow_provider_cio.hooks._extras import ConnectionConfigError, read_extras

if TYPE_CHECKING:
    from airflow_provider_cio.destinations.meta.destination import MetaCustomAudienceDestination


class MetaCustomAudienceHook(BaseHook):
    """Connection: password = access token; extras app_secret, ad_account_id, api_version; host = Graph base URL."""

    conn_name_attr = "meta_conn_id"
    default_conn_name = "meta_default"
    conn_type = "meta_custom_audience"
    hook_name = "Meta Custom Audiences"

    def __init__(self, meta_conn_id: str = default_conn_name, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.meta_conn_id = meta_conn_id
        self._destination: MetaCustomAudienceDestination | None = None

    def get_destination(self, **options: Any) -> MetaCustomAudienceDestination:
        """The destination for this ad account (built once per hook; ``options`` tune batching and timeouts)."""
        if self._destination is None:
            from airflow_provider_cio.destinations.meta.destination import MetaCustomAudienceDestination

            conn = self.get_connection(self.meta_conn_id)
            extras = read_extras(
                self.meta_conn_id,
                conn.extra_dejson,
                allowed={"app_secret", "ad_account_id", "api_version"},
                required={"ad_account_id"},
            )
            if not conn.password:
                raise ConnectionConfigError(
                    f"connection {self.meta_conn_id!r} has no access token (password)"
                )
            self._destination = MetaCustomAudienceDestination(
                str(extras["ad_account_id"]),
                conn.password,
                app_secret=extras.get("app_secret") or None,
                api_version=str(extras.get("api_version") or "v26.0"),
                graph_url=conn.host or None,
                **options,
            )
        return self._destination

    def get_conn(self) -> MetaCustomAudienceDestination:
        return self.get_destination()

    def test_connection(self) -> tuple[bool, str]:
        """One cheap real call: read the ad account."""
        try:
            self.get_destination().ping()
        except Exception as exc:
            return False, str(exc)
        return True, "Meta Graph API reachable; token and ad account accepted"
