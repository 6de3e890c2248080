"""What a finished nightly run prints: per-source accounting, rejections, the cohort summary."""

from pathlib import Path

import duckdb

from ingest.load import OUTCOME_REJECTED

SUMMARY_COLUMNS = (
    "program, cohort_year, base_year, followup_year, n_firms, turnover_sum_tkr, turnover_mean_tkr, "
    "employees_sum, employees_mean, turnover_change_pct, employment_change_pct, n_firms_turnover_change"
)


def print_summary(result, warehouse: Path) -> bool:
    """Print the run's summary; return True when any delivered file was rejected whole."""
    published = warehouse / "followup.duckdb"
    with duckdb.connect(str(published), read_only=True) as con:
        loads = con.execute(
            "SELECT source, count(*) AS files, sum(rows_read) AS rows_read, sum(rows_loaded) AS rows_loaded, "
            "sum(rows_quarantined) AS rows_quarantined, count(*) FILTER (outcome = ?) AS files_rejected "
            "FROM audit.loads GROUP BY source ORDER BY source",
            [OUTCOME_REJECTED],
        ).df()
        rejected = con.execute(
            "SELECT path, message FROM audit.loads WHERE outcome = ? ORDER BY path", [OUTCOME_REJECTED]
        ).fetchall()
        summary = con.execute(f"SELECT {SUMMARY_COLUMNS} FROM marts.rpt_cohort_summary").df()
    print(f"Nightly run {result.run_id} succeeded.\n\nDeliveries:")
    print(loads.to_string(index=False))
    for path, message in rejected:
        print(f"REJECTED {path}: {message}")
    print("\nCohort summary (marts.rpt_cohort_summary):")
    print(summary.to_string(index=False))
    print(f"\nPublished: {published.resolve()}")
    if rejected:
        print(f"Completed with rejections: {len(rejected)} file(s) were not loaded; see above.")
    return bool(rejected)
