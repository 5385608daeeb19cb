"""Provider metadata for Airflow's providers manager (entry point ``apache_airflow_provider``).

Connection forms are declared here (``conn-fields`` / ``ui-field-behaviour``), the Airflow 3.3 way, instead of the
deprecated hook methods. Every secret field has ``format: password`` so the UI and the masker treat it as one.
"""

from __future__ import annotations

from typing import Any

from airflow_provider_cio import __version__


def _secret(label: str, description: str) -> dict[str, Any]:
    return {
        "label": label,
        "description": description,
        "schema": {"type": ["string", "null"], "format": "password"},
    }


def _text(label: str, description: str, **schema: Any) -> dict[str, Any]:
    return {"label": label, "description": description, "schema": {"type": ["string", "null"], **schema}}


def get_provider_info() -> dict[str, Any]:
    return {
        "package-name": "airflow-provider-cio",
        "name": "Customer.io retention data",
        "description": "Customer.io data-out to Azure Blob, quality gates, audiences, Meta and Google Customer Match.",
        "versions": [__version__],
        "integrations": [
            {
                "integration-name": "Customer.io",
                "external-doc-url": "https://customer.io/docs/api/app/",
                "tags": ["service"],
            },
            {"integration-name": "Meta Custom Audiences", "tags": ["service"]},
            {"integration-name": "Google Customer Match", "tags": ["service"]},
        ],
        "hooks": [
            {"integration-name": "Customer.io", "python-modules": ["airflow_provider_cio.hooks.customerio"]},
            {
                "integration-name": "Meta Custom Audiences",
                "python-modules": ["airflow_provider_cio.hooks.meta"],
            },
            {
                "integration-name": "Google Customer Match",
                "python-modules": ["airflow_provider_cio.hooks.google"],
            },
        ],
        # report links: the buttons on a task (their API-server route is the airflow.plugins entry point)
        "extra-links": [
            f"airflow_provider_cio.links.operator_links.{name}"
            for name in ("GateReportLink", "AudienceStatsLink", "LiftReportLink", "TrendReportLink")
        ],
        "connection-types": [
            {
                "connection-type": "customerio",
                "hook-class-name": "airflow_provider_cio.hooks.customerio.CustomerIoHook",
                "hook-name": "Customer.io",
                "ui-field-behaviour": {
                    "hidden-fields": ["schema", "port", "login", "extra"],
                    "relabeling": {
                        "password": "App API key",
                        "host": "API base URL (optional, overrides region)",
                    },
                    "placeholders": {"host": "leave empty for api.customer.io / api-eu.customer.io"},
                },
                "conn-fields": {
                    "region": _text("Region", "Workspace region: us or eu", enum=["us", "eu"], default="us"),
                    "site_id": _text("Site ID", "Track API site id (optional)"),
                    "track_api_key": _secret("Track API key", "Track API key (optional)"),
                },
            },
            {
                "connection-type": "meta_custom_audience",
                "hook-class-name": "airflow_provider_cio.hooks.meta.MetaCustomAudienceHook",
                "hook-name": "Meta Custom Audiences",
                "ui-field-behaviour": {
                    "hidden-fields": ["schema", "port", "login", "extra"],
                    "relabeling": {"password": "Access token", "host": "Graph API base URL (optional)"},
                    "placeholders": {"host": "https://graph.facebook.com"},
                },
                "conn-fields": {
                    "app_secret": _secret("App secret", "Used for appsecret_proof on every call"),
                    "ad_account_id": _text("Ad account id", "act_<id> or the numeric id"),
                    "api_version": _text("API version", "Graph API version", default="v26.0"),
                },
            },
            {
                "connection-type": "google_customer_match",
                "hook-class-name": "airflow_provider_cio.hooks.google.GoogleCustomerMatchHook",
                "hook-name": "Google Customer Match",
                "ui-field-behaviour": {
                    "hidden-fields": ["schema", "port", "login", "extra"],
                    "relabeling": {
                        "password": "Developer token (Google Ads API)",
                        "host": "API endpoint (optional)",
                    },
                    "placeholders": {"host": "datamanager.googleapis.com / googleads.googleapis.com"},
                },
                "conn-fields": {
                    "api": _text(
                        "API",
                        "Which Google API to use",
                        enum=["data_manager", "google_ads"],
                        default="data_manager",
                    ),
                    "credentials_json": _secret("Credentials JSON", "Service account or OAuth client JSON"),
                    "customer_id": _text("Customer id", "Google Ads operating customer id (digits)"),
                    "login_customer_id": _text("Login customer id", "Manager account id (optional)"),
                    "api_version": _text("Google Ads API version", "e.g. v26", default="v26"),
                    "user_list_ids": _text(
                        "User list ids (Data Manager)",
                        'JSON: platform audience name -> user list id, e.g. {"cio/prod/acme/winback": "123"}',
                    ),
                    "membership_life_span_days": {
                        "label": "Membership life span (days)",
                        "description": "Days a member stays on a Customer Match list after its latest upload, "
                        "1..540 (Google's maximum since April 2025; default 540). Lists the sync creates get it; "
                        "an existing list's own value wins.",
                        "schema": {"type": ["integer", "null"], "minimum": 1, "maximum": 540},
                    },
                    "refresh_after_days": {
                        "label": "Re-send members after (days)",
                        "description": "Members last uploaded this many days ago are sent again, so their "
                        "membership never lapses; below the life span (default: a third of it).",
                        "schema": {"type": ["integer", "null"], "minimum": 0, "maximum": 539},
                    },
                },
            },
        ],
    }
