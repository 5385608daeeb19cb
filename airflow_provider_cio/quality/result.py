"""The gate's verdict: per-check results, drift findings, a small XCom summary and the on-call message.

Everything here is PII-free by construction: samples are masked or hashed before a ``CheckResult`` is built.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from airflow_provider_cio.quality.drift import DriftFinding
from airflow_provider_cio.quality.expectations import CAUSES


@dataclass
class CheckResult:
    """The verdict of one expectation, with the numbers that explain it."""

    name: str
    expectation_type: str
    column: str | None
    severity: str
    success: bool
    threshold: str
    observed: Any = None
    unexpected_count: int | None = None
    unexpected_percent: float | None = None
    element_count: int | None = None
    samples: list[str] = field(default_factory=list)
    cause: str = "data_quality"
    note: str | None = None

    @property
    def blocking(self) -> bool:
        return not self.success and self.severity == "critical"

    def describe(self) -> str:
        """One line: what was expected, what was seen, how many rows."""
        column = f" column {self.column}" if self.column else ""
        parts = [f"{self.name} [{self.expectation_type}]{column}: expected {self.threshold}"]
        if self.observed is not None:
            percent = (
                f" = {self.unexpected_percent:.3g}% unexpected" if self.unexpected_percent is not None else ""
            )
            parts.append(f"observed {self.observed}{percent}")
        if self.note:
            parts.append(self.note)
        if self.samples:
            parts.append("samples " + ", ".join(self.samples))
        return "; ".join(parts) + f" -> likely cause {self.cause}"


@dataclass
class GateResult:
    """The whole verdict for one partition; ``success`` means no critical check failed and no critical drift."""

    dataset: str
    partition: str
    contract_version: str
    engine: str
    rows: int
    checks: list[CheckResult]
    drift: list[DriftFinding]
    interval_start: str | None = None
    interval_end: str | None = None
    report_url: str | None = None
    result_url: str | None = None
    seconds: float | None = None
    # the landing generation validated (a rerun beside the gate may have committed another one since)
    generation: str | None = None

    @property
    def success(self) -> bool:
        return not self.blocking_failures and not any(f.severity == "critical" for f in self.drift)

    @property
    def blocking_failures(self) -> list[CheckResult]:
        return [check for check in self.checks if check.blocking]

    @property
    def warnings(self) -> list[CheckResult]:
        return [check for check in self.checks if not check.success and check.severity != "critical"]

    @property
    def likely_causes(self) -> list[str]:
        """Cause classes of the blocking problems, most telling first (schema, lateness, volume, identity, other)."""
        found = {check.cause for check in self.blocking_failures}
        if any(finding.severity == "critical" for finding in self.drift):
            found.add("schema_drift")
        return [cause for cause in CAUSES if cause in found]

    def verdicts(self) -> dict[str, bool]:
        """Check name -> success (what the GX-equivalence test compares)."""
        return {check.name: check.success for check in self.checks}

    def to_dict(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "partition": self.partition,
            "contract_version": self.contract_version,
            "engine": self.engine,
            "success": self.success,
            "rows": self.rows,
            "likely_causes": self.likely_causes,
            "interval_start": self.interval_start,
            "interval_end": self.interval_end,
            "report_url": self.report_url,
            "result_url": self.result_url,
            "seconds": self.seconds,
            "generation": self.generation,
            "checks": [asdict(check) for check in self.checks],
            "drift": [asdict(finding) for finding in self.drift],
        }

    def to_json(self) -> bytes:
        return json.dumps(self.to_dict(), indent=2, default=str).encode()

    def to_summary(self) -> dict[str, Any]:
        """Small, PII-free, XCom-sized: names and counts, never samples."""
        return {
            "dataset": self.dataset,
            "partition": self.partition,
            "contract_version": self.contract_version,
            "success": self.success,
            "rows": self.rows,
            "checks": len(self.checks),
            "failed_critical": [check.name for check in self.blocking_failures],
            "failed_warning": [check.name for check in self.warnings],
            "drift": [f"{finding.kind}:{finding.column}" for finding in self.drift],
            "likely_causes": self.likely_causes,
            "report_url": self.report_url,
            "result_url": self.result_url,
            "generation": self.generation,
        }

    def on_call_message(self) -> str:
        """The one-read summary for whoever is paged: what failed, by how much, why probably, where to look."""
        status = "PASSED" if self.success else "FAILED"
        lines = [
            f"Quality gate {status}: {self.dataset} {self.partition} "
            f"(contract {self.dataset} v{self.contract_version}, {self.rows:,} rows, engine {self.engine})"
        ]
        if not self.success:
            lines.append(f"Likely cause: {', '.join(self.likely_causes)} (error class: upstream_data)")
        blocking = self.blocking_failures
        critical_drift = [finding for finding in self.drift if finding.severity == "critical"]
        if blocking or critical_drift:
            lines.append(f"Blocking failures ({len(blocking) + len(critical_drift)}):")
            lines.extend(f"  - {check.describe()}" for check in blocking)
            lines.extend(f"  - schema drift: {finding.describe()}" for finding in critical_drift)
        warning_drift = [finding for finding in self.drift if finding.severity != "critical"]
        if self.warnings or warning_drift:
            lines.append(f"Warnings (non-blocking, {len(self.warnings) + len(warning_drift)}):")
            lines.extend(f"  - {check.describe()}" for check in self.warnings)
            lines.extend(f"  - schema drift: {finding.describe()}" for finding in warning_drift)
        passed = sum(1 for check in self.checks if check.success)
        lines.append(f"{passed}/{len(self.checks)} checks passed.")
        if self.report_url:
            lines.append(f"Full report: {self.report_url}")
        if self.result_url:
            lines.append(f"Result JSON: {self.result_url}")
        return "\n".join(lines)
