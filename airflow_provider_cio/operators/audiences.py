"""``CioAudienceBuildOperator``: build audiences from validated landing partitions and write their snapshots."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from airflow_provider_cio.hooks.blob import DEFAULT_BLOB_CONN_ID
from airflow_provider_cio.operators._partition import interval

if TYPE_CHECKING:
    from airflow.sdk import Context


class CioAudienceBuildOperator(BaseOperator):
    """Builds each named audience as of the end of the run's data interval and snapshots it to
    ``audiences/{env}/{workspace}/{audience}/dt=.../`` (customer id + hashed identifiers + stats).

    Reads landing partitions within ``lookback_days`` and the warehouse tables: ``name -> blob prefix`` of Parquet
    objects, or ``name -> {table, conn_id, time_column, lookback_days, types, dialect}`` for a table in the team's
    warehouse (any Airflow SQL connection). ``engine`` says where the definitions' queries run: ``{engine: duckdb}``
    (default, embedded), ``{engine: postgres, conn_id}`` or ``{engine: spark, spark_master | spark_remote}``
    (docs/warehouse.md); ``audience_engines`` overrides it per audience. Global exclusions (deleted, suppressed, no ad consent, the holdout) apply to every audience.
    Returns, per audience, the snapshot prefix, size and exclusion counts (no member data).
    """

    template_fields: Sequence[str] = ("env", "workspace", "root", "container")
    ui_color = "#e8daef"

    def __init__(
        self,
        *,
        audiences: Sequence[str],
        workspace: str,
        env: str = "dev",
        root: str = "landing",
        container: str = "customerio",
        wasb_conn_id: str = DEFAULT_BLOB_CONN_ID,
        warehouse: Mapping[str, str | Mapping[str, Any]] | None = None,
        lookback_days: int = 35,
        parameters: Mapping[str, Mapping[str, Any]] | None = None,
        holdout: Mapping[str, Any] | None = None,
        platforms: Sequence[str] = ("meta", "google"),
        default_country: str | None = None,
        definition_paths: Sequence[str] = (),
        hourly: bool = False,
        engine: Mapping[str, Any] | None = None,
        audience_engines: Mapping[str, Mapping[str, Any]] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.audiences = list(audiences)
        self.workspace = workspace
        self.env = env
        self.root = root
        self.container = container
        self.wasb_conn_id = wasb_conn_id
        self.warehouse = dict(warehouse or {"orders": f"warehouse/{env}/orders"})
        self.lookback_days = lookback_days
        self.parameters = {k: dict(v) for k, v in (parameters or {}).items()}
        self.holdout = dict(holdout) if holdout else None
        self.platforms = list(platforms)
        self.default_country = default_country
        self.definition_paths = list(definition_paths)
        self.hourly = hourly
        self.engine = dict(engine or {})
        self.audience_engines = {k: dict(v) for k, v in (audience_engines or {}).items()}

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow_provider_cio.operators._failfast import fail_fast

        with fail_fast():
            return self._build(context)

    def extend_inputs(self, store: Any, inputs: Any, *, as_of: Any, work_dir: Any) -> Any:
        """The inputs a build reads; a subclass adds fresher sources (the event-driven DAG's webhook events)."""
        return inputs

    def _build(self, context: Context) -> dict[str, Any]:
        import json
        import tempfile
        from datetime import UTC, datetime
        from pathlib import Path

        from airflow_provider_cio.audiences.from_landing import inputs_from_landing
        from airflow_provider_cio.audiences.holdout import HoldoutPolicy
        from airflow_provider_cio.audiences.run import snapshot_audiences
        from airflow_provider_cio.hooks.blob import object_store
        from airflow_provider_cio.hooks.warehouse import outside_engine, warehouse_relation

        # before any input is listed: a snapshot of this partition built from later inputs is kept (two DAGs
        # write one dt=/hr=: the hourly cart build and cio_realtime's), see snapshot_audiences
        inputs_at = datetime.now(UTC)
        store = object_store(self.wasb_conn_id, self.container)
        start, as_of = interval(context, hourly=self.hourly)
        day = start.date()
        holdout = HoldoutPolicy(**self.holdout) if self.holdout else None
        prefixes: dict[str, str] = {}
        relations = {}
        for name, spec in self.warehouse.items():
            if isinstance(spec, str) or "prefix" in spec:
                prefixes[name] = spec if isinstance(spec, str) else str(spec["prefix"])
            else:
                relations[name] = warehouse_relation(name, spec)
        groups: dict[str, list[str]] = {}  # engine spec -> its audiences, one engine session each
        for name in self.audiences:
            engine = self.audience_engines.get(name, self.engine)
            groups.setdefault(json.dumps(engine, sort_keys=True), []).append(name)
        with tempfile.TemporaryDirectory(prefix="cio-audiences-") as tmp:
            inputs = inputs_from_landing(
                store,
                root=self.root,
                env=self.env,
                workspace=self.workspace,
                day=day,
                lookback_days=self.lookback_days,
                warehouse=prefixes,
                work_dir=Path(tmp),
            )
            inputs.warehouse = {**inputs.warehouse, **relations}
            inputs = self.extend_inputs(store, inputs, as_of=as_of, work_dir=Path(tmp))
            results: dict[str, Any] = {}
            for key, names in groups.items():
                results.update(
                    snapshot_audiences(
                        store,
                        env=self.env,
                        workspace=self.workspace,
                        inputs=inputs,
                        audiences=names,
                        as_of=as_of,
                        dt=day,
                        hour=start.hour if self.hourly else None,
                        parameters=self.parameters,
                        holdout=holdout,
                        platforms=self.platforms,
                        default_country=self.default_country,
                        search_dirs=self.definition_paths,
                        outside=outside_engine(json.loads(key)),
                        inputs_at=inputs_at,
                    )
                )
        for name, result in results.items():
            self.log.info(
                "audience %s: %d members, exclusions %s", name, result["size"], result["exclusions"]
            )
            if result.get("superseded_by"):
                self.log.warning(
                    "audience %s: not written, the committed snapshot was built from later inputs (%s)",
                    name,
                    result["superseded_by"],
                )
        return results
