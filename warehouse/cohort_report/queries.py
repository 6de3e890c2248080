"""What the cohort report shows, read from the published warehouse (opened read-only).

Every query returns a small table: one row per cohort, category or source. The heavy work
happened in the marts; figures the marts hide (fewer than 5 firms) arrive here as nulls
with their reason, and stay hidden.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

ALL_COHORTS = "Samtliga insatser"
ALL_PROGRAMS = "Samtliga program"
# The marts' dbt var min_firms_shown: the report applies the same rule to the key-figure table.
MIN_FIRMS_SHOWN = 5


@dataclass(frozen=True)
class ReportData:
    indexed_outcomes: pd.DataFrame
    representativity: pd.DataFrame
    base_years: tuple[int, int] | None  # the cohorts' first and last base year; None without cohorts
    export_outcomes: pd.DataFrame
    key_figures: pd.DataFrame
    last_loads: pd.DataFrame
    quarantine: pd.DataFrame
    warnings: pd.DataFrame
    n_findings_checked: int


INDEXED_OUTCOMES = f"""
SELECT cohort_key, program, cohort_year, is_all_cohorts, outcome, comparison_group, event_time,
       first_fiscal_year, last_fiscal_year, index_value, ci_low, ci_high, n_firms, n_treated_matched,
       is_suppressed, suppression_reason
FROM marts.rpt_cohort_indexed_outcomes
ORDER BY cohort_key <> '{ALL_COHORTS}', program, cohort_year, outcome, comparison_group, event_time
"""

# A warehouse covering several counties compares each county's participants with their own
# county: outside the municipality chart, each bar then names its county.
REPRESENTATIVITY = """
SELECT r.dimension, r.category, r.county_code,
       CASE r.dimension
           WHEN 'kommun' THEN coalesce(r.municipality_name, r.category)
           WHEN 'sni_avdelning' THEN r.category || ' ' || coalesce(s.section_name, '')
           ELSE r.category
       END || CASE WHEN r.dimension <> 'kommun' AND count(DISTINCT r.county_code) OVER () > 1
                   THEN ' (' || r.county_name || ')' ELSE '' END AS label,
       r.n_participants, r.n_participants_with_category, r.participant_share_pct, r.county_share_pct,
       r.difference_pp, r.is_suppressed, r.suppression_reason
FROM marts.rpt_representativity AS r
LEFT JOIN reference.sni2007_sections AS s ON r.dimension = 'sni_avdelning' AND r.category = s.sni_section
WHERE r.program = ?
ORDER BY r.dimension, r.county_code, r.category
"""

# Where each cohort stands now: its latest follow-up year against its base year.
EXPORT_OUTCOMES = """
SELECT program, cohort_year, base_year, followup_year, leader_gender, n_firms,
       n_with_export_data, share_increased_export_pct,
       n_with_market_data, share_with_new_market_pct,
       n_with_base_market_data, share_growing_on_existing_market_pct,
       is_suppressed, suppression_reason
FROM marts.rpt_export_outcomes
WHERE leader_gender IN ('kvinna', 'man', 'totalt')
QUALIFY followup_year = max(followup_year) OVER (PARTITION BY program, cohort_year)
ORDER BY program, cohort_year, leader_gender
"""

KEY_FIGURES = f"""
SELECT program, cohort_year, base_year, followup_year, n_firms,
       n_firms_with_turnover, turnover_sum_tkr, turnover_mean_tkr,
       n_firms_with_employees, employees_sum, employees_mean,
       n_firms_turnover_change, turnover_change_pct, n_firms_employment_change, employment_change_pct
FROM marts.rpt_cohort_summary
ORDER BY program <> '{ALL_COHORTS}', program, cohort_year
"""

# The file name only: the landing folder's location says nothing to a reader of the report.
LAST_LOADS = """
SELECT source,
       max(processed_at) AS last_processed_at,
       arg_max(regexp_extract(path, '[^/\\\\]+$'), processed_at) AS last_file,
       arg_max(outcome, processed_at) AS last_outcome,
       count(*) AS files,
       sum(rows_loaded) AS rows_loaded,
       sum(rows_quarantined) AS rows_quarantined,
       count(*) FILTER (WHERE outcome = 'rejected') AS files_rejected
FROM audit.loads
GROUP BY source
ORDER BY source
"""

# Counts only: the quarantined values themselves stay in audit.quarantine.
QUARANTINE = """
SELECT source, rule, column_name, count(*) AS rows_quarantined
FROM audit.quarantine
GROUP BY ALL
ORDER BY source, rows_quarantined DESC, rule, column_name
"""

WARNINGS = """
SELECT check_name, subject, message
FROM marts.rpt_data_quality_warnings
WHERE is_warning
ORDER BY check_name, subject
"""


def read_report_data(published: Path) -> ReportData:
    with duckdb.connect(str(published), read_only=True) as con:
        first_base, last_base = con.execute("SELECT min(base_year), max(base_year) FROM marts.dim_cohort").fetchone()
        return ReportData(
            indexed_outcomes=con.execute(INDEXED_OUTCOMES).df(),
            representativity=con.execute(REPRESENTATIVITY, [ALL_PROGRAMS]).df(),
            base_years=None if first_base is None else (int(first_base), int(last_base)),
            export_outcomes=con.execute(EXPORT_OUTCOMES).df(),
            key_figures=con.execute(KEY_FIGURES).df(),
            last_loads=con.execute(LAST_LOADS).df(),
            quarantine=con.execute(QUARANTINE).df(),
            warnings=con.execute(WARNINGS).df(),
            n_findings_checked=con.execute("SELECT count(*) FROM marts.rpt_data_quality_warnings").fetchone()[0],
        )
