"""Benchmark ``audience_build``: the five reference audiences over Parquet (DuckDB engine) vs a plain pandas merge.

Data (seeded numpy, written to Parquet in a temp dir before any timing): full 1M people (+5% second profiles),
5M deliveries, 1M orders, ~2M events; quick 100k / 500k / 100k / ~200k. Variants, each in a fresh child process,
alternating:
- case ``reference_5``: ``ours`` builds all five reference audiences (exclusions, holdout, hashing for Meta and
  Google) in one engine. No pandas counterpart (the tier and cart queries are where SQL earns its keep).
- case ``clickers_viewers``: ``engaged_clickers_14d`` + ``viewed_twice_no_purchase`` with the same exclusions and
  the same identity hashing (emails and phones, both platforms): ``ours`` vs ``pandas_merge`` (baseline).
- case ``engines``: the five reference audiences with the definitions' queries on ``duckdb`` (baseline, embedded),
  ``postgres`` (a local PostgreSQL from Debian's packages; loading the landed data with COPY is part of the time,
  as it is of a run) and ``spark`` (pyspark local[2], driver memory 2g; session start-up counted and also reported
  apart). ``peak_rss_mb`` is our Python process's; the engine's own peak is in ``extra.engine_peak_rss_mb_max``
  (VmHWM of the PostgreSQL backend that ran the session, or of Spark's driver JVM, where local mode's executors
  run), since our process alone flatters the outside engines. Every run's audience sizes must agree across engines.
- case ``warehouse_read``: the orders table (1M rows, and its first 100k) read from PostgreSQL: ``streamed`` (ours:
  fetchmany on a server-side cursor into Parquet) vs ``get_pandas_df`` (baseline: the DbApiHook's whole-table
  DataFrame); the streamed read's peak RSS should be the same at both sizes.
``CIO_BENCH_AUDIENCE_CASES`` picks cases (comma list), ``CIO_BENCH_ENGINE_RUNS`` / ``CIO_BENCH_SPARK_RUNS`` the runs.
"""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

AS_OF = datetime(2026, 6, 1, tzinfo=UTC)
SIZES = {True: (100_000, 500_000, 100_000, 200_000), False: (1_000_000, 5_000_000, 1_000_000, 2_000_000)}
SALT = "bench-salt"


