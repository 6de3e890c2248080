"""Staggered-adoption effects across all cohorts: Callaway & Sant'Anna, as R's did computes it.

``marts.rpt_cohort_effects`` matches every cohort on its own. This module estimates the
group-time effects ATT(g, t) of Callaway and Sant'Anna (2021), in the closed form of
``warehouse.did_estimator`` (R's ``did`` without covariates, held to R and to moderndid by the
tests), for every program and for all programs together, plus their
event-study aggregate. Three pieces, each testable alone:

- ``panel_query``: the firm-year panel of one scope, reduced in DuckDB to the columns, years and
  firms the estimator needs (set-based, so 1.2 million firms never reach Python whole);
- ``estimate``: the estimator on that panel, for one outcome, returning tidy rows;
- ``suppress``: hides figures resting on fewer than ``MIN_FIRMS_SHOWN`` treated firms.

Design (the choices an analyst needs to read the table):

- **Group** g: the firm's first intake year in the scope (a program, or any program). Its base
  year is g - 1 and event time e = year - g, as domain.md §5 defines them; the base year is
  ``universal`` (every e is measured against g - 1), as in rpt_cohort_effects.
- **Controls**: firms that never took part in any program. Firms that took part only in other
  programs belong to neither side of a program's estimate.
- **Outcomes**: log net turnover and log(1 + employees), the first two outcomes of
  rpt_cohort_effects in the same units (log points), so the two can be cross-checked.
- **Balanced panel**: the panel estimator needs every firm in every year of the scope's window
  (first group - 3 to last group + 5, within the data) with a positive turnover and a known
  head count, so firms with gaps are left out and counted. (R's unbalanced mode treats the data
  as repeated cross-sections, a different estimator.)
- **Common support and cap**: controls are drawn only from the coarsened-exact-matching strata
  that participants of the scope occupy in their base year (the strata of
  int_cohort_effects__participant_changes), and at most ``MAX_CONTROLS`` of them, the ones with the
  smallest md5 of their firm key: a deterministic random sample, so the same night gives the
  same figures, and memory stays bounded (the estimator's influence functions are
  firms x group-time cells).
- **Standard errors**: analytic, from the influence functions (no bootstrap draw, so nothing
  random); 95 % intervals are pointwise, estimate +- 1.96 standard errors.
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import NormalDist

import duckdb
import numpy as np
import pandas as pd

from ingest.typing import sql_literal
from warehouse import did_estimator

ALL_PROGRAMS = "Samtliga insatser"
OUTCOMES = {"turnover": "ln(firm_years.net_turnover_tkr)", "employees": "ln(1 + firm_years.employees)"}
FIRST_EVENT_TIME, LAST_EVENT_TIME = -3, 5
# The smallest never-treated group R's did and moderndid accept (5 without covariates): fewer
# controls give no usable comparison, so the scope is not estimated.
MIN_CONTROLS = 5
MAX_CONTROLS = 20_000
MIN_FIRMS_SHOWN = 5
Z_95 = NormalDist().inv_cdf(0.975)

GROUP_TIME = "group-time"
EVENT_STUDY = "event study"
EVENT_STUDY_AVERAGE = "event study average"

RESULT_COLUMNS = [
    "program", "estimate_type", "outcome", "cohort_year", "fiscal_year", "event_time",
    "effect", "standard_error", "n_treated", "n_controls",
]


@dataclass(frozen=True)
class ScopePanel:
    """The panel of one scope and the counts behind it."""

    program: str
    frame: pd.DataFrame  # firm_id, firm_key, fiscal_year, first_intake_year (0 = never), one column per outcome
    first_fiscal_year: int
    last_fiscal_year: int
    n_controls_available: int


# Per firm, its complete years: those with a positive turnover and a head count, with both
# figures. A temporary table of the connection, built by one pass over fct_firm_year and shared
# by every scope's panel query, which then never reads the 13 million firm-years again: a
# balanced firm's panel rows are exactly its complete years inside the window.
COMPLETE_YEARS = "staggered_complete_years"


def prepare_complete_years(con: duckdb.DuckDBPyConnection) -> None:
    """(Re)build ``COMPLETE_YEARS`` from the connection's current fct_firm_year."""
    con.execute(f"""
        create or replace temp table {COMPLETE_YEARS} as
        select
            firm_key,
            list({{'fiscal_year': fiscal_year, 'net_turnover_tkr': net_turnover_tkr, 'employees': employees}})
                as complete_years
        from marts.fct_firm_year
        where net_turnover_tkr > 0 and employees is not null
        group by firm_key
    """)


