"""Reports over many runs (Airflow-free): the match-rate and reach history of the syncs, its trend and alerts."""
