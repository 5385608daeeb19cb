"""Meta Graph API emulator (Custom Audiences): ``MetaGraphEmulator`` and ``python -m cio_devkit.emulators.meta``."""

from cio_devkit.emulators.meta.server import MetaGraphEmulator

__all__ = ["MetaGraphEmulator"]
