"""Build audiences with DuckDB over Parquet.

Why DuckDB: an audience is a few joins and windowed aggregates over tens of millions of delivery and event rows plus
the warehouse's orders, on one Airflow worker. DuckDB reads Parquet directly (no load step, column and row-group
pruning), executes vectorized and multi-threaded, and spills to a temp directory when a join outgrows memory
(out-of-core), so a 5M-delivery build fits a small worker. pandas would materialize every table and every join in
memory, single-threaded. pandas/pyarrow appear only at the edges: Arrow tables in and out, identity hashing.

One ``AudienceEngine`` registers the inputs once and can build several audiences; identifiers of a customer are
hashed once per engine. Every audience gets the global exclusions, applied in this order and counted per reason
(the first reason that applies is the one counted): ``not_in_people``, ``deleted``, ``suppressed``,
``no_ad_consent``, ``holdout`` (when a holdout policy is given and the definition excludes holdout members), then
``no_usable_identifier`` (no usable email or phone on any platform).

With an outside engine (``engines.PostgresEngine``, ``engines.SparkEngine``) only the definition's query runs there;
its candidates come back in bounded batches and everything above happens here, unchanged.
"""

from __future__ import annotations

import logging
import re
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from airflow_provider_cio.audiences.definitions import AudienceDefinition
from airflow_provider_cio.audiences.errors import AudienceDefinitionError, AudienceInputError
from airflow_provider_cio.audiences.holdout import HoldoutPolicy
from airflow_provider_cio.audiences.identifiers import (
    MATCH_KINDS,
    PEOPLE_COLUMNS,
    column_name,
    hash_new_customers,
    members_select_sql,
    platform_kinds,
)
from airflow_provider_cio.audiences.inputs import (
    LANDED,
    AudienceInputs,
    check_columns,
    register_table,
    table_columns,
)
from airflow_provider_cio.duckdb_memory import bound_memory
from airflow_provider_cio.identity import PLATFORMS

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

    from airflow_provider_cio.audiences.engines.base import OutsideEngine

log = logging.getLogger(__name__)

EXCLUSION_REASONS: Final[tuple[str, ...]] = (
    "not_in_people",
    "deleted",
    "suppressed",
    "no_ad_consent",
    "holdout",
    "no_usable_identifier",
)
PEOPLE_REQUIRED: Final[tuple[str, ...]] = ("customer_id", "deleted", "suppressed", "ad_consent")
_QUOTED: Final = re.compile(r"'[^']*'|\"[^\"]*\"")


@dataclass
class AudienceBuild:
    """One built audience: members (Arrow, sorted by customer_id, no raw PII), the ITT population when a holdout
    applied (customer_id, in_holdout), and PII-free stats."""

    name: str
    members: pa.Table
    stats: dict[str, Any]
    population: pa.Table | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def size(self) -> int:
        return int(self.members.num_rows)


def _safe_db_error(exc: Exception) -> str:
    """DuckDB messages can quote data values (conversion errors): replace quoted text before it reaches a log."""
    first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return _QUOTED.sub("'…'", first)[:300]


def _as_utc(as_of: datetime) -> datetime:
    if as_of.tzinfo is None:
        raise AudienceDefinitionError("as_of must be timezone-aware (the partition's interval end, UTC)")
    return as_of.astimezone(UTC)


