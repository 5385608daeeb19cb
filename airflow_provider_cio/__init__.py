"""Airflow provider for Customer.io data-out, quality gates and audience syncs."""

__version__ = "0.1.0"
