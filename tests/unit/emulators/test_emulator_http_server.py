"""The emulators' HTTP server stays quiet about clients that hang up, and still reports its own errors."""

from __future__ import annotations

from http.server import BaseHTTPRequestHandler

import pytest

from cio_devkit.emulators.http_server import EmulatorHTTPServer


@pytest.mark.parametrize(
    ("error", "printed"),
    [
        (BrokenPipeError(32, "Broken pipe"), False),
        (ConnectionResetError(104, "Connection reset by peer"), False),
        (ValueError("a bug in a handler"), True),
    ],
)
def test_only_real_handler_errors_are_printed(
    error: Exception, printed: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    server = EmulatorHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    try:
        try:
            raise error
        except Exception:
            server.handle_error(None, ("127.0.0.1", 1))
    finally:
        server.server_close()
    err = capsys.readouterr().err
    assert (type(error).__name__ in err) is printed
    assert ("Traceback" in err) is printed
