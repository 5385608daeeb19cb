"""A local Customer.io App API (exports, listings, faults) over a deterministic synthetic workspace."""

from airflow_provider_cio.emulators.customerio.faults import FAULT_KINDS, FaultInjector
from airflow_provider_cio.emulators.customerio.server import CustomerIoEmulator, RecordedRequest

__all__ = ["FAULT_KINDS", "CustomerIoEmulator", "FaultInjector", "RecordedRequest"]
