"""Object storage seen by the domain core: a small protocol, an Azure Blob implementation, an in-memory one."""

from airflow_provider_cio.storage.base import BlobNotFound, ObjectStore, PreconditionFailed, Versioned
from airflow_provider_cio.storage.memory import MemoryObjectStore

__all__ = ["BlobNotFound", "MemoryObjectStore", "ObjectStore", "PreconditionFailed", "Versioned"]
