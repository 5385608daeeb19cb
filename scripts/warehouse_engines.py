"""Run the demo's five reference audiences on DuckDB, PostgreSQL and Spark and compare their members.

    .venv/bin/python scripts/warehouse_engines.py [--people 20000] [--engines duckdb,postgres,spark]

Uses the demo's synthetic workspace (the devstack's: 20,000 people, seed 7, from 2026-06-01, 155 days), its as-of
time (the end of 2026-11-01) and the audiences and holdout of dags/config/cio.yaml, written as Parquet in a temp
folder; a throwaway PostgreSQL from Debian's packages (``cio_devkit.devstack.postgres``, installed with
apt-get when missing and we are root) holds the warehouse's ``orders`` (read in place by the postgres engine) and
Spark runs local[2] (Java 17+). Starts from nothing and leaves nothing behind. Prints one line per audience with its
size on each engine and exits 1 when the members differ anywhere. See docs/warehouse.md.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

AS_OF = datetime(2026, 11, 2, tzinfo=UTC)


def _write(directory: Path, people: int) -> None:
    import pyarrow.parquet as pq

    from cio_devkit.devstack.emulator_services import WORKSPACE
    from cio_devkit.emulators.synthetic import generate_workspace

    ws = generate_workspace(
        people=people,
        seed=int(WORKSPACE["seed"]),
        start=date.fromisoformat(str(WORKSPACE["start"])),
        days=int(WORKSPACE["days"]),
    )
    for name in ("people", "deliveries", "events", "orders"):
        pq.write_table(getattr(ws, name), directory / f"{name}.parquet")


def _load_orders(uri: str, path: Path) -> None:
    import psycopg
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    with psycopg.connect(uri) as con, con.cursor() as cur:
        cur.execute("CREATE SCHEMA IF NOT EXISTS sales")
        cur.execute(
            "CREATE TABLE sales.orders (customer_id text, order_id text, amount numeric(12,2), "
            "margin numeric(12,2), ordered_at timestamptz)"
        )
        with cur.copy("COPY sales.orders FROM STDIN") as copy:
            for row in zip(*(table.column(c).to_pylist() for c in table.column_names), strict=True):
                copy.write_row(row)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=None, help="default: the demo's (20,000)")
    parser.add_argument("--engines", default="duckdb,postgres,spark")
    args = parser.parse_args()
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    logging.getLogger("py4j").setLevel(logging.WARNING)

    from airflow_provider_cio.audiences import AudienceEngine, AudienceInputs, HoldoutPolicy, load_definition
    from airflow_provider_cio.audiences.warehouse import WarehouseRelation
    from airflow_provider_cio.dag_config import load_dag_config
    from cio_devkit.devstack.emulator_services import WORKSPACE
    from cio_devkit.devstack.postgres import local_postgres

    cfg = load_dag_config(ROOT / "dags" / "config" / "cio.yaml")
    audiences = [a.name for a in cfg.audiences]
    holdout = HoldoutPolicy(cfg.holdout.program, cfg.holdout.salt, cfg.holdout.share) if cfg.holdout else None
    members: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="cio-engines-") as tmp, local_postgres() as server:
        uri = server.uri
        d = Path(tmp)
        _write(d, args.people or int(WORKSPACE["people"]))
        _load_orders(uri, d / "orders.parquet")
        landed = {n: str(d / f"{n}.parquet") for n in ("people", "deliveries", "events")}
        for engine in engines:
            started = time.perf_counter()
            outside: Any = None
            orders: Any = str(d / "orders.parquet")
            if engine == "postgres":
                import psycopg

                from airflow_provider_cio.audiences.engines.postgres import PostgresEngine

                orders = WarehouseRelation("sales.orders")
                outside = PostgresEngine(
                    AudienceInputs(**landed, warehouse={"orders": orders}), lambda: psycopg.connect(uri)
                )
            elif engine == "spark":
                from pyspark.sql import SparkSession

                from airflow_provider_cio.audiences.engines.spark import SparkEngine

                spark = (
                    SparkSession.builder.master("local[2]")
                    .config("spark.ui.enabled", "false")
                    .config("spark.ui.showConsoleProgress", "false")
                    .config("spark.sql.warehouse.dir", tempfile.mkdtemp(prefix="cio-spark-warehouse-"))
                    .config("spark.driver.host", "127.0.0.1")
                    .config("spark.driver.bindAddress", "127.0.0.1")
                    .config("spark.sql.session.timeZone", "UTC")
                    .config("spark.sql.shuffle.partitions", "4")
                    .getOrCreate()
                )
                outside = SparkEngine(AudienceInputs(**landed, warehouse={"orders": orders}), spark)
            inputs = AudienceInputs(**landed, warehouse={"orders": orders})
            with AudienceEngine(inputs, outside=outside) as built:
                members[engine] = {
                    n: built.build(load_definition(n), as_of=AS_OF, holdout=holdout).members
                    for n in audiences
                }
            if outside is not None:
                outside.close()
            print(f"{engine}: five audiences in {time.perf_counter() - started:.1f} s", flush=True)

    def rows(table: Any) -> list[dict[str, Any]]:
        out = table.sort_by("customer_id").to_pylist()
        for row in out:
            if row.get("score") is not None:
                row["score"] = round(row["score"], 6)
        return out

    same = True
    print(f"{'audience':34} " + " ".join(f"{e:>9}" for e in engines) + "  same members")
    for name in audiences:
        first = rows(members[engines[0]][name])
        equal = all(rows(members[e][name]) == first for e in engines[1:])
        same &= equal
        sizes = " ".join(f"{members[e][name].num_rows:>9}" for e in engines)
        print(f"{name:34} {sizes}  {'yes' if equal else 'NO'}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
