"""The API-server route behind the report links: ``GET /cio/reports/{dag_id}/{run_id}/{task_id}/{kind}``.

It answers only a logged-in user (the UI's session cookie, or a bearer token) whom the auth manager lets read the
DAG's task instances, and only for a blob the task itself published (its ``cio_reports`` XCom): never an arbitrary
path of the container. It then mints a read-only SAS for minutes and redirects there; nothing is logged with it.
"""

from __future__ import annotations

import json
from typing import Any

# module-level: FastAPI resolves the handler's (string) annotations in this module's globals; imported inside
# create_app, ``Request`` was taken for a required query parameter (HTTP 422). This module is imported only by the
# API server, on the first request to the route (links.plugin).
from airflow.api_fastapi.core_api.security import GetUserDep
from fastapi import FastAPI, HTTPException, Query
from fastapi.responses import RedirectResponse

REDIRECT_MINUTES = 15


def create_app() -> Any:
    """The FastAPI sub-application the plugin mounts under ``/cio``."""
    app = FastAPI(title="Customer.io provider: report links", docs_url=None, redoc_url=None, openapi_url=None)

    @app.get("/reports/{dag_id}/{run_id}/{task_id}/{kind}")
    async def open_report(
        user: GetUserDep, dag_id: str, run_id: str, task_id: str, kind: str, map_index: int = Query(-1)
    ) -> RedirectResponse:
        """``user``: Airflow's own dependency (a bearer token, else the UI's session cookie; 401 without)."""
        from airflow.api_fastapi.app import get_auth_manager
        from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity, DagDetails

        allowed = get_auth_manager().is_authorized_dag(
            method="GET",
            access_entity=DagAccessEntity.TASK_INSTANCE,
            details=DagDetails(id=dag_id),
            user=user,
        )
        if not allowed:
            raise HTTPException(status_code=403, detail="you may not read this DAG's task instances")
        found = _published(dag_id, run_id, task_id, map_index, kind)
        if found is None:
            raise HTTPException(
                status_code=404, detail=f"task {task_id} of run {run_id} published no {kind!r} report"
            )
        conn_id, container, path = found
        try:
            url = signed_url(conn_id, container, path)
        except Exception as exc:  # the message names the cause; the URL (a secret) never appears in it
            raise HTTPException(status_code=502, detail=f"cannot sign a link to {path}: {exc}") from None
        return RedirectResponse(url, status_code=307, headers={"Cache-Control": "no-store"})

    return app


def _published(
    dag_id: str, run_id: str, task_id: str, map_index: int, kind: str
) -> tuple[str, str, str] | None:
    """The task's own pointer for ``kind`` from the metadata DB (no deserialization of arbitrary classes)."""
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    from airflow_provider_cio.links.pointers import XCOM_KEY, report_path

    with create_session() as session:
        row = session.execute(
            XComModel.get_many(
                key=XCOM_KEY, run_id=run_id, dag_ids=dag_id, task_ids=task_id, map_indexes=map_index
            ).with_only_columns(XComModel.value)
        ).first()
    if row is None:
        return None
    value = row.value
    if isinstance(value, str | bytes):
        try:
            value = json.loads(value)
        except ValueError:
            return None
    return report_path(value, kind)


def signed_url(conn_id: str, container: str, path: str, *, minutes: float = REDIRECT_MINUTES) -> str:
    """A read-only SAS URL for ``path`` from the ``WasbHook`` of ``conn_id`` (its credentials sign it)."""
    from airflow.providers.microsoft.azure.hooks.wasb import WasbHook

    from airflow_provider_cio.links.sas import read_only_url

    service = WasbHook(wasb_conn_id=conn_id).blob_service_client
    return read_only_url(service, container, path, minutes=minutes)
