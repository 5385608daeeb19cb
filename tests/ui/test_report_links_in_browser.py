"""Reports people can open, from the UI that ``make ui`` serves (one start shared by the module, conftest.py):

- runs made with ``airflow dags test`` in ``make ui``'s AIRFLOW_HOME (what ``make demo`` does) show in the UI;
- a dry run and a real run of one day (``partition_date``, two logical dates): both succeed, on one partition;
- in headless Chromium, logged in: a gate task's "Gate report" button opens the rendered report through the
  API server's route (a fresh read-only SAS; the button's own URL holds none), and a sync task's "Match-rate trend"
  button opens the audience's trend. ``CIO_UPDATE_SCREENSHOTS=1`` keeps the screenshots the README shows.

The runs use their own workspace name (``uilinks``) so that the platform audience they sync is new to the
session's emulators, whatever other tests synced before. The trend's earlier points are sample figures recorded
first (a history needs more than one sync); its last point is the real sync's.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from ui_browser import Browser
from ui_support import RunningUi

from cio_devkit.airflow_env import airflow_cli, airflow_env
from cio_devkit.devstack import Devstack
from cio_devkit.devstack.stack import project_root

pytestmark = pytest.mark.integration

DAY = "2026-11-01"  # the day landed, built and synced
EXPORT_RUN = "2026-11-02"  # the daily run that covers DAY
DRY_RUN, REAL_RUN = (
    "2026-11-20T09:00:00+00:00",
    "2026-11-20T09:30:00+00:00",
)  # any logical dates: partition_date
AUDIENCE = (
    "viewed_twice_no_purchase"  # Meta only: the devstack's Google lists exist for the demo workspace only
)
UPDATE = os.environ.get("CIO_UPDATE_SCREENSHOTS") == "1"
IMG = project_root() / "docs" / "img"


class Api:
    """The REST API of the running UI, as admin (the printed password)."""

    def __init__(self, ui: RunningUi) -> None:
        self.url = ui.url
        body = json.dumps({"username": "admin", "password": ui.password}).encode()
        request = urllib.request.Request(
            f"{ui.url}/auth/token", data=body, method="POST", headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            self.token = json.loads(response.read())["access_token"]

    def get(self, path: str) -> Any:
        request = urllib.request.Request(
            f"{self.url}{path}", headers={"Authorization": f"Bearer {self.token}"}
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())

    def run(self, dag_id: str, logical_date: str) -> dict[str, Any]:
        runs = self.get(f"/api/v2/dags/{dag_id}/dagRuns?limit=100")["dag_runs"]
        wanted = logical_date.replace("+00:00", "Z")
        found = [
            r for r in runs if (r.get("logical_date") or "").replace("+00:00", "Z").startswith(wanted[:19])
        ]
        assert found, f"no {dag_id} run at {logical_date} in the UI: {[r.get('logical_date') for r in runs]}"
        return dict(found[0])

    def xcom(self, dag_id: str, run_id: str, task_id: str, key: str) -> Any:
        quoted = urllib.parse.quote(run_id, safe="")
        entry = self.get(f"/api/v2/dags/{dag_id}/dagRuns/{quoted}/taskInstances/{task_id}/xcomEntries/{key}")
        value = entry["value"]
        return json.loads(value) if isinstance(value, str) and value[:1] in "{[" else value

    def links(self, dag_id: str, run_id: str, task_id: str) -> dict[str, str | None]:
        quoted = urllib.parse.quote(run_id, safe="")
        found = self.get(f"/api/v2/dags/{dag_id}/dagRuns/{quoted}/taskInstances/{task_id}/links")
        return dict(found["extra_links"])


@pytest.fixture(scope="module")
def ran(make_ui: RunningUi, devstack: Devstack, tmp_path_factory: pytest.TempPathFactory) -> Api:
    """``cio_export`` for DAY, then a dry and a real ``cio_audiences`` run of DAY, by ``airflow dags test`` in the UI's
    AIRFLOW_HOME, as ``make demo`` runs them."""
    source = (project_root() / "dags" / "config" / "devstack.yaml").read_text()
    config = tmp_path_factory.mktemp("config") / "devstack.yaml"
    config.write_text(source.replace("workspace: demo\n", "workspace: uilinks\n", 1))
    env = airflow_env(make_ui.home, project_root() / "dags", devstack.environment())
    env["CIO_DAG_CONFIG"] = str(config)
    _earlier_syncs()
    runs: list[tuple[str, str, dict[str, Any]]] = [
        ("cio_export", EXPORT_RUN, {}),
        ("cio_audiences", DRY_RUN, {"partition_date": DAY, "dry_run": True, "audiences": [AUDIENCE]}),
        ("cio_audiences", REAL_RUN, {"partition_date": DAY, "audiences": [AUDIENCE]}),
    ]
    for dag_id, logical_date, conf in runs:
        extra = ["-c", json.dumps(conf)] if conf else []
        result = airflow_cli(env, "dags", "test", *extra, dag_id, logical_date, check=False, capture=True)
        assert result.returncode == 0, (
            f"{dag_id} {logical_date}:\n{result.stdout[-4000:]}\n{result.stderr[-3000:]}"
        )
    return Api(make_ui)


def _earlier_syncs() -> None:
    """Six earlier Meta syncs of the audience in its history (sample figures: the match rate easing from 90%)."""
    from datetime import UTC, date, datetime

    from airflow_provider_cio.hooks.blob import object_store
    from airflow_provider_cio.reporting.record import record_sync

    store = object_store("cio_blob", "customerio")
    for day, matched in zip(range(26, 32), (90, 89, 91, 88, 86, 87), strict=True):
        report = {
            "status": "synced",
            "platform": "meta",
            "audience_name": f"cio/dev/uilinks/{AUDIENCE}",
            "mode": "mirror",
            "run_id": f"sample-{day}",
            "plan": {"adds": 100, "removes": 5, "snapshot_size": 90 + day},
            "rows_sent": 105,
            "invalid": 0,
            "sessions": {"add": {"session_id": str(day), "num_received": 100, "num_matched": matched}},
            "platform_stats": {"approximate_count_lower_bound": 1000, "approximate_count_upper_bound": 1500},
        }
        covered = date(2026, 10, day)
        at = datetime(2026, 10, day, 6, tzinfo=UTC)
        record_sync(
            store, report, env="dev", workspace="uilinks", audience=AUDIENCE, covered=covered, recorded_at=at
        )


def test_runs_made_in_the_shared_home_show_in_the_ui(ran: Api) -> None:
    run = ran.run("cio_export", EXPORT_RUN)
    assert run["state"] == "success"
    gate = ran.xcom("cio_export", run["dag_run_id"], "gate_deliveries", "cio_reports")
    assert gate["reports"]["Gate report"].endswith(f"/deliveries/dt={DAY}/_quality/report.html")


def test_a_dry_run_and_a_real_run_of_one_day(ran: Api) -> None:
    """Two logical dates (no 409), one partition: both runs gated and planned DAY's snapshot, not 2026-11-19."""
    paths = {}
    for name, logical_date in (("dry", DRY_RUN), ("real", REAL_RUN)):
        run = ran.run("cio_audiences", logical_date)
        assert run["state"] == "success", name
        assert run["conf"]["partition_date"] == DAY
        pointer = ran.xcom("cio_audiences", run["dag_run_id"], f"gate_{AUDIENCE}", "cio_reports")
        paths[name] = pointer["reports"]["Gate report"]
        summary = ran.xcom("cio_audiences", run["dag_run_id"], f"sync_meta_{AUDIENCE}", "return_value")
        paths[name + " status"] = summary.get("status")
    assert paths["dry"] == paths["real"] == f"audiences/dev/uilinks/{AUDIENCE}/dt={DAY}/_quality/report.html"
    assert paths["dry status"] == "dry_run" and paths["real status"] == "synced"


