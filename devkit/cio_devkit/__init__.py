"""The dev kit of airflow-provider-cio: what runs the provider offline, never part of its runtime install.

``cio_devkit.emulators`` (Customer.io App API and data-out, Meta Graph API, Google Ads API and Data Manager API,
written from the platforms' docs and importing nothing of the provider), ``cio_devkit.devstack`` (Azurite and the
emulators as local processes, with their Airflow connections), ``cio_devkit.demo`` (``make demo``),
``cio_devkit.standalone`` (``make ui``), ``cio_devkit.airflow_env`` and ``cio_devkit.app_api_pool``.
Install: ``pip install -e ./devkit`` beside the provider (``make setup`` does).
"""
