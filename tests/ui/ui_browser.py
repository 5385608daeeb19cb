"""Headless Chromium from Debian packages, driven over the DevTools protocol (CDP) with ``websockets``.

No browser-automation package is needed: Chromium writes its DevTools port into the profile folder
(``DevToolsActivePort``), the page's websocket takes JSON commands (``Page.navigate``, ``Runtime.evaluate``,
``Input.insertText``, ``Page.captureScreenshot``). Installed by the test set-up as ``make test-distributed``
installs PostgreSQL: only when missing, and only as root with apt-get; otherwise the test says how.
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import os
import shutil
import signal
import subprocess
import time
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import Any

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


class BrowserError(RuntimeError):
    """Chromium is missing, did not start, or a page did not reach the expected state."""


def chromium_binary() -> str:
    """The Debian ``chromium`` binary, installed with apt-get when missing (root only)."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise BrowserError("missing: chromium: install it (Debian/Ubuntu: sudo apt-get install -y chromium)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env, capture_output=True)
    subprocess.run(["apt-get", "install", "-y", "-qq", "chromium"], check=True, env=env, capture_output=True)
    found = shutil.which("chromium")
    if not found:
        raise BrowserError("apt-get installed chromium but no `chromium` binary is on PATH")
    return found


class Browser:
    """One headless Chromium with a fresh profile; ``page`` is its first tab."""

    def __init__(self, profile: Path, *, width: int = 1400, height: int = 900) -> None:
        self.profile = profile
        self.size = (width, height)
        self._proc: subprocess.Popen[bytes] | None = None
        self._ws: Any = None
        self._exits = contextlib.ExitStack()
        self._ids = itertools.count(1)

    def __enter__(self) -> Browser:
        from websockets.sync.client import connect

        self.profile.mkdir(parents=True, exist_ok=True)
        argv = [
            chromium_binary(),
            *FLAGS,
            f"--user-data-dir={self.profile}",
            "--remote-debugging-address=127.0.0.1",
            "--remote-debugging-port=0",
            f"--window-size={self.size[0]},{self.size[1]}",
            "about:blank",
        ]
        self._proc = subprocess.Popen(
            argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
        port = self._devtools_port(timeout=60)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as response:
            pages = [t for t in json.loads(response.read()) if t.get("type") == "page"]
        if not pages:
            raise BrowserError("chromium opened no page")
        self._ws = self._exits.enter_context(
            connect(pages[0]["webSocketDebuggerUrl"], max_size=64 * 1024 * 1024, open_timeout=20)
        )
        self.call("Page.enable")
        self.call("Runtime.enable")
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        with contextlib.suppress(Exception):
            self._exits.close()
        if self._proc is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._proc.pid, signal.SIGTERM)
            try:
                self._proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self._proc.pid, signal.SIGKILL)
                self._proc.wait()

    def _devtools_port(self, timeout: float) -> int:
        marker = self.profile / "DevToolsActivePort"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc is not None and self._proc.poll() is not None:
                raise BrowserError(f"chromium exited with {self._proc.returncode}")
            with contextlib.suppress(OSError, ValueError, IndexError):
                return int(marker.read_text().splitlines()[0])
            time.sleep(0.2)
        raise BrowserError(f"chromium wrote no DevTools port in {timeout:.0f}s")

    # -- protocol --------------------------------------------------------------------------------------------

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        """One CDP command; events arriving meanwhile are dropped."""
        call_id = next(self._ids)
        self._ws.send(json.dumps({"id": call_id, "method": method, "params": params}))
        while True:
            message = json.loads(self._ws.recv(timeout=60))
            if message.get("id") == call_id:
                if "error" in message:
                    raise BrowserError(f"{method}: {message['error']}")
                return dict(message.get("result", {}))

    def evaluate(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise BrowserError(f"script failed: {result['exceptionDetails'].get('text')}")
        return result.get("result", {}).get("value")

    # -- what a user does ------------------------------------------------------------------------------------

    def open(self, url: str) -> None:
        self.call("Page.navigate", url=url)

    def url(self) -> str:
        return str(self.evaluate("location.href"))

    def wait_for(self, expression: str, *, timeout: float = 60.0, what: str = "") -> Any:
        """Poll a script until it returns something truthy (the page renders asynchronously)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(BrowserError):
                value = self.evaluate(expression)
                if value:
                    return value
            time.sleep(0.3)
        text = self.evaluate("document.body ? document.body.innerText.slice(0, 800) : ''")
        raise BrowserError(f"timed out waiting for {what or expression} on {self.url()}; page text:\n{text}")

    def type_into(self, selector: str, text: str) -> None:
        """Focus a field and type, as keystrokes do (React sees real input events)."""
        self.evaluate(f"document.querySelector({json.dumps(selector)}).focus()")
        self.call("Input.insertText", text=text)

    def press_enter(self) -> None:
        for kind in ("keyDown", "keyUp"):
            self.call(
                "Input.dispatchKeyEvent",
                type=kind,
                key="Enter",
                code="Enter",
                windowsVirtualKeyCode=13,
                text="\r" if kind == "keyDown" else "",
            )

    def screenshot(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        data = self.call("Page.captureScreenshot", format="png")["data"]
        path.write_bytes(base64.b64decode(data))
