"""The emulators' HTTP server: threaded, and quiet about clients that hang up.

A client that times out or is killed mid-response (the timeout and kill tests do both on purpose) makes the handler's
write fail with a broken pipe or a reset. That is the client's choice, not an emulator fault: the stock server prints
a traceback for it, which buried real failures in CI logs. Every other error is still printed.
"""

from __future__ import annotations

from http.server import ThreadingHTTPServer
from typing import Any


class EmulatorHTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        import sys

        if isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError, ConnectionAbortedError)):
            return
        super().handle_error(request, client_address)
