"""Google Customer Match emulator (Data Manager API + Google Ads API v26) over real gRPC, for tests and the devstack.

``GoogleEmulator`` lives in ``server.py``; importing this package stays cheap (grpc loads only when you use it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cio_devkit.emulators.google.server import GoogleEmulator

__all__ = ["GoogleEmulator"]


def __getattr__(name: str) -> Any:
    if name == "GoogleEmulator":
        from cio_devkit.emulators.google.server import GoogleEmulator

        return GoogleEmulator
    raise AttributeError(name)
