"""Each Data Manager audience's list exists and accepts uploads, checked without changing it.

Data Manager cannot read or create lists, so the check is the upload itself with ``validate_only`` ("If true, the
request is validated but not executed", IngestAudienceMembersRequest, Data Manager API reference,
https://developers.google.com/data-manager/api/reference/rpc/google.ads.datamanager.v1#ingestaudiencemembersrequest):
an unknown list id, terms not accepted or a missing permission answer now instead of at the sync. The probe member is
the SHA-256 of a reserved address (``.invalid``, RFC 2606), never a person; nothing is applied.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

from airflow_provider_cio.preflight.findings import ERROR, Finding
from airflow_provider_cio.sync.errors import ConfigurationError, SyncError

PROBE = hashlib.sha256(b"preflight@example.invalid").hexdigest()
WHO = "the owner of the Google connection (user_list_ids, terms, account access)"


def check_lists(destination: Any, audience_names: Iterable[str]) -> list[Finding]:
    """One validate-only upload per platform audience name of a ``DataManagerDestination``."""
    from google.ads import datamanager_v1 as dm

    from airflow_provider_cio.destinations.google.errors import classify_data_manager

    findings = []
    for name in audience_names:
        try:
            list_id = destination.ensure_audience(name)  # the connection maps the name to a list id
            request = dm.IngestAudienceMembersRequest(
                destinations=[destination._destination(list_id)],
                audience_members=[
                    dm.AudienceMember(
                        user_data=dm.UserData(user_identifiers=[dm.UserIdentifier(email_address=PROBE)]),
                        consent=dm.Consent(
                            ad_user_data=dm.ConsentStatus.CONSENT_GRANTED,
                            ad_personalization=dm.ConsentStatus.CONSENT_GRANTED,
                        ),
                    )
                ],
                encoding=dm.Encoding.HEX,
                terms_of_service=dm.TermsOfService(
                    customer_match_terms_of_service_status=dm.TermsOfServiceStatus.ACCEPTED
                ),
                validate_only=True,
            )
            try:
                destination.client.ingest_audience_members(
                    request=request, timeout=destination.timeout_seconds
                )
            except Exception as exc:
                raise classify_data_manager(exc, action=f"validate list {list_id}") from None
        except ConfigurationError as exc:
            what = str(exc).removesuffix(f" (who must act: {exc.who_must_act})")
            findings.append(Finding(ERROR, "google_list", f"{name}: {what}", exc.who_must_act))
        except (
            SyncError
        ) as exc:  # a refused list id is a DataError to the classifier: here it is configuration
            findings.append(Finding(ERROR, "google_list", f"{name}: {exc}", WHO))
    return findings
