"""Where a night writes its outputs for people, under the warehouse folder, by run date.

A publication counts as done only when these exist and were written after it: a night that
published and then failed to write its extract or report leaves the next night something to
build, also when an earlier run of the same date left files of those names.
"""

from __future__ import annotations

from pathlib import Path

EXTRACT_WORKBOOK = "tillvaxtverket_indikatorer.xlsx"
PARTICIPANT_LIST = "deltagarforteckning.xlsx"  # with organisation numbers: under restricted/
REPORT_PAGE = "cohort_report.html"


def extract_dir(warehouse_dir: Path, date: str) -> Path:
    return warehouse_dir / "extracts" / date


def restricted_extract_dir(warehouse_dir: Path, date: str) -> Path:
    return warehouse_dir / "restricted" / "extracts" / date


def report_dir(warehouse_dir: Path, date: str) -> Path:
    return warehouse_dir / "report" / date


def night_outputs(warehouse_dir: Path, date: str) -> list[Path]:
    """The files the night of ``date`` writes from its publication: the extract's two workbooks and
    the report's page, each renamed into place after the rest of its files (``staged_files``)."""
    return [extract_dir(warehouse_dir, date) / EXTRACT_WORKBOOK,
            restricted_extract_dir(warehouse_dir, date) / PARTICIPANT_LIST,
            report_dir(warehouse_dir, date) / REPORT_PAGE]
