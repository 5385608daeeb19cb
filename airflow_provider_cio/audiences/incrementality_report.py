"""The incrementality report in Blob: ``reports/{env}/{workspace}/incrementality/{program}/dt=YYYY-MM-DD/``.

``lift.png`` (conversion rate and revenue per user per group with their intervals), ``report.html`` (self-contained:
the chart is embedded, no external assets) and ``summary.json`` written last, as the marker that the report is
complete. Counts and rates only: no customer ids, no PII.
"""

from __future__ import annotations

import base64
import html
import io
import json
import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Final

from airflow_provider_cio.audiences.incrementality import LiftResult
from airflow_provider_cio.storage.base import ObjectStore

REPORT_ROOT: Final = "reports"
_SEGMENT: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")


@dataclass(frozen=True)
class ReportPaths:
    prefix: str
    chart: str
    html: str
    summary: str


def program_prefix(env: str, workspace: str, program: str) -> str:
    """Where every report of one holdout program lives, one ``dt=`` folder per report."""
    for name, value in (("env", env), ("workspace", workspace), ("program", program)):
        if not _SEGMENT.match(value):
            raise ValueError(f"invalid {name} {value!r}: use letters, digits, '_', '-', '.'")
    return f"{REPORT_ROOT}/{env}/{workspace}/incrementality/{program}"


def report_prefix(env: str, workspace: str, program: str, dt: date) -> str:
    return f"{program_prefix(env, workspace, program)}/dt={dt.isoformat()}"


def render_chart(result: LiftResult, *, title: str) -> bytes:
    """PNG: two panels, conversion rate and revenue per user, treatment vs holdout, 95% CI on the difference."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.6), dpi=100)
    try:
        groups = ["holdout", "treatment"]
        rates = [100 * result.holdout.rate, 100 * result.treatment.rate]
        left.bar(groups, rates, color=["#9e9e9e", "#1f77b4"])
        ci = result.conversion_lift
        left.errorbar(
            ["treatment"],
            [rates[0] + 100 * ci.estimate],
            yerr=[[100 * (ci.estimate - ci.low)], [100 * (ci.high - ci.estimate)]],
            fmt="none",
            ecolor="black",
            capsize=6,
        )
        left.set_title(
            f"Conversion rate (%)\nlift {100 * ci.estimate:+.2f} pp, p={result.conversion_p_value:.3g}"
        )
        revenue = [result.holdout.revenue_mean, result.treatment.revenue_mean]
        right.bar(groups, revenue, color=["#9e9e9e", "#2ca02c"])
        rl = result.revenue_lift
        right.errorbar(
            ["treatment"],
            [revenue[0] + rl.estimate],
            yerr=[[rl.estimate - rl.low], [rl.high - rl.estimate]],
            fmt="none",
            ecolor="black",
            capsize=6,
        )
        right.set_title(f"Revenue per user\nlift {rl.estimate:+.2f}, p={result.revenue_p_value:.3g}")
        fig.suptitle(title)
        fig.tight_layout()
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png")
        return buffer.getvalue()
    finally:
        plt.close(fig)


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:+.2f}%"


def render_html(
    result: LiftResult, *, program: str, window: tuple[datetime, datetime], chart_png: bytes
) -> str:
    """A self-contained page (inline CSS, chart as a data URI)."""
    t, h = result.treatment, result.holdout
    c, r = result.conversion_lift, result.revenue_lift
    level = f"{100 * result.confidence:.0f}%"
    rows = [
        ("Users", f"{t.users:,}", f"{h.users:,}"),
        ("Converters", f"{t.conversions:,}", f"{h.conversions:,}"),
        ("Conversion rate", f"{100 * t.rate:.3f}%", f"{100 * h.rate:.3f}%"),
        ("Revenue per user", f"{t.revenue_mean:.2f}", f"{h.revenue_mean:.2f}"),
    ]
    table = "".join(f"<tr><th>{html.escape(a)}</th><td>{b}</td><td>{c_}</td></tr>" for a, b, c_ in rows)
    image = base64.b64encode(chart_png).decode()
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Incrementality: {html.escape(program)}</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:60em}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:.3em .8em;text-align:right}}th{{text-align:left}}</style></head><body>
<h1>Incrementality: {html.escape(program)}</h1>
<p>Window {html.escape(window[0].isoformat())} to {html.escape(window[1].isoformat())} (end exclusive).
Treatment = eligible and not held out; holdout = eligible and held out (intent to treat).</p>
<table><tr><th></th><th>Treatment</th><th>Holdout</th></tr>{table}</table>
<h2>Conversion</h2>
<p>Absolute lift {100 * c.estimate:+.3f} pp ({level} CI {100 * c.low:+.3f} to {100 * c.high:+.3f} pp),
relative lift {_pct(result.conversion_relative_lift)}; two-proportion z = {result.conversion_z:.3f},
p = {result.conversion_p_value:.4g}.</p>
<h2>Revenue per user</h2>
<p>Lift {r.estimate:+.3f} ({level} CI {r.low:+.3f} to {r.high:+.3f}), relative {_pct(result.revenue_relative_lift)};
Welch t = {result.revenue_t:.3f}, df = {result.revenue_df:.1f}, p = {result.revenue_p_value:.4g}
({html.escape(result.t_distribution)}).</p>
<img alt="conversion and revenue per user, treatment vs holdout" src="data:image/png;base64,{image}">
</body></html>
"""


def write_incrementality_report(
    store: ObjectStore,
    result: LiftResult,
    *,
    env: str,
    workspace: str,
    program: str,
    dt: date,
    window: tuple[datetime, datetime],
) -> ReportPaths:
    """Write chart, HTML, then summary.json (last); a rerun for the same ``dt`` overwrites the same paths."""
    prefix = report_prefix(env, workspace, program, dt)
    paths = ReportPaths(prefix, f"{prefix}/lift.png", f"{prefix}/report.html", f"{prefix}/summary.json")
    chart = render_chart(result, title=f"{program}: treatment vs holdout")
    store.write_bytes(paths.chart, chart)
    page = render_html(result, program=program, window=window, chart_png=chart)
    store.write_bytes(paths.html, page.encode())
    summary = {
        "program": program,
        "window": [window[0].isoformat(), window[1].isoformat()],
        **result.to_dict(),
    }
    store.write_bytes(paths.summary, json.dumps(summary, indent=2, sort_keys=True).encode())
    return paths
