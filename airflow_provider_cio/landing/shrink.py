"""The rerun shrink guard: a rewrite of a committed partition that finds far fewer rows does not replace it.

A rerun or backfill of an interval whose source has gone empty (an export that came back header-only, a listing
past the source's retention) would otherwise replace a good partition with a smaller one; the gate would then block,
but the good data would be gone. The limit is the dataset contract's ``rerun_max_shrink`` (the share of the committed
rows a rewrite may lose); ``allow_shrink`` is the human override for a drop that is real.
"""

from __future__ import annotations

from dataclasses import dataclass

from airflow_provider_cio.errors import CioError, ErrorClass

# A rerun of the same interval normally finds the same rows or more (late arrivals): losing a tenth is already
# unusual, losing more is far more often a broken source than real deletions.
DEFAULT_RERUN_MAX_SHRINK = 0.1


class PartitionShrink(CioError, ValueError):
    """The rewrite found fewer rows than the committed partition by more than its contract allows; nothing replaced."""

    error_class = ErrorClass.UPSTREAM_DATA


@dataclass(frozen=True)
class ShrinkPolicy:
    """``max_shrink``: share of the committed rows a rewrite may lose (0.1 = 10%); ``allow_shrink``: replace anyway."""

    max_shrink: float = DEFAULT_RERUN_MAX_SHRINK
    allow_shrink: bool = False

    def __post_init__(self) -> None:
        if not 0.0 <= self.max_shrink <= 1.0:
            raise ValueError(f"max_shrink {self.max_shrink!r}: a share between 0 and 1")

    def check(self, label: str, *, committed_rows: int, committed_generation: str, new_rows: int) -> None:
        """Raise ``PartitionShrink`` (counts only, no data) when ``new_rows`` would drop too much."""
        if self.allow_shrink or committed_rows <= 0 or new_rows >= committed_rows:
            return
        lost = committed_rows - new_rows
        if lost <= committed_rows * self.max_shrink:
            return
        raise PartitionShrink(
            f"{label}: the rewrite found {new_rows} rows, the committed partition (generation "
            f"{committed_generation}) has {committed_rows}: {lost} fewer ({100 * lost / committed_rows:.1f}% > the "
            f"{100 * self.max_shrink:.1f}% the contract's rerun_max_shrink allows). Nothing was replaced; the "
            "committed partition is intact. Upstream data: check the source for this interval; if the drop is "
            "real, rerun with allow_shrink=true (dag run conf) to replace it."
        )
