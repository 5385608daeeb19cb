"""Google Customer Match destinations: Data Manager API (new callers) and Google Ads API (allowlisted callers).

Pick by configuration: ``datamanager.DataManagerDestination`` or ``ads.GoogleAdsDestination``. Modules import the
SDKs lazily, so importing this package from a DAG file costs nothing.
"""
