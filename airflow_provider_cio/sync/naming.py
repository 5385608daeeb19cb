"""The audience's name on the ad platform, and the owner marker that keeps two deployments out of one audience.

Two envs or workspaces syncing one definition to the same ad account must never share a platform audience: each
mirrors against its own ledger, so each run would remove the other's members. The default name therefore carries
env and workspace (``cio/{env}/{workspace}/{audience}``: ``/`` cannot occur in any of the three parts, so two owners
never produce one name). The description written when the audience is created names its owner; a destination that
can read it back refuses an existing audience owned by someone else instead of mirroring into it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from airflow_provider_cio.sync.errors import ConfigurationError

NAME_PREFIX = "cio"
# Google Ads user lists; Meta documents no limit for custom audience names, so one cap serves both platforms.
MAX_NAME_LENGTH = 255
_OWNER = re.compile(r"Customer\.io audience (\S+) \(([^\s/()]+)/([^\s/()]+)\), synced by Airflow")
_FIX = "set a shorter one with the audience's platform_name in the DAG config (docs/audiences.md)"


def validate_platform_name(name: str) -> str:
    """Platforms refuse an empty or over-long name only when the audience is created: fail before that."""
    if not name.strip():
        raise ConfigurationError(
            "the platform audience name is empty", who_must_act="the owner of the DAG config"
        )
    if len(name) > MAX_NAME_LENGTH:
        raise ConfigurationError(
            f"platform audience name {name[:40]!r}... is {len(name)} characters, over the {MAX_NAME_LENGTH} "
            f"the ad platforms accept: {_FIX}",
            who_must_act="the owner of the DAG config",
        )
    return name


def platform_audience_name(env: str, workspace: str, audience: str, *, override: str | None = None) -> str:
    """``override`` when given (an existing audience keeps its name), else ``cio/{env}/{workspace}/{audience}``."""
    if override is not None:
        return validate_platform_name(override)
    return validate_platform_name(f"{NAME_PREFIX}/{env}/{workspace}/{audience}")


@dataclass(frozen=True)
class AudienceOwner:
    """Who syncs into a platform audience. Its description is the marker (the text earlier versions wrote too)."""

    env: str
    workspace: str
    audience: str

    def description(self) -> str:
        return f"Customer.io audience {self.audience} ({self.env}/{self.workspace}), synced by Airflow"

    @classmethod
    def from_description(cls, text: str | None) -> AudienceOwner | None:
        match = _OWNER.search(text or "")
        return cls(env=match[2], workspace=match[3], audience=match[1]) if match else None

    def __str__(self) -> str:
        return f"{self.env}/{self.workspace}/{self.audience}"


def refuse_foreign_audience(
    platform: str, name: str, existing_description: str | None, description: str
) -> None:
    """Raise when the audience found under ``name`` was created for another owner than the one syncing now.

    Audiences without a marker (made by hand, or with another description) are adopted as before: only a marker
    that names a different env, workspace or definition proves the collision.
    """
    ours = AudienceOwner.from_description(description)
    theirs = AudienceOwner.from_description(existing_description)
    if ours is None or theirs is None or ours == theirs:
        return
    raise ConfigurationError(
        f"{platform}: the audience named {name!r} belongs to {theirs}, not to {ours} (its description says so); "
        "syncing would mirror one ledger into the other's audience and remove its members. Give this audience its "
        "own name (drop the platform_name override, or choose another); if the audience really moved, change its "
        f"description on {platform} to {ours.description()!r}",
        who_must_act="the owner of the DAG config",
    )
