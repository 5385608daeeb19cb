"""Airflow hooks: each owns one system's connection and builds its client lazily."""
