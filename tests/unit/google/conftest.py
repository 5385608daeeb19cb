"""A TLS Google emulator per test (state isolated), trusted by default TLS channels in this process."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from cio_devkit.emulators.google.server import GoogleEmulator


@pytest.fixture
def emulator() -> Iterator[GoogleEmulator]:
    emu = GoogleEmulator(tls=True).start()
    emu.trust()  # before the first default TLS channel in this process (see emulators/google/certs.py)
    try:
        yield emu
    finally:
        emu.stop()
