"""The cohort report: one self-contained HTML page, and every chart as a PNG beside it.

Reads only the published warehouse, opened read-only; the page carries pseudonymous
aggregates only, never an organisation number.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import vl_convert

from warehouse.cohort_report.charts import (
    DIMENSIONS,
    OUTCOMES,
    Figure,
    export_outcomes_figure,
    indexed_outcome_figure,
    representativity_figure,
)
from warehouse.cohort_report.page import VEGA_LITE_VERSION, render_page
from warehouse.cohort_report.queries import read_report_data

from warehouse.outputs import REPORT_PAGE as REPORT_NAME
from warehouse.staged_files import staged_files

PNG_SCALE = 2  # sharp enough to paste into a printed evaluation report


@dataclass(frozen=True)
class ReportFiles:
    page: Path
    charts: list[Path]


def write_cohort_report(published: Path, out_dir: Path, run_date: str, bundle_cache: Path | None = None) -> ReportFiles:
    """Write cohort_report.html and one PNG per chart into ``out_dir`` from the published file.

    ``bundle_cache``: a folder that keeps the page's JavaScript bundle between nights.
    """
    data = read_report_data(published)
    figures: list[Figure] = [indexed_outcome_figure(data.indexed_outcomes, o) for o in OUTCOMES]
    figures += [representativity_figure(data.representativity, d, data.base_years) for d in DIMENSIONS]
    figures.append(export_outcomes_figure(data.export_outcomes))
    data_as_of = datetime.fromtimestamp(published.stat().st_mtime, ZoneInfo("Europe/Stockholm"))

    out_dir.mkdir(parents=True, exist_ok=True)
    charts = []
    # The page goes into place last: the next night looks for it to know the report is complete.
    with staged_files() as staged:
        for figure in figures:
            path = out_dir / f"{figure.name}.png"
            if figure.spec is not None:
                png = vl_convert.vegalite_to_png(figure.spec, vl_version=VEGA_LITE_VERSION, scale=PNG_SCALE)
                staged.path(path).write_bytes(png)
                charts.append(path)
            else:  # hidden tonight: an earlier report's chart in the same folder must not stand beside this one
                path.unlink(missing_ok=True)
        page = out_dir / REPORT_NAME
        staged.path(page).write_text(
            render_page(data, figures, run_date, f"{data_as_of:%Y-%m-%d %H:%M}", bundle_cache), encoding="utf-8")
    return ReportFiles(page, charts)
