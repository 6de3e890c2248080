"""Where a night writes its outputs for people, under the warehouse folder, by run date.

A publication counts as done only when these exist: a night that published and then failed
to write its extract or report leaves the next night something to build.
"""

from __future__ import annotations

from pathlib import Path

EXTRACT_WORKBOOK = "tillvaxtverket_indikatorer.xlsx"
REPORT_PAGE = "cohort_report.html"


def extract_dir(warehouse_dir: Path, date: str) -> Path:
    return warehouse_dir / "extracts" / date


def report_dir(warehouse_dir: Path, date: str) -> Path:
    return warehouse_dir / "report" / date


def night_outputs(warehouse_dir: Path, date: str) -> list[Path]:
    """The files the night of ``date`` writes from its publication: the extract and the report."""
    return [extract_dir(warehouse_dir, date) / EXTRACT_WORKBOOK, report_dir(warehouse_dir, date) / REPORT_PAGE]
