"""Local devstack: Azurite and the platform emulators as background processes, plus the connections to reach them."""

from airflow_provider_cio.devstack.stack import Devstack, DevstackError

__all__ = ["Devstack", "DevstackError"]
