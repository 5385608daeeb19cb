"""The trend report of one audience: a PNG chart and a self-contained HTML page (the chart inlined, no CDN).

Per platform: the match rate (the platform's reported range as a band, its middle as a line) and reach (the
platform's size estimate) beside the snapshot size, one point per synced run; a table of the last runs below.
"""

from __future__ import annotations

import base64
import html
import io
import json
from collections.abc import Sequence
from datetime import timedelta

from airflow_provider_cio.reporting.history import HistoryRow

TABLE_ROWS = 30


def trend_png(rows: Sequence[HistoryRow], *, audience: str) -> bytes:
    """Two panels (match rate %, sizes) with one series per platform."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    synced = [row for row in rows if row.status == "synced"]
    platforms = sorted({row.platform for row in synced})
    fig, (rate_ax, size_ax) = plt.subplots(2, 1, figsize=(9, 6), sharex=True, constrained_layout=True)
    for index, platform in enumerate(platforms):
        color = f"C{index}"  # one colour per platform in both panels
        series = [row for row in synced if row.platform == platform]
        rated = [row for row in series if row.match_rate is not None]
        if rated:
            days = [row.dt for row in rated]
            rate_ax.fill_between(
                days,
                [r.match_rate_low or 0 for r in rated],
                [r.match_rate_high or 0 for r in rated],
                alpha=0.2,
            )
            rate_ax.plot(
                days, [r.match_rate for r in rated], marker="o", color=color, label=f"{platform} match rate"
            )
        reached = [row for row in series if row.reach is not None]
        if reached:
            size_ax.plot(
                [r.dt for r in reached],
                [r.reach for r in reached],
                marker="o",
                color=color,
                label=f"{platform} reach",
            )
        sized = [row for row in series if row.snapshot_size is not None]
        if sized:
            size_ax.plot(
                [r.dt for r in sized],
                [r.snapshot_size for r in sized],
                linestyle="--",
                marker=".",
                color=color,
                label=f"{platform} snapshot",
            )
    days = sorted({row.dt for row in synced})
    if days and days[0] == days[-1]:  # one period: a week around it, not matplotlib's years-wide default
        rate_ax.set_xlim(days[0] - timedelta(days=3), days[0] + timedelta(days=3))
    rate_ax.set_ylim(0, 100)
    rate_ax.set_ylabel("match rate (%)")
    rate_ax.set_title(f"{audience}: match rate and reach per sync")
    size_ax.set_ylabel("members")
    size_ax.set_xlabel("period covered")
    for ax in (rate_ax, size_ax):
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(loc="lower left", fontsize="small")
    fig.autofmt_xdate()
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=100)
    plt.close(fig)
    return out.getvalue()


def _cell(value: object) -> str:
    return "" if value is None else html.escape(str(value))


def trend_html(rows: Sequence[HistoryRow], *, audience: str, png: bytes, alerts: Sequence[str] = ()) -> str:
    """The page: alerts first, the chart, then the last runs (counts, ranges, statuses; no member data)."""
    image = base64.b64encode(png).decode()
    lines = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>{html.escape(audience)}: match rate and reach</title>",
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;font-size:13px}"
        "td,th{border:1px solid #ccc;padding:3px 6px;text-align:right}.alert{color:#a00;white-space:pre-wrap}"
        "</style></head><body>",
        f"<h1>{html.escape(audience)}: match rate and reach</h1>",
    ]
    lines += [f"<p class='alert'>{html.escape(text)}</p>" for text in alerts]
    lines.append(f"<img alt='trend' src='data:image/png;base64,{image}'>")
    heads = (
        "period",
        "platform",
        "status",
        "planned",
        "sent",
        "accepted",
        "rejected",
        "rejected by reason",
        "match rate %",
        "reach",
        "snapshot",
        "request statuses",
    )
    lines.append("<table><tr>" + "".join(f"<th>{h}</th>" for h in heads) + "</tr>")
    for row in list(rows)[-TABLE_ROWS:][::-1]:
        rate = (
            f"{row.match_rate_low:g}-{row.match_rate_high:g}"
            if row.match_rate_low is not None and row.match_rate_high is not None
            else None
        )
        reasons = ", ".join(f"{k}: {v}" for k, v in json.loads(row.rejected_by_reason or "{}").items())
        statuses = ", ".join(f"{k}: {v}" for k, v in json.loads(row.request_statuses or "{}").items())
        cells = (
            row.dt,
            row.platform,
            row.status,
            row.rows_planned,
            row.rows_sent,
            row.rows_accepted,
            row.rows_rejected,
            reasons,
            rate,
            row.reach,
            row.snapshot_size,
            statuses,
        )
        lines.append("<tr>" + "".join(f"<td>{_cell(c)}</td>" for c in cells) + "</tr>")
    lines.append("</table></body></html>")
    return "\n".join(lines)