def generate(directory: Path, people: int, deliveries: int, orders: int, events: int, seed: int = 11) -> None:
    """Write people/deliveries/events/orders Parquet files with the landed schemas (orders: the warehouse's)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from airflow_provider_cio.datasets import arrow_schema

    rng = np.random.default_rng(seed)
    end_us = int(AS_OF.timestamp() * 1_000_000)
    day = 86_400 * 1_000_000

    def ts(values: Any, mask: Any = None) -> pa.Array:
        return pa.array(values.astype("int64"), pa.int64(), mask=mask).cast(pa.timestamp("us", tz="UTC"))

    def ids(prefix: str, numbers: Any) -> pa.Array:
        return pc.binary_join_element_wise(prefix, pa.array(numbers).cast(pa.string()), "")

    # people: a second profile row (another email and phone) for 5% of customers
    extra = people // 20
    person = np.concatenate([np.arange(people), rng.choice(people, extra, replace=False)])
    n = len(person)
    row = np.arange(n)
    customer = ids("cus-", person)
    local = ids("user", row)
    domains = pa.array(["example.com", "gmail.com", "Example.org", "mail.de"])
    email = pc.binary_join_element_wise(local, domains.take(pa.array(rng.integers(0, 4, n))), "@")
    email = pc.if_else(pa.array(rng.random(n) < 0.03), pa.scalar("not-an-email"), email)
    digits = pa.array(rng.integers(2_000_000, 9_999_999, n)).cast(pa.string())
    phone_e164 = pc.binary_join_element_wise("+1650", digits, "")
    phone_national = pc.binary_join_element_wise("(415) ", digits, "")
    shape = rng.random(n)
    phone = pc.if_else(pa.array(shape < 0.6), phone_e164, phone_national)
    phone = pc.if_else(pa.array((shape > 0.9) & (shape < 0.93)), pa.scalar("0000000000"), phone)
    phone = pc.if_else(pa.array(shape >= 0.93), pa.scalar(None, pa.string()), phone)
    country = pa.array(["US", "US", "US", "GB", "DE", None]).take(pa.array(rng.integers(0, 6, n)))
    first = pa.array(["Ann", "José", "Zoë", "李", "Bob", " "]).take(pa.array(rng.integers(0, 6, n)))
    last = pa.array(["Smith", "Müller", "O'Brien", "Ng", ""]).take(pa.array(rng.integers(0, 5, n)))
    created = rng.integers(end_us - 700 * day, end_us - 200 * day, n)
    people_t = pa.table(
        {
            "customer_id": customer,
            "internal_customer_id": pa.nulls(n, pa.string()),
            "cio_id": ids("cio-", row),
            "email": email,
            "phone": phone,
            "first_name": first,
            "last_name": last,
            "city": pa.array(["Springfield"] * n),
            "state": pa.array(["CA"] * n),
            "zip": pa.array(rng.integers(10_000, 99_999, n)).cast(pa.string()),
            "country": country,
            "deleted": pa.array(rng.random(n) < 0.01),
            "suppressed": pa.array(rng.random(n) < 0.02),
            "ad_consent": pa.array(rng.random(n) < 0.9),
            "created_at": ts(created),
            "updated_at": ts(created + day),
        }
    ).cast(arrow_schema("people"))
    pq.write_table(people_t, directory / "people.parquet")

    m = deliveries
    who = rng.integers(0, people, m)
    created_d = rng.integers(end_us - 120 * day, end_us, m)
    cart = rng.random(m) < 0.1
    first_email = rng.random(m) < 0.6
    created_d = np.where(cart, end_us - rng.integers(0, 2 * day, m), created_d)  # cart emails are recent
    opened = rng.random(m) < 0.25
    clicked = opened & (rng.random(m) < 0.2)
    lag = rng.integers(60_000_000, 2 * day, m)
    deliveries_t = pa.table(
        {
            "delivery_id": ids("dlv-", np.arange(m)),
            "customer_id": ids("cus-", who),
            "internal_customer_id": pa.nulls(m, pa.string()),
            "campaign_id": pa.array(np.where(cart, 2, 1)),
            "action_id": pa.array(np.where(cart, np.where(first_email, 21, 22), 11)),
            "newsletter_id": pa.nulls(m, pa.int64()),
            "delivery_type": pa.array(["email"] * m),
            "created_at": ts(created_d),
            "sent_at": ts(created_d),
            "delivered_at": ts(created_d + 1_000_000),
            "opened_at": ts(created_d + lag, ~opened),
            "clicked_at": ts(created_d + lag + 1_000_000, ~clicked),
            "converted_at": pa.nulls(m, pa.timestamp("us", tz="UTC")),
            "bounced_at": pa.nulls(m, pa.timestamp("us", tz="UTC")),
        }
    ).cast(arrow_schema("deliveries"))
    pq.write_table(deliveries_t, directory / "deliveries.parquet")

    e = events
    who_e = rng.integers(0, people // 3 + 1, e)  # a third of people browse
    is_cart = rng.random(e) < 0.2
    events_t = pa.table(
        {
            "event_id": ids("evt-", np.arange(e)),
            "customer_id": ids("cus-", who_e),
            "name": pa.array(np.where(is_cart, "added_to_cart", "viewed_product")),
            "product_id": ids("prod-", rng.integers(0, 500, e)),
            "cart_id": pa.nulls(e, pa.string()),
            "value": pa.array(rng.uniform(5, 300, e)),
            "timestamp": ts(rng.integers(end_us - 10 * day, end_us, e)),
        }
    ).cast(arrow_schema("events"))
    pq.write_table(events_t, directory / "events.parquet")

    o = orders
    amount = np.round(rng.lognormal(4.2, 0.6, o), 2)
    orders_t = pa.table(
        {
            "customer_id": ids("cus-", rng.integers(0, people, o)),
            "order_id": ids("ord-", np.arange(o)),
            "amount": pa.array(amount),
            "margin": pa.array(np.round(amount * rng.uniform(0.1, 0.5, o), 2)),
            "ordered_at": ts(rng.integers(end_us - 400 * day, end_us, o)),
        }
    )
    pq.write_table(orders_t, directory / "orders.parquet")


def _inputs(directory: str) -> Any:
    from airflow_provider_cio.audiences.inputs import AudienceInputs

    d = Path(directory)
    return AudienceInputs(
        people=d / "people.parquet",
        deliveries=d / "deliveries.parquet",
        events=d / "events.parquet",
        warehouse={"orders": d / "orders.parquet"},
    )


def ours(directory: str, names: list[str]) -> dict[str, Any]:
    """Build ``names`` with the DuckDB engine (holdout 10%, both platforms)."""
    from airflow_provider_cio.audiences.builder import AudienceEngine
    from airflow_provider_cio.audiences.definitions import load_definition
    from airflow_provider_cio.audiences.holdout import HoldoutPolicy

    sizes: dict[str, int] = {}
    with AudienceEngine(_inputs(directory), work_dir=directory) as engine:
        for name in names:
            build = engine.build(
                load_definition(name), as_of=AS_OF, holdout=HoldoutPolicy("bench", SALT, 0.1)
            )
            sizes[name] = build.size
    return {"sizes": sizes}


def pandas_merge(directory: str, names: list[str]) -> dict[str, Any]:
    """The same two audiences written the obvious pandas way: read, filter, merge, group, hash row by row groups."""
    import pandas as pd

    from airflow_provider_cio.audiences.holdout import holdout_mask
    from airflow_provider_cio.identity import prepare_column

    d = Path(directory)
    as_of = pd.Timestamp(AS_OF)
    people = pd.read_parquet(d / "people.parquet")
    status = people.groupby("customer_id").agg(
        deleted=("deleted", "any"), suppressed=("suppressed", "any"), ad_consent=("ad_consent", "all")
    )
    orders = pd.read_parquet(d / "orders.parquet", columns=["customer_id", "ordered_at"])
    candidates: dict[str, pd.Index] = {}
    if "engaged_clickers_14d" in names:
        dl = pd.read_parquet(d / "deliveries.parquet", columns=["customer_id", "delivery_type", "clicked_at"])
        window = (dl.clicked_at >= as_of - pd.Timedelta(days=14)) & (dl.clicked_at < as_of)
        candidates["engaged_clickers_14d"] = pd.Index(
            dl.loc[window & (dl.delivery_type == "email"), "customer_id"].unique()
        )
        del dl
    if "viewed_twice_no_purchase" in names:
        ev = pd.read_parquet(d / "events.parquet", columns=["event_id", "customer_id", "name", "timestamp"])
        ev = ev[
            (ev.name == "viewed_product")
            & (ev.timestamp >= as_of - pd.Timedelta(days=3))
            & (ev.timestamp < as_of)
        ]
        views = ev.groupby("customer_id").event_id.nunique()
        recent = orders[(orders.ordered_at >= as_of - pd.Timedelta(days=30)) & (orders.ordered_at < as_of)]
        candidates["viewed_twice_no_purchase"] = views[views >= 2].index.difference(
            pd.Index(recent.customer_id.unique())
        )
    sizes: dict[str, int] = {}
    for name, ids in candidates.items():
        frame = status.reindex(ids)
        ok = frame.deleted.eq(False) & frame.suppressed.eq(False) & frame.ad_consent.eq(True)
        kept = frame.index[ok.to_numpy()]
        kept = kept[~pd.Series(holdout_mask(kept.tolist(), salt=SALT, share=0.1)).to_numpy()]
        rows = people[people.customer_id.isin(kept)][["customer_id", "email", "phone", "country"]]
        hashed = {}
        for platform in ("meta", "google"):
            hashed[f"{platform}_email"] = prepare_column(
                "email", rows.email.tolist(), platform=platform
            ).values
            phones: list[str | None] = [None] * len(rows)
            for country, idx in (
                rows.reset_index(drop=True).groupby(rows.country.fillna("").to_numpy()).groups.items()
            ):
                default = country if country in ("US", "GB", "DE") else None
                values = prepare_column(
                    "phone", rows.phone.iloc[idx].tolist(), platform=platform, default_country=default
                )
                for i, v in zip(idx, values.values, strict=True):
                    phones[i] = v
            hashed[f"{platform}_phone"] = phones
        out = pd.DataFrame({"customer_id": rows.customer_id.to_numpy(), **hashed})
        usable = out.drop(columns="customer_id").notna().any(axis=1)
        grouped = out[usable].groupby("customer_id").agg(lambda s: sorted(set(s.dropna())))
        sizes[name] = len(grouped)
    return {"sizes": sizes}


def on_engine(directory: str, names: list[str], engine: str, uri: str) -> dict[str, Any]:
    """Build ``names`` with their queries on ``engine`` (holdout 10%, both platforms)."""
    import time

    from airflow_provider_cio.audiences.builder import AudienceEngine
    from airflow_provider_cio.audiences.definitions import load_definition
    from airflow_provider_cio.audiences.holdout import HoldoutPolicy

    inputs = _inputs(directory)
    outside: Any = None
    spark: Any = None
    extra: dict[str, Any] = {}
    if engine == "postgres":
        import psycopg

        from airflow_provider_cio.audiences.engines.postgres import PostgresEngine

        outside = PostgresEngine(inputs, lambda: psycopg.connect(uri))
        with outside.con.cursor() as cur:
            cur.execute("SELECT pg_backend_pid()")
            backend = int(cur.fetchone()[0])
    elif engine == "spark":
        from pyspark.sql import SparkSession

        from airflow_provider_cio.audiences.engines.spark import SparkEngine

        start = time.perf_counter()
        spark = (
            SparkSession.builder.master("local[2]")
            .config("spark.ui.enabled", "false")
            .config("spark.driver.host", "127.0.0.1")
            .config("spark.driver.bindAddress", "127.0.0.1")
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.sql.shuffle.partitions", "4")
            .config("spark.driver.memory", "2g")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.sql.warehouse.dir", tempfile.mkdtemp(prefix="cio-spark-warehouse-"))
            .getOrCreate()
        )
        extra["session_start_s"] = round(time.perf_counter() - start, 1)
        outside = SparkEngine(inputs, spark)
    sizes: dict[str, int] = {}
    try:
        with AudienceEngine(inputs, work_dir=directory, outside=outside) as built:
            for name in names:
                build = built.build(
                    load_definition(name), as_of=AS_OF, holdout=HoldoutPolicy("bench", SALT, 0.1)
                )
                sizes[name] = build.size
    finally:
        if engine == "postgres":
            # the server process that ran our session (its VmHWM counts the shared buffers it touched)
            extra["engine_peak_rss_mb"] = _peak_rss_mb(backend)
            extra["engine_rss_of"] = "postgres backend of the session (VmHWM)"
        if outside is not None:
            outside.close()
        if spark is not None:
            import psutil

            jvms = [c.pid for c in psutil.Process().children(recursive=True) if "java" in c.name()]
            extra["engine_peak_rss_mb"] = sum(_peak_rss_mb(pid) for pid in jvms)
            extra["engine_rss_of"] = "Spark driver JVM (VmHWM; local mode: executors run inside it)"
            spark.stop()
    return {"sizes": sizes, **extra}


def _peak_rss_mb(pid: int) -> float:
    """A process's peak resident set (``VmHWM`` in /proc; we run as root or as its owner)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024.0, 1)
    return 0.0


