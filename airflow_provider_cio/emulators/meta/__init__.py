"""Meta Graph API emulator (Custom Audiences): ``MetaGraphEmulator`` and ``python -m airflow_provider_cio.emulators.meta``."""

from airflow_provider_cio.emulators.meta.server import MetaGraphEmulator

__all__ = ["MetaGraphEmulator"]
