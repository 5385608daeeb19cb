"""``dag_parse``: how long Airflow takes to parse each reference DAG file, as Airflow itself reports it.

Set-up outside the timed part: a private ``AIRFLOW_HOME`` (SQLite) migrated once, ``CIO_DAG_CONFIG`` pointing at
``dags/config/devstack.yaml``. Each sample is one fresh ``airflow dags report -o json`` (a new process, cold imports)
run from a fresh child; the value is the per-file ``duration`` Airflow reports.

Cases:
- one case per file in ``dags/`` (variant ``ours``): the whole folder parsed as the dag-processor would. Files
  parsed later profit from modules an earlier file already imported.
- ``cio_export.py alone``: ``ours`` = an unmodified copy of ``dags/cio_export.py`` alone in a folder vs
  ``top_level_heavy_imports`` (baseline) = the same file with ``import great_expectations, pandas, duckdb`` and
  ``WasbHook`` imported at module top level (the obvious way), also alone; alternating.
Peak RSS is the ``airflow dags report`` process's own.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any

from bench.common import alternate, record, run_in_child

BENCHMARK = "dag_parse"
ROOT = Path(__file__).resolve().parent.parent
DAGS = ROOT / "dags"
HEAVY_IMPORTS = (
    "import great_expectations  # noqa: F401\n"
    "import pandas  # noqa: F401\n"
    "import duckdb  # noqa: F401\n"
    "from airflow.providers.microsoft.azure.hooks.wasb import WasbHook  # noqa: F401\n"
)
ALONE = "cio_export.py alone"


def _duration(text: str) -> float:
    """``0:00:00.047918`` (a ``timedelta`` string) -> seconds."""
    hours, minutes, seconds = text.split(":")
    return timedelta(hours=int(hours), minutes=int(minutes), seconds=float(seconds)).total_seconds()


def report_child(home: str, dags_folder: str) -> dict[str, Any]:
    """Runs ``airflow dags report -o json`` once; per-file durations and the CLI process's peak RSS."""
    from cio_devkit.airflow_env import airflow_env

    env = airflow_env(Path(home), Path(dags_folder), {})
    env["CIO_DAG_CONFIG"] = str(DAGS / "config" / "devstack.yaml")
    airflow = str(Path(sys.executable).with_name("airflow"))
    done = subprocess.run(
        [airflow, "dags", "report", "-o", "json"], env=env, check=True, text=True, capture_output=True
    )
    line = next(text for text in done.stdout.splitlines() if text.startswith("[{") or text == "[]")
    rows = json.loads(line)
    return {
        "durations": {row["file"]: _duration(row["duration"]) for row in rows},
        "dags": {row["file"]: row["dags"] for row in rows},
        "cli_peak_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0,
    }


def _per_file(samples: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    return [
        {
            "seconds": s["extra"]["durations"][name],
            "peak_rss_mb": s["extra"]["cli_peak_rss_mb"],
            "extra": {"dags": ",".join(s["extra"]["dags"][name])},
        }
        for s in samples
    ]


def run(quick: bool) -> list[dict[str, Any]]:
    from cio_devkit.airflow_env import airflow_env, migrate

    runs = 2 if quick else 5
    records: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="bench_dag_parse_") as tmp:
        root = Path(tmp)
        home = root / "home"
        home.mkdir()
        migrate(airflow_env(home, DAGS, {}))
        plain, heavy = root / "plain", root / "heavy"
        for folder in (plain, heavy):
            folder.mkdir()
        source = (DAGS / "cio_export.py").read_text()
        (plain / "cio_export.py").write_text(source)
        marker = "from __future__ import annotations\n"
        if marker not in source:
            raise RuntimeError("cio_export.py has no `from __future__` line to put the heavy imports after")
        (heavy / "cio_export.py").write_text(source.replace(marker, marker + "\n" + HEAVY_IMPORTS, 1))

        def report(folder: Path):
            return lambda: run_in_child(report_child, str(home), str(folder))

        folder_samples = alternate({"ours": report(DAGS)}, runs)["ours"]
        files = sorted(folder_samples[0]["extra"]["durations"])
        for name in files:
            records.append(
                record(
                    BENCHMARK,
                    name,
                    "ours",
                    baseline=False,
                    unit="s",
                    samples=_per_file(folder_samples, name),
                    work=1,
                    extra={"folder": "dags/"},
                )
            )
        alone = alternate({"ours": report(plain), "top_level_heavy_imports": report(heavy)}, runs)
        for variant, samples in alone.items():
            records.append(
                record(
                    BENCHMARK,
                    ALONE,
                    variant,
                    baseline=variant != "ours",
                    unit="s",
                    samples=_per_file(samples, "cio_export.py"),
                    work=1,
                    extra={"folder": "a copy alone in a temp folder"},
                )
            )
    return records


if __name__ == "__main__":
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    for rec in run(quick="--full" not in sys.argv):
        print(json.dumps(rec))
