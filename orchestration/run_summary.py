"""What a finished nightly run prints: this night's deliveries, rejections, warnings, the cohort summary."""

from collections.abc import Sequence
from pathlib import Path

import duckdb

from ingest.contracts import SOURCES
from ingest.load import OUTCOME_REJECTED, OUTCOME_STILL_ARRIVING
from warehouse.publish import identifiers_file, published_file
from warehouse.cohort_report import REPORT_NAME

SUMMARY_COLUMNS = (
    "program, cohort_year, base_year, followup_year, n_firms, turnover_sum_tkr, turnover_mean_tkr, "
    "employees_sum, employees_mean, turnover_change_pct, employment_change_pct, n_firms_turnover_change"
)
MAX_WARNINGS_SHOWN = 20


def print_summary(run_id: str, warehouse: Path, report_page: Path | None,
                  not_read: Sequence[tuple[str, str, str]] = ()) -> bool:
    """Print the run's summary; return True when a delivered file needs someone's attention: one
    rejected whole this night, or one that could not be read or lies where no source reads.

    ``report_page`` is the report this run wrote; None on a night that found no new delivery
    and no new code, and so published nothing: the files named are those of the last night that did.
    ``not_read`` are the files in the landing folder not read tonight, as (path, outcome, reason);
    one still arriving needs no one, it is read once it stands still.
    """
    rebuilt = report_page is not None
    published = published_file(warehouse)
    with duckdb.connect(str(published), read_only=True) as con:
        loads = con.execute(
            "SELECT source, count(*) AS new_files, sum(rows_read) AS rows_read, sum(rows_loaded) AS rows_loaded, "
            "sum(rows_quarantined) AS rows_quarantined, count(*) FILTER (outcome = ?) AS files_rejected "
            "FROM audit.loads WHERE load_id = ? GROUP BY source ORDER BY source",
            [OUTCOME_REJECTED, run_id],
        ).df()
        rejected = con.execute(
            "SELECT path, message FROM audit.loads WHERE outcome = ? AND load_id = ? ORDER BY path",
            [OUTCOME_REJECTED, run_id],
        ).fetchall()
        noted = con.execute(
            "SELECT path, message FROM audit.loads WHERE outcome <> ? AND load_id = ? AND coalesce(message, '') <> '' "
            "ORDER BY path", [OUTCOME_REJECTED, run_id],
        ).fetchall()
        sources_with_rows = {s for (s,) in con.execute(
            "SELECT source FROM audit.loads GROUP BY source HAVING sum(rows_loaded) > 0").fetchall()}
        warnings = con.execute(
            "SELECT message FROM marts.rpt_data_quality_warnings WHERE is_warning ORDER BY check_name, subject"
        ).fetchall()
        summary = con.execute(f"SELECT {SUMMARY_COLUMNS} FROM marts.rpt_cohort_summary").df()
    print(f"Nightly run {run_id} succeeded.\n")
    if not rebuilt:
        print("Nothing new tonight (no new delivery, no new code): nothing was rebuilt or republished.")
    elif loads.empty:
        print("No new deliveries tonight; the warehouse was rebuilt from what was already loaded.")
    else:
        print("New deliveries tonight:")
        print(loads.to_string(index=False))
    for path, message in noted:
        print(f"NOTE {path}: {message}")
    for path, message in rejected:
        # A rejection's message names the file (and the line) itself.
        print(f"REJECTED {message}" if message.startswith(path) else f"REJECTED {path}: {message}")
    for path, outcome, reason in not_read:
        print(f"{'STILL ARRIVING' if outcome == OUTCOME_STILL_ARRIVING else 'NOT READ'} {path}: {reason}")
    for source in SOURCES.values():
        if source.name not in sources_with_rows:
            print(f"NO DATA from {source.name}: no file in landing/{source.name}/ has loaded yet, "
                  f"so {source.feeds} stay empty.")
    if warnings:
        print(f"\nData-quality warnings ({len(warnings)}; all in marts.rpt_data_quality_warnings):")
        for (message,) in warnings[:MAX_WARNINGS_SHOWN]:
            print(f"  - {message}")
        if len(warnings) > MAX_WARNINGS_SHOWN:
            print(f"  ... and {len(warnings) - MAX_WARNINGS_SHOWN} more")
    print("\nCohort summary (marts.rpt_cohort_summary):")
    print(summary.to_string(index=False))
    print(f"\nPublished: {published.resolve()}")
    print(f"Identifiers (restricted): {identifiers_file(warehouse).resolve()}")
    print(f"Extracts: {(warehouse / 'extracts').resolve()} (participant lists under restricted/extracts/)")
    if report_page is None:
        earlier = sorted((warehouse / "report").glob(f"*/{REPORT_NAME}"))
        report_page = earlier[-1] if earlier else None
    if report_page is not None:
        print(f"Cohort report: {report_page.resolve()} (charts as PNG beside it)")
    if rejected:
        print(f"\nCompleted with rejections: {len(rejected)} file(s) were not loaded (copies and reasons in landing/rejected/<source>/).")
    waiting = [path for path, outcome, _ in not_read if outcome != OUTCOME_STILL_ARRIVING]
    if waiting:
        print(f"\n{len(waiting)} file(s) or folder(s) in the landing folder were not read (NOT READ above says why).")
    return bool(rejected or waiting)
