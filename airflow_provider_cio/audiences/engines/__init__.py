"""Where a definition's query runs: the embedded DuckDB (default), PostgreSQL, or Spark SQL.

One definition is written once (DuckDB dialect, ``$name`` parameters) and translated per engine with sqlglot;
parameters stay bound everywhere. Only candidates come back; exclusions, holdout, identity, the gate and the sync
run in the embedded engine whatever the engine. Submodules import their driver (psycopg, pyspark) only when used.
"""

from airflow_provider_cio.audiences.engines.base import ENGINES, OutsideEngine
from airflow_provider_cio.audiences.engines.dialect import Translated, translate

__all__ = ["ENGINES", "OutsideEngine", "Translated", "translate"]
