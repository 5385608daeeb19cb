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

    def preflight(
        self, *, audience_id: str | None = None, warn_days: float = 14.0, now: Any = None
    ) -> list[Any]:
        """Before a sync: the ad account answers (raises ConfigurationError otherwise), then Meta's view of the
        token (``debug_token``: valid, scopes, expiry ``warn_days`` ahead) and, given ``audience_id``, whether the
        review flagged the audience. Returns ``preflight.findings.Finding``s (errors and warnings)."""
        from datetime import UTC, datetime

        from airflow_provider_cio.preflight.meta_token import check_audience, check_token

        destination = self.get_destination()
        destination.ping()
        token = self.get_connection(self.meta_conn_id).password or ""
        response = destination._guarded(
            "debug token",
            lambda: destination.api.call("GET", ("debug_token",), params={"input_token": token}),
        )
        data = (response.json() or {}).get("data") or {}
        findings = check_token(data, now=now or datetime.now(UTC), warn_days=warn_days)
        if audience_id:
            findings += check_audience(destination.describe(audience_id))
        return findings

    def test_connection(self) -> tuple[bool, str]:
        """Cheap real calls: read the ad account, and Meta's view of the token (validity, scopes, expiry)."""
        try:
            findings = self.preflight()
        except Exception as exc:
            return False, str(exc)
        if any(f.level == "error" for f in findings):
            return False, "; ".join(f.line() for f in findings)
        warned = "".join(f"; {f.line()}" for f in findings)
        return True, f"Meta Graph API reachable; token and ad account accepted{warned}"