def panel_query(max_controls: int = MAX_CONTROLS) -> str:
    """SQL for the balanced panel of one scope; parameter 1 is the program, NULL for all programs.

    Returns one row per firm and fiscal year of the window with the firm's group (0 for
    never-treated), the outcomes, and per row the window and the number of eligible controls
    before the cap (constant columns, so one query says everything). Reads the connection's
    ``COMPLETE_YEARS`` table (``prepare_complete_years``).
    """
    outcome_columns = ",\n        ".join(f"{sql} as {name}" for name, sql in OUTCOMES.items())
    complete_years_in_window = (
        "list_filter(complete.complete_years, firm_year -> "
        "firm_year.fiscal_year between window_years.first_year and window_years.last_year)"
    )
    return f"""
with scope as (select cast(? as varchar) as program),

first_intakes as (
    select memberships.firm_key, min(memberships.cohort_year) as first_intake_year
    from marts.fct_cohort_membership as memberships, scope
    where scope.program is null or memberships.program = scope.program
    group by memberships.firm_key
),

data_years as (select min(fiscal_year) as first_year, max(fiscal_year) as last_year from marts.fct_firm_year),

window_years as (
    select
        greatest(min(first_intake_year) + {FIRST_EVENT_TIME}, any_value(data_years.first_year)) as first_year,
        least(max(first_intake_year) + {LAST_EVENT_TIME}, any_value(data_years.last_year)) as last_year
    from first_intakes, data_years
),

occupied_strata as (
    -- The matching strata (base year, stratum) in which the scope has participants.
    select distinct changes.base_year, changes.stratum
    from intermediate.int_cohort_effects__participant_changes as changes, scope
    where scope.program is null or changes.program = scope.program
),

supported_controls as (
    select distinct strata.firm_key
    from intermediate.int_cohort_effects__base_year_strata as strata
    inner join occupied_strata
        on strata.base_year = occupied_strata.base_year and strata.stratum = occupied_strata.stratum
    where not strata.is_participant
),

candidates as (
    select firm_key, first_intake_year from first_intakes
    union all
    select firm_key, 0 as first_intake_year from supported_controls
),

balanced as (
    -- Firms with a positive turnover and a head count in every year of the window.
    select candidates.firm_key, candidates.first_intake_year
    from candidates
    inner join {COMPLETE_YEARS} as complete on candidates.firm_key = complete.firm_key
    cross join window_years
    -- Counting suffices: a firm-year is unique in fct_firm_year (a dbt test says so).
    where
        len({complete_years_in_window})
        = window_years.last_year - window_years.first_year + 1
),

controls_available as (
    -- An aggregate, not count(*) over (): that window took minutes at national scale.
    select count(*) filter (where first_intake_year = 0) as n_controls_available from balanced
),

ranked as (
    select
        *,
        row_number() over (partition by first_intake_year = 0 order by md5(firm_key)) as control_rank
    from balanced
),

kept as (
    select ranked.*, controls_available.n_controls_available
    from ranked
    cross join controls_available
    where ranked.first_intake_year > 0 or ranked.control_rank <= {int(max_controls)}
),

firm_years as (
    -- A balanced firm's rows are its complete years in the window.
    select
        kept.firm_key,
        kept.first_intake_year,
        kept.n_controls_available,
        unnest({complete_years_in_window}, recursive := true)
    from kept
    inner join {COMPLETE_YEARS} as complete on kept.firm_key = complete.firm_key
    cross join window_years
)

select
    dense_rank() over (order by firm_years.firm_key) as firm_id,
    firm_years.firm_key,
    firm_years.fiscal_year,
    firm_years.first_intake_year,
    {outcome_columns},
    window_years.first_year as first_fiscal_year,
    window_years.last_year as last_fiscal_year,
    firm_years.n_controls_available
from firm_years
cross join window_years
order by firm_id, firm_years.fiscal_year
"""


