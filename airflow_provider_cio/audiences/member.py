"""One audience member as a platform receives it: what an audience snapshot yields and a destination sends."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Member:
    """One audience member as a platform receives it.

    ``customer_id`` is the retention team's own id (sent as EXTERN_ID to Meta; never used as a key by Google).
    ``identifiers`` maps an identifier kind (email, phone, first_name, last_name, city, state, zip, country) to the
    member's values, SHA-256 hex for hashed kinds and plain for country/zip where the platform wants them plain.
    """

    customer_id: str
    identifiers: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    consent: bool = True  # ad_user_data / ad_personalization granted (Google, EEA)
    # On a removal only: the person stays in the audience and ``identifiers`` holds just the values they no longer
    # have. Destinations never send it: platforms remove whoever a row matches, and that is the person who stays
    # (by EXTERN_ID on Meta; on Google through the user their uploads were merged into). The lost values lapse.
    retained: bool = False
