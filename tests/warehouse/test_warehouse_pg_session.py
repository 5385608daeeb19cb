"""The PostgreSQL engine plans audience queries for whole populations: at 1M people the default planner picked a
nested loop from a one-row misestimate (a window filter after an aggregate) and a query ran for minutes instead of
seconds. The session turns nested loops off and plans its cursors for all rows; the plan of that query shows it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from warehouse_data import Landed, write_landed

from airflow_provider_cio.audiences import load_definition
from airflow_provider_cio.audiences.engines.dialect import translate


@pytest.fixture(scope="module")
def landed(tmp_path_factory: pytest.TempPathFactory) -> Landed:
    return write_landed(tmp_path_factory.mktemp("landed"), people=200)


def test_the_session_plans_for_whole_populations(postgres: Any, landed: Landed, tmp_path: Path) -> None:
    from airflow_provider_cio.audiences.engines.postgres import PostgresEngine

    definition = load_definition("high_intent_unresponsive_carts")
    with PostgresEngine(landed.inputs(), postgres.connect) as engine:
        engine.check(definition)  # loads the landed tables it reads
        translated = translate(definition.sql, "postgres", engine.paramstyle)
        values = {**definition.resolve(None), "as_of": landed.as_of}
        with engine.con.cursor() as cur:
            cur.execute("SHOW enable_nestloop")
            assert cur.fetchone() == ("off",)
            cur.execute("SHOW cursor_tuple_fraction")
            assert cur.fetchone() == ("1",)
            cur.execute("EXPLAIN DECLARE plan_probe CURSOR FOR " + translated.sql, translated.bind(values))
            plan = "\n".join(row[0] for row in cur.fetchall())
    assert "Hash" in plan
    assert "Nested Loop" not in plan
