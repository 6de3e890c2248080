"""The report page: one self-contained HTML file (Vega, Vega-Lite and Vega-Embed inlined) and its tables."""

from __future__ import annotations

import html
import json
import math
import os
from collections.abc import Sequence
from pathlib import Path

import altair as alt
import pandas as pd
import vl_convert

from warehouse.cohort_report.charts import Figure
from warehouse.cohort_report.queries import ALL_COHORTS, MIN_FIRMS_SHOWN, ReportData

# The Vega-Lite version altair writes, in vl-convert's spelling ("5.20").
VEGA_LITE_VERSION = ".".join(alt.SCHEMA_VERSION.lstrip("v").split(".")[:2])
HIDDEN_MARK = "–"
STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1200px; color: #222; padding: 0 1rem; }
h1 { font-size: 1.6rem; } h2 { margin-top: 2.5rem; border-bottom: 1px solid #ccc; }
figure { margin: 1.5rem 0; } .chart { min-height: 60px; }
.hidden-note { font-size: 0.85rem; color: #555; } .hidden-note summary { cursor: pointer; }
table { border-collapse: collapse; font-size: 0.9rem; margin: 0.5rem 0 1rem; }
th, td { border-bottom: 1px solid #ddd; padding: 0.25rem 0.6rem; text-align: left; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.note { font-size: 0.85rem; color: #555; }
"""
# Draws every chart; data-charts-drawn on <body> counts the charts that finished rendering.
EMBED_SCRIPT = """
const specs = JSON.parse(document.getElementById("report-specs").textContent);
let drawn = 0;
for (const [name, spec] of Object.entries(specs)) {
  vegaEmbed("#chart-" + name, spec, {actions: false, renderer: "svg"})
    .then(() => { drawn += 1; document.body.dataset.chartsDrawn = String(drawn); })
    .catch((error) => console.error("chart " + name + " failed: " + error));
}
"""


def javascript_bundle(cache_dir: Path | None) -> str:
    """Vega, Vega-Lite and Vega-Embed as one script, to inline in the page.

    vl-convert takes about 2 s to bundle them, every night the same bytes for the same versions,
    so the bundle is kept in ``cache_dir`` (when given) under a name holding both versions.
    """
    if cache_dir is None:
        return vl_convert.javascript_bundle(vl_version=VEGA_LITE_VERSION)
    path = cache_dir / f"vega-bundle-vl-convert-{vl_convert.__version__}-vega-lite-{VEGA_LITE_VERSION}.js"
    if path.exists():
        return path.read_text(encoding="utf-8")
    bundle = vl_convert.javascript_bundle(vl_version=VEGA_LITE_VERSION)
    cache_dir.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    partial.write_text(bundle, encoding="utf-8")
    os.replace(partial, path)  # a reader never sees half a bundle
    return bundle


def render_page(data: ReportData, figures: Sequence[Figure], run_date: str, data_as_of: str,
                bundle_cache: Path | None = None) -> str:
    specs = {f.name: f.spec for f in figures if f.spec is not None}
    sections = {
        "Turnover and employment over event time": [f for f in figures if f.name.endswith("_index")],
        "Representativity against the county": [f for f in figures if f.name.startswith("representativity_")],
        "Export outcomes": [f for f in figures if f.name == "export_outcomes"],
    }
    body = [
        "<h1>Cohort report: export-promotion programs</h1>",
        f"<p class='note'>Run date {html.escape(run_date)}; published warehouse as of {html.escape(data_as_of)}. "
        f"Figures resting on fewer than {MIN_FIRMS_SHOWN} firms are hidden, as in official statistics; each chart "
        "lists what it hides and why. Every chart is also saved as a PNG beside this file.</p>",
    ]
    for title, section in sections.items():
        body.append(f"<h2>{html.escape(title)}</h2>")
        body.extend(_figure_html(f) for f in section)
    body.append(_key_figures_html(data.key_figures))
    body.append(_data_quality_html(data))
    return (
        "<!DOCTYPE html>\n<html lang='en'>\n<head>\n<meta charset='utf-8'>\n"
        "<title>Cohort report</title>\n"
        f"<style>{STYLE}</style>\n"
        f"<script>{javascript_bundle(bundle_cache)}</script>\n"
        "</head>\n<body data-charts-drawn='0'>\n" + "\n".join(body) + "\n"
        f"<script type='application/json' id='report-specs'>{_script_safe(json.dumps(specs))}</script>\n"
        f"<script>{EMBED_SCRIPT}</script>\n</body>\n</html>\n"
    )


def _script_safe(text: str) -> str:
    """JSON inside <script>: a '</' in a label must not close the element."""
    return text.replace("</", "<\\/")


def _figure_html(figure: Figure) -> str:
    parts = [f"<figure id='figure-{figure.name}'>", f"<h3>{html.escape(figure.heading)}</h3>"]
    if figure.spec is None:
        parts.append("<p class='note'>Every figure of this chart is hidden (see below); no chart is drawn.</p>")
    else:
        parts.append(f"<div class='chart' id='chart-{figure.name}'></div>")
        parts.append(f"<p class='note'><a href='{figure.name}.png'>{figure.name}.png</a></p>")
    if figure.hidden:
        items = "".join(f"<li>{html.escape(line)}</li>" for line in figure.hidden)
        parts.append(f"<details class='hidden-note'><summary>Hidden figures ({len(figure.hidden)})</summary>"
                     f"<ul>{items}</ul></details>")
    parts.append("</figure>")
    return "\n".join(parts)


def _number(value, decimals: int = 0) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return ""
    return f"{float(value):,.{decimals}f}".replace(",", "\u202f")


def _table(columns: Sequence[tuple[str, bool]], rows: Sequence[Sequence[str]]) -> str:
    """columns: (header, is_numeric); cells are already formatted text."""
    head = "".join(f"<th class='{'num' if numeric else ''}'>{html.escape(h)}</th>" for h, numeric in columns)
    body = "".join(
        "<tr>" + "".join(f"<td class='{'num' if numeric else ''}'>{html.escape(str(cell))}</td>"
                         for cell, (_, numeric) in zip(row, columns)) + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _shown_if(n_firms: int, value, decimals: int = 0) -> str:
    """The figure, or the hidden mark when it rests on fewer than MIN_FIRMS_SHOWN firms."""
    return _number(value, decimals) if n_firms >= MIN_FIRMS_SHOWN else HIDDEN_MARK


# The firm counts the key-figure table's figures rest on, each with the figures it shows.
_KEY_FIGURE_BASES = {
    "n_firms_with_turnover": ("turnover_sum_tkr", "turnover_mean_tkr"),
    "n_firms_with_employees": ("employees_sum", "employees_mean"),
    "n_firms_turnover_change": ("turnover_change_pct",),
    "n_firms_employment_change": ("employment_change_pct",),
}


def total_figures_to_hide(key_figures: pd.DataFrame) -> set[str]:
    """The total row's figures that would give away a hidden cohort (secondary suppression).

    The total sums the cohorts: total minus the cohorts shown is what the hidden ones hold. When
    those rest on fewer than MIN_FIRMS_SHOWN firms together (one cohort of 3 firms, say), the
    total is hidden too; when they rest on more, the difference is no smaller a group than the
    rule allows.
    """
    cohorts = key_figures[key_figures["program"] != ALL_COHORTS]
    hidden = set()
    for base, figures in _KEY_FIGURE_BASES.items():
        n = cohorts[base].fillna(0)
        in_hidden_cohorts = n[(n > 0) & (n < MIN_FIRMS_SHOWN)].sum()
        if 0 < in_hidden_cohorts < MIN_FIRMS_SHOWN:
            hidden.update(figures)
    return hidden


def _key_figures_html(key_figures: pd.DataFrame) -> str:
    """The evaluation's table (shared/reference/seed_cohort_table.csv): same rows, same columns, same order."""
    columns = [("Program", False), ("Cohort", False), ("Firms", True), ("Net turnover, sum (kSEK)", True),
               ("Net turnover, mean (kSEK)", True), ("Employees, sum", True), ("Employees, mean", True),
               ("Change in net turnover (%)", True), ("Change in employment (%)", True),
               ("Base → follow-up year", False), ("Firms in the changes (turnover / employment)", True)]
    rows = []
    total_hidden = total_figures_to_hide(key_figures)
    for r in key_figures.itertuples():
        base = "each cohort's own" if pd.isna(r.base_year) else str(int(r.base_year))

        def shown(n_firms: int, figure: str, decimals: int = 0, r=r) -> str:
            if r.program == ALL_COHORTS and figure in total_hidden:
                return HIDDEN_MARK
            return _shown_if(n_firms, getattr(r, figure), decimals)

        rows.append([
            r.program, "" if pd.isna(r.cohort_year) else str(int(r.cohort_year)), _number(r.n_firms),
            shown(r.n_firms_with_turnover, "turnover_sum_tkr"),
            shown(r.n_firms_with_turnover, "turnover_mean_tkr"),
            shown(r.n_firms_with_employees, "employees_sum"),
            shown(r.n_firms_with_employees, "employees_mean", 1),
            shown(r.n_firms_turnover_change, "turnover_change_pct", 1),
            shown(r.n_firms_employment_change, "employment_change_pct", 1),
            f"{base} → {int(r.followup_year)}",
            f"{int(r.n_firms_turnover_change)} / {int(r.n_firms_employment_change)}",
        ])
    return (
        "<h2>Economic key figures per cohort</h2>"
        "<p class='note'>In the layout of the 2020 evaluation's table. Levels are for the follow-up year; changes "
        "compare it with each cohort's base year (intake year − 1) over the firms observed in both years. "
        f"'{HIDDEN_MARK}': the figure rests on fewer than {MIN_FIRMS_SHOWN} firms and is hidden; a total is hidden "
        "too where it and the figures shown would give a hidden one away. "
        "Source: marts.rpt_cohort_summary.</p>"
        f"<div id='key-figures'>{_table(columns, rows)}</div>"
    )


def _data_quality_html(data: ReportData) -> str:
    loads = _table(
        [("Source", False), ("Last load", False), ("Last file", False), ("Its outcome", False), ("Files", True),
         ("Rows loaded", True), ("Rows quarantined", True), ("Files rejected", True)],
        [[r.source, f"{r.last_processed_at:%Y-%m-%d %H:%M %Z}", r.last_file, r.last_outcome, _number(r.files),
          _number(r.rows_loaded), _number(r.rows_quarantined), _number(r.files_rejected)]
         for r in data.last_loads.itertuples()],
    )
    quarantine = (
        _table([("Source", False), ("Rule", False), ("Column", False), ("Rows quarantined", True)],
               [[r.source, r.rule, r.column_name, _number(r.rows_quarantined)] for r in data.quarantine.itertuples()])
        if not data.quarantine.empty else "<p>No rows are in quarantine.</p>"
    )
    warnings = (
        _table([("Check", False), ("Subject", False), ("Finding", False)],
               [[r.check_name, r.subject, r.message] for r in data.warnings.itertuples()])
        if not data.warnings.empty else "<p>No warnings.</p>"
    )
    return (
        "<h2>Data quality</h2>"
        "<h3>Last load per source</h3><p class='note'>Source: audit.loads (every delivered file, all nights).</p>"
        f"<div id='last-loads'>{loads}</div>"
        "<h3>Rows in quarantine</h3><p class='note'>Source: audit.quarantine; the rows, with file, line and what to "
        "do, are in that table.</p>"
        f"<div id='quarantine'>{quarantine}</div>"
        f"<h3>Warnings ({len(data.warnings)} of {data.n_findings_checked} findings)</h3>"
        "<p class='note'>Source: marts.rpt_data_quality_warnings.</p>"
        f"<div id='warnings'>{warnings}</div>"
    )
