"""``python -m airflow_provider_cio.reports``: a day's reports as links a browser opens (or local copies)."""
