"""Local devstack: Azurite and the platform emulators as background processes, plus the connections to reach them."""

from cio_devkit.devstack.stack import Devstack, DevstackError

__all__ = ["Devstack", "DevstackError"]
