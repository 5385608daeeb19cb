"""On-call answers a guarded sync's approval in the Airflow UI, in headless Chromium: log in, find the request in
Required Actions, read its figures, approve. The run then syncs the 90%-shrunk audience and the answer names the
user who clicked. ``CIO_UPDATE_SCREENSHOTS=1`` keeps the request's screenshot as the README's
``docs/img/ui-approval.png``."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from approval_support import Run, settled_size, start_airflow, trigger
from ui_browser import Browser

from cio_devkit.devstack import Devstack
from cio_devkit.devstack.stack import project_root

AUDIENCE = "winback_vips"
KEPT_SCREENSHOT = project_root() / "docs" / "img" / "ui-approval.png"


@pytest.fixture(scope="module")
def workspace() -> str:
    return f"uiap{uuid.uuid4().hex[:6]}"


@pytest.fixture(scope="module")
def run(devstack: Devstack, tmp_path_factory: pytest.TempPathFactory, workspace: str) -> Iterator[Run]:
    folder = tmp_path_factory.mktemp("approval-ui")
    definitions = {AUDIENCE: {"destinations": ["meta"], "mode": "mirror"}}
    with start_airflow(devstack, folder, workspace, definitions) as airflow:
        yield Run(airflow, trigger(airflow))


def test_on_call_finds_the_request_in_required_actions_and_approves_it(
    run: Run, devstack: Devstack, workspace: str, tmp_path: Path
) -> None:
    task = f"approve_meta_{AUDIENCE}"
    assert run.wait_parked(task) == "awaiting_input"
    airflow = run.airflow
    shot = (
        KEPT_SCREENSHOT if os.environ.get("CIO_UPDATE_SCREENSHOTS") == "1" else tmp_path / "ui-approval.png"
    )
    subject = str(run.request(task)["subject"])
    with Browser(tmp_path / "chromium-profile", height=1000) as browser:
        browser.open(f"{airflow.url}/")
        browser.wait_for("!!document.querySelector('input[name=username]')", what="the login form")
        browser.type_into("input[name=username]", "admin")
        browser.type_into("input[name=password]", airflow.admin_password())
        browser.press_enter()
        browser.wait_for("!location.pathname.startsWith('/auth')", what="leaving the login page")
        browser.open(f"{airflow.url}/required_actions?response_received=false")
        browser.wait_for(
            f"document.body.innerText.includes({json.dumps(subject)})",
            timeout=120,
            what="the pending request",
        )
        browser.evaluate(  # open the request as on-call does: its subject links to the task's review
            f"[...document.querySelectorAll('a')].find(a => a.innerText.includes({json.dumps(subject)})).click()"
        )
        browser.wait_for(
            "[...document.querySelectorAll('button')].some(b => b.innerText.trim() === 'Approve')"
            " && document.body.innerText.includes('90.0%')",
            timeout=120,
            what="the request's figures and its Approve button",
        )
        browser.screenshot(shot)
        browser.evaluate(
            "[...document.querySelectorAll('button')].find(b => b.innerText.trim() === 'Approve').click()"
        )
        run.airflow.wait_until(
            lambda: run.request(task).get("response_received"), timeout=120, what="the answer recorded"
        )
    answer = run.request(task)
    assert answer["chosen_options"] == ["Approve"]
    assert (answer["responded_by_user"] or {}).get("name") == "admin"
    assert run.wait_for(f"sync_meta_{AUDIENCE}") == "success"
    assert settled_size(devstack, airflow, workspace, AUDIENCE) == 100
    assert shot.read_bytes().startswith(b"\x89PNG") and shot.stat().st_size > 10_000