class AudienceEngine:
    """A DuckDB session over one run's inputs. Use as a context manager (closes the connection and temp files)."""

    def __init__(
        self,
        inputs: AudienceInputs,
        *,
        platforms: Sequence[str] = PLATFORMS,
        default_country: str | None = None,
        work_dir: str | Path | None = None,
        memory_limit: str | None = None,
        threads: int | None = None,
        outside: OutsideEngine | None = None,
    ) -> None:
        import duckdb

        unknown = [p for p in platforms if p not in PLATFORMS]
        if unknown:
            raise AudienceDefinitionError(
                f"unknown platform(s) {unknown}; expected some of {list(PLATFORMS)}"
            )
        self.platforms = tuple(platforms)
        self.default_country = default_country
        self.outside = outside
        self._tmp = tempfile.TemporaryDirectory(prefix="cio-audience-", dir=work_dir)
        self.con = duckdb.connect(":memory:")
        self.con.execute("SET TimeZone = 'UTC'")
        self.con.execute("SET preserve_insertion_order = false")
        # out-of-core under a bounded budget (``duckdb_memory``): spills go to this engine's temp directory
        bound_memory(
            self.con, memory_limit=memory_limit, temp_directory=Path(self._tmp.name, "spill").as_posix()
        )
        if threads:
            self.con.execute(f"SET threads = {int(threads)}")
        self.tables: dict[str, str] = {}  # name -> role ("landed" / "warehouse")
        self._register(inputs)
        self._prepare_people()

    # -- set-up --------------------------------------------------------------------------------------------------
    def _register(self, inputs: AudienceInputs) -> None:
        for name, source in inputs.landed().items():
            if source is None:
                continue
            register_table(self.con, f"landed_{name}", source, landed=True)
            self.tables[name] = "landed"
        from airflow_provider_cio.audiences.warehouse import WarehouseRelation

        for name, source in inputs.warehouse.items():
            if name in LANDED or not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", name):
                raise AudienceInputError(
                    f"warehouse table name {name!r} is reserved or not a plain identifier"
                )
            if isinstance(source, WarehouseRelation):
                if self.outside is None:
                    raise AudienceInputError(
                        f"warehouse table {name!r} ({source.describe()}) is a warehouse relation: read it first "
                        "(audiences.warehouse.materialize_relations) or build on the engine it lives in"
                    )
                continue  # read in place by the outside engine
            register_table(self.con, name, source)
            self.tables[name] = "warehouse"
        if "events" in self.tables:
            self.con.execute("CREATE VIEW events AS SELECT * FROM landed_events")

    def _prepare_people(self) -> None:
        """person_rows: latest row per (customer_id, cio_id) (rows without cio_id each count as a profile);
        person_status: the most conservative state over a customer's profiles (any deleted/suppressed, all
        consented); deliveries: customer_id filled from internal_customer_id where only that was landed."""
        con = self.con
        check_columns(con, "landed_people", PEOPLE_REQUIRED, role="landed")
        have = set(table_columns(con, "landed_people"))
        con.execute("CREATE VIEW people AS SELECT * FROM landed_people")
        order = "updated_at DESC NULLS LAST" if "updated_at" in have else "customer_id"
        profile = "coalesce(cio_id, 'row:' || CAST(rowid AS VARCHAR))" if "cio_id" in have else "rowid"
        identifier_cols = [c for c in PEOPLE_COLUMNS.values() if c in have]
        cols = ", ".join(
            ["customer_id", "deleted", "suppressed", "ad_consent", *(f'"{c}"' for c in identifier_cols)]
        )
        # rowid exists only on tables; materialize first so profiles without cio_id stay apart. Only the columns
        # read below: a people partition carries every attribute the workspace has.
        needed = ["customer_id", "deleted", "suppressed", "ad_consent", *identifier_cols]
        needed += [c for c in ("cio_id", "updated_at", "internal_customer_id") if c in have]
        con.execute(
            "CREATE TEMP TABLE people_all AS SELECT "
            + ", ".join(f'"{c}"' for c in dict.fromkeys(needed))
            + " FROM landed_people WHERE customer_id IS NOT NULL"
        )
        con.execute(
            f"CREATE TEMP TABLE person_rows AS SELECT {cols} FROM people_all "
            f"QUALIFY row_number() OVER (PARTITION BY customer_id, {profile} ORDER BY {order}) = 1"
        )
        con.execute(
            "CREATE TEMP TABLE person_status AS SELECT customer_id, "
            "bool_or(coalesce(deleted, false)) AS deleted, bool_or(coalesce(suppressed, false)) AS suppressed, "
            "bool_and(coalesce(ad_consent, false)) AS ad_consent FROM person_rows GROUP BY customer_id"
        )
        if "deliveries" in self.tables:
            dcols = set(table_columns(con, "landed_deliveries"))
            if (
                "internal_customer_id" in have
                and {"customer_id", "internal_customer_id"} <= dcols
                and self._deliveries_without_customer_id()
            ):
                con.execute(
                    "CREATE TEMP TABLE internal_ids AS SELECT internal_customer_id, min(customer_id) AS customer_id "
                    "FROM people_all WHERE internal_customer_id IS NOT NULL GROUP BY internal_customer_id "
                    "HAVING count(DISTINCT customer_id) = 1"
                )
                # only the rows that lack customer_id go through the join: a probe of every delivery (hundreds of
                # millions at 10M people) for the few that need it cost more than the queries that read the view
                con.execute(
                    "CREATE VIEW deliveries AS SELECT * FROM landed_deliveries WHERE customer_id IS NOT NULL "
                    "UNION ALL SELECT d.* REPLACE (i.customer_id AS customer_id) FROM landed_deliveries d "
                    "LEFT JOIN internal_ids i ON i.internal_customer_id = d.internal_customer_id "
                    "WHERE d.customer_id IS NULL"
                )
            else:
                con.execute("CREATE VIEW deliveries AS SELECT * FROM landed_deliveries")
        con.execute("DROP TABLE people_all")

    def _deliveries_without_customer_id(self) -> bool:
        """Whether any landed delivery names its person by ``internal_customer_id`` only (one scan of a column)."""
        row = self.con.execute(
            "SELECT EXISTS (SELECT 1 FROM landed_deliveries WHERE customer_id IS NULL)"
        ).fetchone()
        return bool(row and row[0])

    def close(self) -> None:
        self.con.close()
        self._tmp.cleanup()

    def __enter__(self) -> AudienceEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- one audience --------------------------------------------------------------------------------------------
    def check_inputs(self, definition: AudienceDefinition) -> None:
        """Every table and column the definition declares exists; else ``AudienceInputError`` naming it."""
        for table, columns in definition.requires.items():
            if table not in self.tables:
                role = "landed dataset" if table in LANDED else "warehouse table"
                raise AudienceInputError(
                    f"audience {definition.name} needs {role} {table!r}, which was not given to the build"
                )
            check_columns(self.con, table, columns, role=self.tables[table])
            self._check_types(table, columns)

    def _check_types(self, table: str, columns: Sequence[str]) -> None:
        """Declared columns of the expected family (an ``ordered_at`` stored as text is refused here, naming it,
        instead of failing or comparing as text inside the query); same rule as on the outside engines."""
        from airflow_provider_cio.audiences.engines.columns import check_table, duckdb_family, expected_types

        have = {
            str(name): duckdb_family(str(kind))
            for name, kind, *_ in self.con.execute(f'DESCRIBE "{table}"').fetchall()
        }
        check_table(table, have, columns, expected_types(table), where=self.tables[table])

    def _run(self, sql: str, params: Mapping[str, Any] | None, *, audience: str) -> duckdb.DuckDBPyConnection:
        import duckdb

        try:
            return self.con.execute(sql, dict(params) if params else None)
        except duckdb.Error as exc:
            raise AudienceDefinitionError(
                f"audience {audience}: query failed: {_safe_db_error(exc)}"
            ) from None

    def build(
        self,
        definition: AudienceDefinition,
        *,
        as_of: datetime,
        parameters: Mapping[str, Any] | None = None,
        holdout: HoldoutPolicy | None = None,
    ) -> AudienceBuild:
        """Candidates from the definition's SQL, global exclusions, hashed identifiers; nothing written yet."""
        con = self.con
        as_of = _as_utc(as_of)
        values = definition.resolve(parameters)
        binds = {
            name: (as_of if name == "as_of" else values[name]) for name in definition.referenced_parameters()
        }
        outputs = ", ".join(f'q."{c}"' for c in definition.outputs)
        if self.outside is not None:
            reader = self.outside.candidates(definition, binds)  # checks the inputs there first
            con.register("outside_candidates", reader)
            try:
                self._run(
                    f"CREATE OR REPLACE TEMP TABLE candidates AS SELECT {outputs} FROM outside_candidates q "
                    "WHERE q.customer_id IS NOT NULL",
                    None,
                    audience=definition.name,
                )
            finally:
                con.unregister("outside_candidates")
        else:
            self.check_inputs(definition)
            self._run(
                f"CREATE OR REPLACE TEMP TABLE candidates AS SELECT {outputs} FROM ({definition.sql}) q "
                "WHERE q.customer_id IS NOT NULL",
                binds,
                audience=definition.name,
            )
        row = next(
            iter(con.execute("SELECT count(*), count(DISTINCT customer_id) FROM candidates").fetchall()), None
        )
        total, distinct = (int(row[0]), int(row[1])) if row else (0, 0)
        if total != distinct:
            raise AudienceDefinitionError(
                f"audience {definition.name}: the query returned {total - distinct} duplicate customer_id rows; "
                "a definition must return one row per customer"
            )
        apply_holdout = holdout is not None and definition.exclude_holdout
        holdout_case = (
            f"WHEN {holdout.sql('c.customer_id')} THEN 'holdout' " if apply_holdout and holdout else ""
        )
        con.execute(
            "CREATE OR REPLACE TEMP TABLE classified AS SELECT c.*, CASE "
            "WHEN s.customer_id IS NULL THEN 'not_in_people' "
            "WHEN s.deleted THEN 'deleted' WHEN s.suppressed THEN 'suppressed' "
            "WHEN NOT s.ad_consent THEN 'no_ad_consent' "
            f"{holdout_case}ELSE NULL END AS excluded_reason "
            "FROM candidates c LEFT JOIN person_status s ON s.customer_id = c.customer_id"
        )
        exclusions = dict.fromkeys(EXCLUSION_REASONS, 0)
        if not apply_holdout:
            exclusions.pop("holdout")
        for reason, count in con.execute(
            "SELECT excluded_reason, count(*) FROM classified WHERE excluded_reason IS NOT NULL GROUP BY 1"
        ).fetchall():
            exclusions[reason] = int(count)

        population = None
        if apply_holdout:
            population = con.sql(
                "SELECT customer_id, excluded_reason IS NOT NULL AS in_holdout FROM classified "
                "WHERE excluded_reason IS NULL OR excluded_reason = 'holdout' ORDER BY customer_id"
            ).to_arrow_table()

        extra_columns = [c for c in definition.outputs if c != "customer_id"]
        con.execute(
            "CREATE OR REPLACE TEMP TABLE kept AS SELECT * FROM classified WHERE excluded_reason IS NULL"
        )
        hashed_now = hash_new_customers(
            con, "kept", platforms=self.platforms, default_country=self.default_country
        )
        con.execute(
            "CREATE OR REPLACE TEMP TABLE member_rows AS "
            + members_select_sql("kept", self.platforms, extra_columns)
        )
        usable = (
            " OR ".join(
                f"len({column_name(p, k)}) > 0" for p, k in platform_kinds(self.platforms) if k in MATCH_KINDS
            )
            or "false"
        )
        row = next(
            iter(con.execute(f"SELECT count(*) FILTER (WHERE NOT ({usable})) FROM member_rows").fetchall()),
            None,
        )
        exclusions["no_usable_identifier"] = int(row[0]) if row else 0
        member_cols = [
            "customer_id",
            *extra_columns,
            *(column_name(p, k) for p, k in platform_kinds(self.platforms)),
        ]
        members = con.sql(
            f"SELECT {', '.join(member_cols)} FROM member_rows WHERE {usable} ORDER BY customer_id"
        ).to_arrow_table()
        stats = self._stats(
            definition, values, as_of, holdout if apply_holdout else None, total, exclusions, members
        )
        stats["identifiers_hashed_this_build"] = hashed_now
        stats["engine"] = self.outside.name if self.outside is not None else "duckdb"
        log.info(
            "audience %s as of %s: %d candidates -> %d members (excluded: %s)",
            definition.name,
            as_of.isoformat(),
            total,
            members.num_rows,
            ", ".join(f"{k}={v}" for k, v in exclusions.items() if v) or "none",
        )
        return AudienceBuild(definition.name, members, stats, population)

    def _stats(
        self,
        definition: AudienceDefinition,
        values: Mapping[str, Any],
        as_of: datetime,
        holdout: HoldoutPolicy | None,
        candidates: int,
        exclusions: dict[str, int],
        members: pa.Table,
    ) -> dict[str, Any]:
        import pyarrow.compute as pc

        coverage: dict[str, dict[str, int]] = {p: {} for p in self.platforms}
        for platform, kind in platform_kinds(self.platforms):
            lengths = pc.list_value_length(members.column(column_name(platform, kind)))
            coverage[platform][kind] = int(pc.sum(pc.greater(lengths, 0)).as_py() or 0)
        drops: dict[str, dict[str, dict[str, int]]] = {p: {} for p in self.platforms}
        for platform, kind, reason, count in self.con.execute(
            "SELECT r.platform, r.kind, r.reason, count(*) FROM identity_drops r "
            "SEMI JOIN kept k ON k.customer_id = r.customer_id GROUP BY ALL ORDER BY ALL"
        ).fetchall():
            drops[platform].setdefault(kind, {})[reason] = int(count)
        tiers: dict[str, int] | None = None
        if definition.has_tier:
            counts = pc.value_counts(members.column("tier")).to_pylist()
            tiers = {
                str(c["values"]): int(c["counts"]) for c in sorted(counts, key=lambda c: str(c["values"]))
            }
        size = int(members.num_rows)
        return {
            "audience": definition.name,
            "purpose": definition.purpose,
            "definition_version": definition.version,
            "definition_fingerprint": definition.fingerprint,
            "as_of": as_of.isoformat(),
            "parameters": dict(values),
            "size": size,
            "candidates": candidates,
            "exclusions": exclusions,
            "holdout": holdout.describe() if holdout else None,
            "identifier_coverage": coverage,
            "identifier_coverage_rate": {
                p: {k: (round(n / size, 6) if size else 0.0) for k, n in kinds.items()}
                for p, kinds in coverage.items()
            },
            "identifier_drops": drops,
            "tiers": tiers,
            "platforms": list(self.platforms),
            "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }


def build_audience(
    definition: AudienceDefinition,
    inputs: AudienceInputs,
    *,
    as_of: datetime,
    parameters: Mapping[str, Any] | None = None,
    holdout: HoldoutPolicy | None = None,
    platforms: Sequence[str] = PLATFORMS,
    default_country: str | None = None,
) -> AudienceBuild:
    """One audience in one call (an engine that lives for this build only)."""
    with AudienceEngine(inputs, platforms=platforms, default_country=default_country) as engine:
        return engine.build(definition, as_of=as_of, parameters=parameters, holdout=holdout)