def read_streamed(directory: str, uri: str, table: str = "sales.orders") -> dict[str, Any]:
    """The orders table through ``read_relation``: declared columns, fetchmany batches into local Parquet."""
    import psycopg

    from airflow_provider_cio.audiences.warehouse import WarehouseRelation, read_relation

    relation = WarehouseRelation(table, connect=lambda: psycopg.connect(uri))
    columns = ["customer_id", "order_id", "amount", "margin", "ordered_at"]
    path = read_relation(
        "orders", relation, columns, as_of=AS_OF, dest=Path(directory) / "read" / "orders.parquet"
    )
    import pyarrow.parquet as pq

    return {"rows": pq.ParquetFile(path).metadata.num_rows}


def read_pandas(directory: str, uri: str, table: str = "sales.orders") -> dict[str, Any]:
    """The naive way: the connection's hook, ``get_pandas_df`` of the whole table."""
    import os

    from airflow.providers.postgres.hooks.postgres import PostgresHook

    os.environ["AIRFLOW_CONN_BENCH_WAREHOUSE"] = uri
    frame = PostgresHook(postgres_conn_id="bench_warehouse").get_pandas_df(
        f"SELECT customer_id, order_id, amount, margin, ordered_at FROM {table}"
    )
    return {"rows": len(frame)}


