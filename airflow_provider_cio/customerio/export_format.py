"""What an App API export CSV looks like, and how its header maps to the landed datasets.

Customer.io documents exports as CSV but not their exact columns (UNCONFIRMED, see customerio.md), so the mapping
is data, not code: each landed column lists the header spellings accepted for it, matched after normalizing the
header (lower case, spaces and dots to underscores). The emulator writes the first spelling of each list.
"""

from __future__ import annotations

import re

# landed column -> accepted header spellings (normalized), first one preferred
DELIVERIES_EXPORT_ALIASES: dict[str, tuple[str, ...]] = {
    "delivery_id": ("delivery_id", "id", "message_id"),
    "customer_id": ("customer_id", "customer_identifiers_id", "identifiers_id"),
    "internal_customer_id": ("cio_id", "internal_customer_id", "customer_identifiers_cio_id"),
    "campaign_id": ("campaign_id",),
    "action_id": ("action_id",),
    "newsletter_id": ("newsletter_id", "broadcast_id"),
    "delivery_type": ("type", "delivery_type", "message_type"),
    "created_at": ("created_at", "created"),
    "sent_at": ("sent_at", "sent"),
    "delivered_at": ("delivered_at", "delivered"),
    "opened_at": ("opened_at", "opened"),
    "clicked_at": ("clicked_at", "clicked"),
    "converted_at": ("converted_at", "converted"),
    "bounced_at": ("bounced_at", "bounced"),
}

CUSTOMERS_EXPORT_ALIASES: dict[str, tuple[str, ...]] = {
    "customer_id": ("id", "customer_id"),
    "internal_customer_id": ("internal_customer_id", "cio_id"),
    "cio_id": ("cio_id",),
    "email": ("email", "email_addr", "email_address"),
    "phone": ("phone", "phone_number", "mobile"),
    "first_name": ("first_name", "firstname"),
    "last_name": ("last_name", "lastname"),
    "city": ("city",),
    "state": ("state", "region"),
    "zip": ("zip", "postal_code", "zipcode", "postcode"),
    "country": ("country", "country_code"),
    "deleted": ("deleted",),
    "suppressed": ("suppressed",),
    "ad_consent": ("ad_consent", "ads_consent", "marketing_consent"),
    "created_at": ("created_at",),
    "updated_at": ("updated_at",),
}

EXPORT_ALIASES: dict[str, dict[str, tuple[str, ...]]] = {
    "deliveries": DELIVERIES_EXPORT_ALIASES,
    "people": CUSTOMERS_EXPORT_ALIASES,
}

# Customer attributes a customers export asks for so that ``people`` can be filled.
PEOPLE_EXPORT_ATTRIBUTES = (
    "phone",
    "first_name",
    "last_name",
    "city",
    "state",
    "zip",
    "country",
    "ad_consent",
    "created_at",
    "updated_at",
)

_NORMALIZE = re.compile(r"[\s.\-/]+")


def normalize_header(name: str) -> str:
    """``"Delivery ID"`` -> ``"delivery_id"``; ``"customer_identifiers.id"`` -> ``"customer_identifiers_id"``."""
    return _NORMALIZE.sub("_", name.strip().lstrip("\ufeff").lower()).strip("_")


def resolve_columns(header: list[str], aliases: dict[str, tuple[str, ...]]) -> dict[str, str]:
    """Map landed column -> the header column that feeds it (first matching spelling wins)."""
    by_normal: dict[str, str] = {}
    for raw in header:
        by_normal.setdefault(normalize_header(raw), raw)
    resolved: dict[str, str] = {}
    for target, spellings in aliases.items():
        for spelling in spellings:
            if spelling in by_normal:
                resolved[target] = by_normal[spelling]
                break
    return resolved
