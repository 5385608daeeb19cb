"""A readable, self-contained HTML report of a ``GateResult`` (inline CSS, no scripts, no CDN assets)."""

from __future__ import annotations

from html import escape

from airflow_provider_cio.quality.result import CheckResult, GateResult

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem;color:#1d2330}
h1{font-size:1.4rem;margin:0 0 .3rem}.meta{color:#5a6472;margin-bottom:1.2rem}
.badge{display:inline-block;padding:.15rem .6rem;border-radius:.8rem;font-weight:600;color:#fff}
.pass{background:#1f883d}.fail{background:#cf222e}.warn{background:#bf8700}
table{border-collapse:collapse;width:100%;font-size:.9rem;margin-bottom:1.5rem}
th,td{border-bottom:1px solid #d8dee4;padding:.35rem .5rem;text-align:left;vertical-align:top}
th{background:#f6f8fa}tr.failed td{background:#fff1f0}tr.warned td{background:#fff8e1}
code{font-size:.85rem}
"""


def _status(check: CheckResult) -> tuple[str, str]:
    if check.success:
        return "pass", ""
    return ("fail", "failed") if check.severity == "critical" else ("warn", "warned")


def _cell(value: object) -> str:
    return "" if value is None else escape(str(value))


def render_html(result: GateResult) -> str:
    """The report page; every value is HTML-escaped and samples are already masked."""
    verdict = "PASSED" if result.success else "FAILED"
    rows = []
    for check in result.checks:
        badge, row_class = _status(check)
        percent = f"{check.unexpected_percent:.4g}%" if check.unexpected_percent is not None else ""
        rows.append(
            f'<tr class="{row_class}"><td><span class="badge {badge}">{badge}</span></td>'
            f"<td>{_cell(check.name)}<br><code>{_cell(check.expectation_type)}</code></td>"
            f"<td>{_cell(check.column)}</td><td>{_cell(check.severity)}</td><td>{_cell(check.threshold)}</td>"
            f"<td>{_cell(check.observed)}</td><td>{_cell(check.unexpected_count)}</td><td>{percent}</td>"
            f"<td>{_cell(', '.join(check.samples))}</td><td>{_cell(check.cause if not check.success else '')}</td>"
            f"<td>{_cell(check.note)}</td></tr>"
        )
    drift_rows = "".join(
        f'<tr class="{"failed" if finding.severity == "critical" else "warned"}"><td>{_cell(finding.severity)}</td>'
        f"<td>{_cell(finding.describe())}</td></tr>"
        for finding in result.drift
    )
    drift_table = (
        f"<h2>Schema drift</h2><table><tr><th>Severity</th><th>Finding</th></tr>{drift_rows}</table>"
        if drift_rows
        else "<h2>Schema drift</h2><p>None: the columns match the contract.</p>"
    )
    causes = ", ".join(result.likely_causes) or "none"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Quality gate {escape(result.dataset)} {escape(result.partition)}</title>
<style>{_CSS}</style></head><body>
<h1>Quality gate: {escape(result.dataset)} {escape(result.partition)}
<span class="badge {"pass" if result.success else "fail"}">{verdict}</span></h1>
<div class="meta">Contract {escape(result.dataset)} v{escape(result.contract_version)} &middot; {result.rows:,} rows
&middot; interval {_cell(result.interval_start)} &rarr; {_cell(result.interval_end)} &middot; engine {escape(result.engine)}
&middot; likely cause: {escape(causes)}</div>
<h2>On-call summary</h2><pre>{escape(result.on_call_message())}</pre>
<h2>Checks</h2>
<table><tr><th>Status</th><th>Check</th><th>Column</th><th>Severity</th><th>Expected</th><th>Observed</th>
<th>Unexpected</th><th>%</th><th>Samples (masked)</th><th>Likely cause</th><th>Note</th></tr>
{"".join(rows)}</table>
{drift_table}
</body></html>
"""
