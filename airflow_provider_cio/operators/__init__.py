"""Airflow operators: __init__ only assigns; the work happens in execute()."""
