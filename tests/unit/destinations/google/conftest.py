"""A TLS Google emulator per test (state isolated), trusted by default TLS channels in this process."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from google_support import google_emulator

from cio_devkit.emulators.google.server import GoogleEmulator


@pytest.fixture
def emulator() -> Iterator[GoogleEmulator]:
    yield from google_emulator()
