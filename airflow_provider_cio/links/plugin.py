"""The Airflow plugin that mounts the report-link route on the API server (registered in the provider's info).

Airflow loads a provider's plugin class in every component (scheduler, workers, dag-processor): the FastAPI app is
built on the first request only, so loading the plugin imports nothing heavy.
"""

from __future__ import annotations

from typing import Any

from airflow.plugins_manager import AirflowPlugin

from airflow_provider_cio.links.operator_links import ROUTE_PREFIX


class _LazyApp:
    """An ASGI app that builds ``links.route``'s FastAPI app when the API server first routes a request to it."""

    def __init__(self) -> None:
        self._app: Any = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if self._app is None:
            from airflow_provider_cio.links.route import create_app

            self._app = create_app()
        await self._app(scope, receive, send)


class CioReportsPlugin(AirflowPlugin):
    name = "cio_reports"
    fastapi_apps = [{"app": _LazyApp(), "url_prefix": ROUTE_PREFIX, "name": "cio report links"}]