def programs(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The programs with at least one cohort, alphabetically."""
    return [row[0] for row in con.execute("select distinct program from marts.dim_cohort order by program").fetchall()]


def read_panel(con: duckdb.DuckDBPyConnection, program: str | None, max_controls: int = MAX_CONTROLS) -> ScopePanel:
    """The balanced panel of a program (None: all programs), from the working database.

    Call ``prepare_complete_years`` on the connection first (``build_table`` does).
    """
    frame = con.execute(panel_query(max_controls), [program]).df()
    scope = program or ALL_PROGRAMS
    if frame.empty:
        return ScopePanel(scope, frame, 0, 0, 0)
    return ScopePanel(
        program=scope,
        frame=frame[["firm_id", "firm_key", "fiscal_year", "first_intake_year", *OUTCOMES]],
        first_fiscal_year=int(frame["first_fiscal_year"].iloc[0]),
        last_fiscal_year=int(frame["last_fiscal_year"].iloc[0]),
        n_controls_available=int(frame["n_controls_available"].iloc[0]),
    )


def group_sizes(panel: pd.DataFrame) -> pd.Series:
    """Firms per group (first intake year; 0 = never treated)."""
    return panel.groupby("first_intake_year")["firm_id"].nunique()


def estimate(panel: pd.DataFrame, outcome: str, program: str = ALL_PROGRAMS) -> pd.DataFrame:
    """ATT(g, t), the event-study aggregate and its average for one outcome of a balanced panel.

    ``panel`` has one row per firm and year: ``firm_id``, ``fiscal_year``, ``first_intake_year``
    (0 for never-treated controls) and the outcome column. Returns ``RESULT_COLUMNS``, event
    times limited to FIRST_EVENT_TIME..LAST_EVENT_TIME, the reference year e = -1 left out (it
    is 0 by construction). An empty frame when there is nothing to estimate.
    """
    sizes = group_sizes(panel)
    first_year = int(panel["fiscal_year"].min()) if len(panel) else 0
    last_year = int(panel["fiscal_year"].max()) if len(panel) else 0
    # Firms first treated after the panel's last year are untreated throughout it and serve as
    # controls beside the never-treated, in the estimator as in R's did.
    n_controls = int(sum(n for g, n in sizes.items() if g == 0 or g > last_year))
    # A group needs a base year inside the panel; with too few controls nothing is identified
    # (R's did refuses a never-treated group smaller than MIN_CONTROLS).
    estimable = [int(g) for g in sizes.index if g > first_year]
    if n_controls < MIN_CONTROLS or not estimable:
        return pd.DataFrame(columns=RESULT_COLUMNS)
    data = panel.loc[panel["first_intake_year"].isin([0, *estimable]),
                     ["firm_id", "fiscal_year", "first_intake_year", outcome]]
    result = did_estimator.att_gt(data, outcome, unit="firm_id", time="fiscal_year", group="first_intake_year")
    dynamic = did_estimator.event_study(result, FIRST_EVENT_TIME, LAST_EVENT_TIME)

    group_time = pd.DataFrame({
        "cohort_year": np.asarray(result.groups, dtype=int),
        "fiscal_year": np.asarray(result.times, dtype=int),
        "effect": np.asarray(result.att_gt, dtype=float),
        "standard_error": np.asarray(result.se_gt, dtype=float),
    })
    group_time["event_time"] = group_time["fiscal_year"] - group_time["cohort_year"]
    group_time = group_time[group_time["event_time"].between(FIRST_EVENT_TIME, LAST_EVENT_TIME)
                            & (group_time["event_time"] != -1)]
    group_time["n_treated"] = group_time["cohort_year"].map(sizes).astype(int)
    group_time["estimate_type"] = GROUP_TIME

    event_study = pd.DataFrame({
        "event_time": np.asarray(dynamic.event_times, dtype=int),
        "effect": np.asarray(dynamic.att_by_event, dtype=float),
        "standard_error": np.asarray(dynamic.se_by_event, dtype=float),
    })
    event_study = event_study[event_study["event_time"] != -1]
    # The groups behind event time e: those whose g + e lies in the panel's years.
    event_study["n_treated"] = [
        int(sum(sizes[g] for g in estimable if first_year <= g + e <= last_year)) for e in event_study["event_time"]
    ]
    event_study["estimate_type"] = EVENT_STUDY

    n_post = int(sum(sizes[g] for g in estimable if g <= last_year))
    average = pd.DataFrame([{
        "event_time": pd.NA, "effect": float(dynamic.overall_att), "standard_error": float(dynamic.overall_se),
        "n_treated": n_post, "estimate_type": EVENT_STUDY_AVERAGE,
    }])

    rows = pd.concat([group_time, event_study, average], ignore_index=True)
    rows["program"] = program
    rows["outcome"] = outcome
    rows["n_controls"] = n_controls
    for column in ("cohort_year", "fiscal_year", "event_time", "n_treated", "n_controls"):
        rows[column] = rows[column].astype("Int64")
    return rows[RESULT_COLUMNS]


def suppress(rows: pd.DataFrame, min_firms: int = MIN_FIRMS_SHOWN) -> pd.DataFrame:
    """Add 95 % intervals and hide every figure resting on fewer than ``min_firms`` treated firms."""
    out = rows.copy()
    out["ci_low"] = out["effect"] - Z_95 * out["standard_error"]
    out["ci_high"] = out["effect"] + Z_95 * out["standard_error"]
    out["is_suppressed"] = out["n_treated"] < min_firms
    out["suppression_reason"] = np.where(
        out["is_suppressed"], f"fewer than {min_firms} treated firms: figure hidden", None
    )
    for column in ("effect", "standard_error", "ci_low", "ci_high"):
        out[column] = out[column].astype(float).where(~out["is_suppressed"]).round(4)
    return out


TABLE = "marts.rpt_staggered_att"
TABLE_COMMENT = (
    "Staggered-adoption effects (Callaway & Sant'Anna 2021, as R's did computes them) per program and for "
    "all programs together ('" + ALL_PROGRAMS + "'): group-time effects ATT(g, t), the event-study aggregate per event "
    "time and its average. Group g = a firm's first intake year in the program; controls = firms that never took "
    "part in any program, from the matching strata participants occupy, at most " + f"{MAX_CONTROLS:,}" + " per "
    "program (smallest md5 of firm key); outcome-regression DiD against the base year g - 1 on a panel balanced over "
    "first_fiscal_year..last_fiscal_year; analytic standard errors. Cross-check of rpt_cohort_effects, which matches "
    "each cohort separately."
)
COLUMN_COMMENTS = {
    "estimate_key": "Unique key: program, outcome, estimate type, cohort year and event time.",
    "program": f"Program, or '{ALL_PROGRAMS}' when the group is the first intake in any program.",
    "estimate_type": f"'{GROUP_TIME}': ATT(g, t) of one intake-year group in one fiscal year; '{EVENT_STUDY}': the "
    f"average over groups at one event time, weighted by group size; '{EVENT_STUDY_AVERAGE}': the average of the "
    "event-study effects over event times 0 and later.",
    "outcome": "turnover: log net turnover; employees: log(1 + employees). As in rpt_cohort_effects.",
    "effect_unit": "Unit of effect and interval: log points (0.10 is about +10.5 %).",
    "cohort_year": "Group g: the firms' first intake year in the program; null on event-study rows.",
    "fiscal_year": "Fiscal year t of a group-time effect; null on event-study rows.",
    "event_time": "e = fiscal year - intake year; e = -1 is the base year (0 by construction, not shown); "
    "null on the event-study average.",
    "is_pre_trend": "True for e < -1: the effect should be near zero if the comparison holds.",
    "effect": "Estimated effect on the treated, in log points; null when suppressed.",
    "standard_error": "Analytic standard error from the influence functions; null when suppressed.",
    "ci_low": "Lower end of the pointwise 95 % confidence interval; null when suppressed.",
    "ci_high": "Upper end of the pointwise 95 % confidence interval; null when suppressed.",
    "n_treated": "Participant firms the estimate rests on (of the group, or of the groups behind the event time).",
    "n_controls": "Never-treated control firms used (after the cap).",
    "n_controls_available": "Never-treated firms eligible as controls before the cap: in the balanced panel and in a "
    "matching stratum that participants occupy.",
    "first_fiscal_year": "First fiscal year of the balanced panel: first intake year - 3, within the data.",
    "last_fiscal_year": "Last fiscal year of the balanced panel: last intake year + 5, within the data.",
    "is_suppressed": f"True when fewer than {MIN_FIRMS_SHOWN} treated firms: the figures are hidden.",
    "suppression_reason": "Why the figures are hidden, when they are.",
}


def build_table(con: duckdb.DuckDBPyConnection, max_controls: int = MAX_CONTROLS) -> pd.DataFrame:
    """Every scope (each program, then all programs) and outcome, shaped as ``TABLE``."""
    parts = []
    prepare_complete_years(con)
    for program in [*programs(con), None]:
        panel = read_panel(con, program, max_controls)
        for outcome in OUTCOMES:
            rows = estimate(panel.frame, outcome, panel.program) if not panel.frame.empty else pd.DataFrame()
            if rows.empty:
                continue
            rows["n_controls_available"] = panel.n_controls_available
            rows["first_fiscal_year"] = panel.first_fiscal_year
            rows["last_fiscal_year"] = panel.last_fiscal_year
            parts.append(suppress(rows))
    if not parts:
        return pd.DataFrame(columns=list(COLUMN_COMMENTS))
    table = pd.concat(parts, ignore_index=True)
    table["effect_unit"] = "log points"
    table["is_pre_trend"] = table["event_time"] < -1
    table["is_pre_trend"] = table["is_pre_trend"].fillna(False).astype(bool)
    table["estimate_key"] = (
        table["program"] + " " + table["outcome"] + " " + table["estimate_type"] + " "
        + table["cohort_year"].astype("string").fillna("-") + " " + table["event_time"].astype("string").fillna("-")
    )
    return table[list(COLUMN_COMMENTS)]


def write_table(con: duckdb.DuckDBPyConnection, table: pd.DataFrame) -> None:
    """Replace ``TABLE`` with ``table`` and describe it and every column in DuckDB comments."""
    con.execute("create schema if not exists marts")
    con.register("staggered_att_rows", table)
    try:
        con.execute(f"""
            create or replace table {TABLE} as
            select
                cast(estimate_key as varchar) as estimate_key,
                cast(program as varchar) as program,
                cast(estimate_type as varchar) as estimate_type,
                cast(outcome as varchar) as outcome,
                cast(effect_unit as varchar) as effect_unit,
                cast(cohort_year as integer) as cohort_year,
                cast(fiscal_year as integer) as fiscal_year,
                cast(event_time as integer) as event_time,
                cast(is_pre_trend as boolean) as is_pre_trend,
                cast(effect as double) as effect,
                cast(standard_error as double) as standard_error,
                cast(ci_low as double) as ci_low,
                cast(ci_high as double) as ci_high,
                cast(n_treated as bigint) as n_treated,
                cast(n_controls as bigint) as n_controls,
                cast(n_controls_available as bigint) as n_controls_available,
                cast(first_fiscal_year as integer) as first_fiscal_year,
                cast(last_fiscal_year as integer) as last_fiscal_year,
                cast(is_suppressed as boolean) as is_suppressed,
                cast(suppression_reason as varchar) as suppression_reason
            from staggered_att_rows
            order by program, outcome, estimate_type, cohort_year nulls first, event_time nulls last, fiscal_year
        """)
    finally:
        con.unregister("staggered_att_rows")
    con.execute(f"comment on table {TABLE} is {sql_literal(TABLE_COMMENT)}")
    for column, text in COLUMN_COMMENTS.items():
        con.execute(f"comment on column {TABLE}.{column} is {sql_literal(text)}")
