"""The PII-free result of one sync run, small enough for XCom."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class SyncReport:
    status: str  # "synced" | "already_synced" | "superseded" | "dry_run"
    platform: str
    audience_name: str
    mode: str
    snapshot_id: str
    run_id: str
    audience_id: str | None = None
    # the ledger's audience, gone from the platform: this sync uploaded everything to ``audience_id`` instead
    replaced_audience_id: str | None = None
    plan: dict[str, Any] = field(default_factory=dict)
    guards: list[dict[str, Any]] = field(default_factory=list)
    overrides_used: list[str] = field(default_factory=list)
    # on-call's approval of a guarded plan (sync.approval.ApprovedOverride.to_dict(): who, when, the figures)
    approval: dict[str, Any] | None = None
    batches_total: int = 0
    batches_sent: int = 0
    batches_skipped: int = 0  # acknowledged by an earlier attempt of the same run (resume)
    batches_rejected: int = 0
    rows_sent: int = 0  # members sent by this attempt
    requests: int = 0  # send attempts by this attempt, retries included
    retries: int = 0
    received: int = 0  # rows the platform acknowledged, over all attempts of the run
    invalid: int = 0
    # members the platform accepted or refused but did not apply (stored as before the run; sent again next run)
    members_unapplied: int = 0
    unapplied_reasons: dict[str, int] = field(default_factory=dict)
    sessions: dict[str, Any] = field(default_factory=dict)
    platform_stats: dict[str, Any] = field(default_factory=dict)
    # the same figures read before this run sent anything: the previous sync's, settled (Meta counts and Google
    # Ads sizes lag by hours, so the figures read right after a sync describe the audience before it)
    platform_stats_before: dict[str, Any] = field(default_factory=dict)
    ledger: str | None = None
    state: str | None = None

    @property
    def resumed(self) -> bool:
        return self.batches_skipped > 0

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["resumed"] = self.resumed
        return out
