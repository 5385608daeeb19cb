"""Preflight (Airflow-free): cheap checks before a sync that turn tomorrow's page into today's warning.

Expired or expiring credentials, missing scopes and audiences a platform has locked are found by reading what the
platform says about them, before anything is sent; each finding names who must act.
"""