def _load_orders(uri: str, path: Path, name: str = "sales.orders", rows: int | None = None) -> None:
    """The warehouse's orders table in PostgreSQL (its first ``rows`` rows), filled with COPY (untimed set-up)."""
    import io

    import psycopg
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    if rows is not None:
        table = table.slice(0, rows)
    with psycopg.connect(uri) as con, con.cursor() as cur:
        cur.execute("CREATE SCHEMA IF NOT EXISTS sales")
        cur.execute(
            f"CREATE TABLE {name} (customer_id text, order_id text, amount numeric(12,2), "
            "margin numeric(12,2), ordered_at timestamptz)"
        )
        with cur.copy(f"COPY {name} FROM STDIN WITH (FORMAT csv)") as copy:
            for batch in table.to_batches(200_000):
                buffer = io.BytesIO()
                pacsv.write_csv(batch, buffer, write_options=pacsv.WriteOptions(include_header=False))
                copy.write(buffer.getvalue())


def _cases() -> set[str]:
    """Which cases to run (``CIO_BENCH_AUDIENCE_CASES=engines,warehouse_read``; default all): ``bench.run`` keeps
    the recorded rows of cases that did not run."""
    import os

    wanted = os.environ.get("CIO_BENCH_AUDIENCE_CASES", "")
    return (
        set(wanted.split(",")) if wanted else {"reference_5", "clickers_viewers", "engines", "warehouse_read"}
    )


