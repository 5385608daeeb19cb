"""Meta Custom Audiences destination (facebook-business, imported lazily inside methods)."""

from airflow_provider_cio.destinations.meta.destination import (
    DEFAULT_API_VERSION,
    MetaCustomAudienceDestination,
)

__all__ = ["DEFAULT_API_VERSION", "MetaCustomAudienceDestination"]