def _log_in(browser: Browser, ui: RunningUi) -> None:
    browser.open(f"{ui.url}/")
    browser.wait_for("!!document.querySelector('input[name=username]')", what="the login form")
    browser.type_into("input[name=username]", "admin")
    browser.type_into("input[name=password]", ui.password)
    browser.press_enter()
    browser.wait_for("!location.pathname.startsWith('/auth')", what="leaving the login page")


def _follow_link(browser: Browser, ui: RunningUi, task_page: str, name: str) -> str:
    """Open the task's Details tab (where the UI lists its extra links), find the report button, follow it; the
    button's own URL (no signature in it)."""
    browser.open(f"{ui.url}{task_page}/details")
    wanted = json.dumps(name)
    script = (
        f"(() => {{ const a = [...document.querySelectorAll('a')].find(e => e.innerText.trim() === {wanted});"
        " return a ? a.href : ''; })()"
    )
    href = str(browser.wait_for(script, timeout=120, what=f"the {name!r} button"))
    browser.open(href)
    browser.wait_for("location.href.includes('sig=')", timeout=60, what="the redirect to a signed blob URL")
    return href


def test_gate_report_opens_from_its_task_in_the_browser(ran: Api, make_ui: RunningUi, tmp_path: Path) -> None:
    run_id = ran.run("cio_export", EXPORT_RUN)["dag_run_id"]
    task_page = f"/dags/cio_export/runs/{urllib.parse.quote(run_id, safe='')}/tasks/gate_deliveries"
    shot = IMG / "ui-gate-report.png" if UPDATE else tmp_path / "ui-gate-report.png"
    with Browser(tmp_path / "chromium-profile") as browser:
        _log_in(browser, make_ui)
        href = _follow_link(browser, make_ui, task_page, "Gate report")
        landed = browser.url()
        browser.wait_for("document.body.innerText.includes('deliveries')", what="the rendered gate report")
        rendered = browser.evaluate("document.contentType + ' ' + document.querySelectorAll('table').length")
        browser.screenshot(shot)
    assert "sig=" not in href and urllib.parse.urlsplit(href).path.startswith("/cio/reports/cio_export/")
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(landed).query)
    assert query["sp"] == ["r"] and query["rsct"][0].startswith("text/html")
    assert rendered.startswith("text/html") and int(rendered.split()[-1]) > 0
    assert shot.read_bytes().startswith(b"\x89PNG") and shot.stat().st_size > 10_000
    # the same button's URL without the UI's session: refused, no signed URL handed out
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(href, timeout=30)
    assert refused.value.code == 401


def test_match_rate_trend_opens_from_the_sync_task(ran: Api, make_ui: RunningUi, tmp_path: Path) -> None:
    run_id = ran.run("cio_audiences", REAL_RUN)["dag_run_id"]
    assert ran.links("cio_audiences", run_id, f"sync_meta_{AUDIENCE}")["Match-rate trend"]
    task_page = f"/dags/cio_audiences/runs/{urllib.parse.quote(run_id, safe='')}/tasks/sync_meta_{AUDIENCE}"
    shot = IMG / "match-rate-trend.png" if UPDATE else tmp_path / "match-rate-trend.png"
    with Browser(tmp_path / "chromium-profile") as browser:
        _log_in(browser, make_ui)
        _follow_link(browser, make_ui, task_page, "Match-rate trend")
        browser.wait_for(
            "[...document.images].some(i => i.complete && i.naturalWidth > 0)", what="the trend chart drawn"
        )
        text = browser.evaluate("document.body.innerText")
        browser.screenshot(shot)
    assert AUDIENCE in text
    assert shot.read_bytes().startswith(b"\x89PNG") and shot.stat().st_size > 10_000