def run_engines(quick: bool, tmp: str, label: str, runs: int) -> list[dict[str, Any]]:
    """The ``engines`` and ``warehouse_read`` cases (a local PostgreSQL for their duration). Reads are measured at
    the run's orders size and at a tenth of it: the streamed read's peak RSS must not grow with the table."""
    import functools
    import os

    from airflow_provider_cio.audiences.definitions import REFERENCE_AUDIENCES
    from bench.common import alternate, check_setup, load_watched, record, run_in_child
    from bench.warehouse_pg import local_postgres

    people, deliveries, orders, _ = SIZES[quick]
    records: list[dict[str, Any]] = []
    all5 = list(REFERENCE_AUDIENCES)
    cases = _cases()
    with local_postgres() as uri:
        engines = ("duckdb", "postgres", "spark")
        if "engines" in cases:
            calls: dict[str, Any] = {
                e: functools.partial(run_in_child, on_engine, tmp, all5, e, uri) for e in engines
            }
            # Spark local at 1M takes minutes a run: CIO_BENCH_SPARK_RUNS may give it fewer (said in the note)
            spark_runs = min(runs, int(os.environ.get("CIO_BENCH_SPARK_RUNS", str(runs))))
            loads: list[float] = []
            samples = alternate(load_watched(calls, loads), spark_runs)
            more = alternate(
                load_watched({e: calls[e] for e in engines if e != "spark"}, loads), runs - spark_runs
            )
            for engine, extra_samples in more.items():
                samples[engine].extend(extra_samples)
            sizes = {e: [s["extra"]["sizes"] for s in samples[e]] for e in engines}
            differ = any(x != sizes["duckdb"][0] for e in engines for x in sizes[e])
            check_setup(
                f"audience_build engines/{label}", [f"audience sizes differ: {sizes}"] if differ else []
            )
            note = _engines_note(samples, loads)
            for engine in engines:
                engine_rss = [s["extra"].get("engine_peak_rss_mb") for s in samples[engine]]
                records.append(
                    record(
                        "audience_build",
                        f"engines/{label}",
                        engine,
                        baseline=engine == "duckdb",
                        unit="s",
                        samples=samples[engine],
                        work=float(deliveries),
                        extra={
                            "note": note,
                            **({"engine_peak_rss_mb_max": max(engine_rss)} if engine_rss[0] else {}),
                        },
                    )
                )
        if "warehouse_read" not in cases:
            return records
        reads: dict[int, dict[str, list[dict[str, Any]]]] = {}
        for size in (orders, orders // 10):
            table = f"sales.orders_{size}"
            _load_orders(uri, Path(tmp) / "orders.parquet", table, size)
            reads[size] = alternate(
                {
                    "streamed": functools.partial(run_in_child, read_streamed, tmp, uri, table),
                    "get_pandas_df": functools.partial(run_in_child, read_pandas, tmp, uri, table),
                },
                runs,
            )
        note = _warehouse_read_note(reads, runs)
        for size, samples in reads.items():
            for variant, baseline in (("streamed", False), ("get_pandas_df", True)):
                records.append(
                    record(
                        "audience_build",
                        f"warehouse_read/{size // 1000}k_orders_postgres",
                        variant,
                        baseline=baseline,
                        unit="s",
                        samples=samples[variant],
                        work=float(size),
                        extra={"note": note},
                    )
                )
    return records


def _engines_note(samples: dict[str, list[dict[str, Any]]], loads: list[float]) -> str:
    """What the engines' records mean, from this run's samples: runs and load, sizes agreeing, whose memory each
    peak is, and each outside engine's time over DuckDB's with what it includes (COPY, the Spark session)."""
    import statistics

    def median(engine: str, key: str | None = None) -> float:
        return statistics.median(s["extra"][key] if key else s["seconds"] for s in samples[engine])

    def engine_peak(engine: str) -> float:
        return max(s["extra"]["engine_peak_rss_mb"] for s in samples[engine])

    counts = ", ".join(f"{engine} {len(engine_samples)}" for engine, engine_samples in samples.items())
    span = f"{min(loads):.1f}-{max(loads):.1f}" if loads else "not read"
    duckdb = median("duckdb")
    return (
        f"alternating runs per engine ({counts}); 1-minute load average {span} before the runs; every run of every "
        "engine built the same five audience sizes. Peak RSS: ours is our Python process (identity hashing and the "
        "gate's inputs, the same work on every engine); the engine's own is in engine_peak_rss_mb_max: the "
        f"PostgreSQL backend that ran the session {engine_peak('postgres'):,.0f} MB, Spark's driver JVM "
        f"{engine_peak('spark'):,.0f} MB (local mode runs the executors inside it). Time over DuckDB's "
        f"({duckdb:.1f} s, no load step, vectorized over the local Parquet): PostgreSQL "
        f"{median('postgres') / duckdb:.2f}x, loading the landed data with COPY included; Spark "
        f"{median('spark') / duckdb:.2f}x, its session start ({median('spark', 'session_start_s'):.1f} s median) "
        "included."
    )


def _warehouse_read_note(reads: dict[int, dict[str, list[dict[str, Any]]]], runs: int) -> str:
    """What the two sizes show together: the streamed read's peak RSS is bounded by its batch, the whole-table
    read's grows with the table."""
    large, small = max(reads), min(reads)

    def peak(size: int, variant: str) -> float:
        return max(sample["peak_rss_mb"] for sample in reads[size][variant])

    streamed = peak(large, "streamed") / peak(small, "streamed")
    return (
        f"Streamed (fetchmany on a server-side cursor into Parquet): peak RSS {peak(large, 'streamed'):,.0f} MB at "
        f"{large:,} rows vs {peak(small, 'streamed'):,.0f} MB at {small:,} ({streamed:.2f}x for {large // small}x "
        f"the rows: bounded by the batch); get_pandas_df: {peak(large, 'get_pandas_df'):,.0f} MB vs "
        f"{peak(small, 'get_pandas_df'):,.0f} MB (grows with the table). {runs} alternating runs per variant."
    )


def run(quick: bool) -> list[dict[str, Any]]:
    import os

    from airflow_provider_cio.audiences.definitions import REFERENCE_AUDIENCES
    from bench.common import alternate, record, run_in_child

    people, deliveries, orders, events = SIZES[quick]
    label = f"{people // 1000}k_people_{deliveries // 1000}k_deliveries_{orders // 1000}k_orders"
    runs = 2 if quick else 5
    engine_runs = int(os.environ.get("CIO_BENCH_ENGINE_RUNS", "2" if quick else "5"))
    cases = _cases()
    records: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="bench-audience-") as tmp:
        generate(Path(tmp), people, deliveries, orders, events)
        all5 = list(REFERENCE_AUDIENCES)
        if cases & {"engines", "warehouse_read"}:
            records.extend(run_engines(quick, tmp, label, engine_runs))
        if "reference_5" in cases:
            samples = alternate({"ours": lambda: run_in_child(ours, tmp, all5)}, runs)
            records.append(
                record(
                    "audience_build",
                    f"reference_5/{label}",
                    "ours",
                    baseline=False,
                    unit="s",
                    samples=samples["ours"],
                    work=float(deliveries),
                )
            )
        if "clickers_viewers" not in cases:
            return records
        two = ["engaged_clickers_14d", "viewed_twice_no_purchase"]
        samples = alternate(
            {
                "ours": lambda: run_in_child(ours, tmp, two),
                "pandas_merge": lambda: run_in_child(pandas_merge, tmp, two),
            },
            runs,
        )
        for variant, baseline in (("ours", False), ("pandas_merge", True)):
            records.append(
                record(
                    "audience_build",
                    f"clickers_viewers/{label}",
                    variant,
                    baseline=baseline,
                    unit="s",
                    samples=samples[variant],
                    work=float(deliveries),
                )
            )
    return records


if __name__ == "__main__":
    import json
    import sys

    for item in run(quick="--full" not in sys.argv):
        print(
            json.dumps(
                {k: item[k] for k in ("case", "variant", "value", "min", "max", "peak_rss_mb", "extra")}
            )
        )
