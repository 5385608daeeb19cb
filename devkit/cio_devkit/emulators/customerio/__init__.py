"""A local Customer.io App API (exports, listings, faults) over a deterministic synthetic workspace."""

from cio_devkit.emulators.customerio.faults import FAULT_KINDS, FaultInjector
from cio_devkit.emulators.customerio.server import CustomerIoEmulator, RecordedRequest

__all__ = ["FAULT_KINDS", "CustomerIoEmulator", "FaultInjector", "RecordedRequest"]
