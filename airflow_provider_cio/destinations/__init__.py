"""Ad-platform destinations implementing ``airflow_provider_cio.sync.destination.Destination``."""
