"""marts.rpt_staggered_att: the library on its reference example, our use of it, the nightly table.

- The pinned moderndid reproduces R's ``did`` on its published example (mpdta).
- ``estimate`` recovers a constant effect planted in a panel the test builds itself, and equals a
  difference in means computed here by hand.
- The panel query keeps exactly the firms complete in every year of the window, on a database
  the test plants.
- On generated regions the table is published with its comments, agrees with the matched
  estimates of rpt_cohort_effects, finds no effect in the null cohort, hides small groups, and
  caps the control pool deterministically.
"""

import hashlib
import math
import warnings

import duckdb
import numpy as np
import pandas as pd
import pytest
from moderndid import aggte, att_gt, load_mpdta

from ingest.sample_region import RAMP_YEARS
from warehouse.staggered_att import (
    COLUMN_COMMENTS,
    EVENT_STUDY,
    EVENT_STUDY_AVERAGE,
    GROUP_TIME,
    MIN_FIRMS_SHOWN,
    estimate,
    prepare_complete_years,
    read_panel,
    suppress,
)

# --- (a) golden: R's did on mpdta -------------------------------------------------------------

# Source: the README of R's did package (bcallaway11/did, "A short example", devel version
# 2.5.0, README.md generated from README.Rmd; the same example opens the "Getting Started with
# the did Package" vignette): att_gt(yname = "lemp", gname = "first.treat", idname =
# "countyreal", tname = "year", xformla = ~1, data = mpdta, est_method = "reg"), then
# aggte(out, type = "dynamic") and aggte(out, type = "group"). Estimates are printed to 4
# decimals (the group-aggregate overall ATT to 3). Standard errors there come from R's default
# multiplier bootstrap (1000 draws, R's random numbers), so they can only match approximately.
DID_README_ATT_GT = {  # (group, year): (ATT(g,t), bootstrap std. error)
    (2004, 2004): (-0.0105, 0.0241), (2004, 2005): (-0.0704, 0.0313),
    (2004, 2006): (-0.1373, 0.0380), (2004, 2007): (-0.1008, 0.0337),
    (2006, 2004): (0.0065, 0.0223), (2006, 2005): (-0.0028, 0.0196),
    (2006, 2006): (-0.0046, 0.0188), (2006, 2007): (-0.0412, 0.0202),
    (2007, 2004): (0.0305, 0.0154), (2007, 2005): (-0.0027, 0.0168),
    (2007, 2006): (-0.0311, 0.0190), (2007, 2007): (-0.0261, 0.0182),
}
DID_README_PRETEST_PVALUE = 0.16812
DID_README_DYNAMIC = {  # event time: (estimate, bootstrap std. error)
    -3: (0.0305, 0.0153), -2: (-0.0006, 0.0136), -1: (-0.0245, 0.0138), 0: (-0.0199, 0.0115),
    1: (-0.0510, 0.0174), 2: (-0.1373, 0.0356), 3: (-0.1008, 0.0354),
}
DID_README_DYNAMIC_OVERALL = (-0.0772, 0.0196)
DID_README_GROUP = {2004: (-0.0797, 0.0277), 2006: (-0.0229, 0.0172), 2007: (-0.0261, 0.0177)}
DID_README_GROUP_OVERALL = (-0.031, 0.0123)
# Analytic and bootstrap standard errors estimate the same quantity; with 500 counties and
# 1000 draws they differ by a few percent.
SE_RELATIVE_TOLERANCE = 0.15


def mpdta_att_gt(**kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return att_gt(data=load_mpdta(), yname="lemp", tname="year", gname="first.treat", idname="countyreal",
                      xformla="~1", est_method="reg", **kwargs)


@pytest.fixture(scope="module")
def mpdta_result():
    return mpdta_att_gt(boot=False)


def test_golden_group_time_effects_match_r_did(mpdta_result):
    found = {(int(g), int(t)): (a, s) for g, t, a, s in
             zip(mpdta_result.groups, mpdta_result.times, mpdta_result.att_gt, mpdta_result.se_gt)}
    assert set(found) == set(DID_README_ATT_GT)
    for cell, (att, se) in DID_README_ATT_GT.items():
        assert round(found[cell][0], 4) == att, cell
        assert found[cell][1] == pytest.approx(se, rel=SE_RELATIVE_TOLERANCE), cell
    assert round(mpdta_result.wald_pvalue, 5) == DID_README_PRETEST_PVALUE


def test_golden_event_study_and_group_aggregates_match_r_did(mpdta_result):
    dynamic = aggte(mpdta_result, type="dynamic", boot=False, cband=False)
    for e, est, se in zip(dynamic.event_times, dynamic.att_by_event, dynamic.se_by_event):
        assert round(est, 4) == DID_README_DYNAMIC[int(e)][0], e
        assert se == pytest.approx(DID_README_DYNAMIC[int(e)][1], rel=SE_RELATIVE_TOLERANCE), e
    assert sorted(int(e) for e in dynamic.event_times) == sorted(DID_README_DYNAMIC)
    assert round(dynamic.overall_att, 4) == DID_README_DYNAMIC_OVERALL[0]
    assert dynamic.overall_se == pytest.approx(DID_README_DYNAMIC_OVERALL[1], rel=SE_RELATIVE_TOLERANCE)

    group = aggte(mpdta_result, type="group", boot=False, cband=False)
    for g, est, se in zip(group.event_times, group.att_by_event, group.se_by_event):
        assert round(est, 4) == DID_README_GROUP[int(g)][0], g
        assert se == pytest.approx(DID_README_GROUP[int(g)][1], rel=SE_RELATIVE_TOLERANCE), g
    assert round(group.overall_att, 3) == DID_README_GROUP_OVERALL[0]
    assert group.overall_se == pytest.approx(DID_README_GROUP_OVERALL[1], rel=SE_RELATIVE_TOLERANCE)


def test_golden_seeded_bootstrap_is_reproducible_and_close_to_r(mpdta_result):
    first = mpdta_att_gt(boot=True, biters=1000, random_state=2020)
    second = mpdta_att_gt(boot=True, biters=1000, random_state=2020)
    np.testing.assert_array_equal(first.se_gt, second.se_gt)
    np.testing.assert_array_equal(first.att_gt, mpdta_result.att_gt)  # the bootstrap touches only errors
    documented = [DID_README_ATT_GT[(int(g), int(t))][1] for g, t in zip(first.groups, first.times)]
    np.testing.assert_allclose(first.se_gt, documented, rtol=SE_RELATIVE_TOLERANCE)


# --- (b) the estimate function on a panel with a planted effect -------------------------------

PLANTED = 0.2


def synthetic_panel(seed: int = 2020) -> pd.DataFrame:
    """Groups 2015 and 2017 (60 firms each), 400 never-treated; firm and year effects, noise.

    Treated firms start at a higher level (selection on levels, which DiD removes) and get
    PLANTED from their intake year on.
    """
    rng = np.random.default_rng(seed)
    years = np.arange(2011, 2021)
    groups = np.repeat([2015, 2017, 0], [60, 60, 400])
    firm_level = rng.normal(7, 1, len(groups)) + 0.5 * (groups > 0)
    year_effect = rng.normal(0, 0.1, len(years)).cumsum()
    firm, year = np.meshgrid(np.arange(len(groups)), years, indexing="ij")
    treated_now = (groups[firm] > 0) & (year >= groups[firm])
    outcome = firm_level[firm] + year_effect[year - years[0]] + PLANTED * treated_now + rng.normal(0, 0.05, firm.shape)
    return pd.DataFrame({
        "firm_id": firm.ravel() + 1, "fiscal_year": year.ravel(),
        "first_intake_year": groups[firm].ravel(), "turnover": outcome.ravel(),
    })


def test_estimate_recovers_a_planted_constant_effect():
    panel = synthetic_panel()
    rows = estimate(panel, "turnover", "Test")
    assert set(rows["estimate_type"]) == {GROUP_TIME, EVENT_STUDY, EVENT_STUDY_AVERAGE}
    shown = suppress(rows)
    truth = np.where((shown["estimate_type"] == EVENT_STUDY_AVERAGE) | (shown["event_time"].fillna(0) >= 0), PLANTED, 0.0)
    covered = (shown["ci_low"] <= truth) & (truth <= shown["ci_high"])
    # 95 % intervals: about 1 in 20 misses by chance, none by far.
    assert covered.mean() >= 0.9
    assert ((shown["effect"] - truth).abs() < 4 * shown["standard_error"]).all()
    assert covered[shown["estimate_type"] == EVENT_STUDY_AVERAGE].all()
    assert -1 not in set(rows["event_time"].dropna())  # the base year is the reference, not an estimate
    assert set(rows.loc[rows["estimate_type"] == GROUP_TIME, "n_treated"]) == {60}
    assert set(rows["n_controls"]) == {400}


def test_group_time_effect_is_the_difference_in_mean_changes():
    """Without covariates, outcome-regression DiD is the treated minus control mean change from g - 1."""
    panel = synthetic_panel()
    wide = panel.pivot(index="firm_id", columns="fiscal_year", values="turnover")
    group = panel.groupby("firm_id")["first_intake_year"].first()
    rows = estimate(panel, "turnover")
    effects = rows[rows["estimate_type"] == GROUP_TIME].set_index(["cohort_year", "fiscal_year"])["effect"]
    for g, t in [(2015, 2013), (2015, 2018), (2017, 2020)]:
        change = wide[t] - wide[g - 1]
        by_hand = change[group == g].mean() - change[group == 0].mean()
        assert effects[(g, t)] == pytest.approx(by_hand, abs=1e-10)


def test_firms_treated_after_the_last_year_count_among_the_controls():
    panel = synthetic_panel()
    late = panel["firm_id"].isin(panel["firm_id"][panel["first_intake_year"] == 0].unique()[:30])
    panel.loc[late, "first_intake_year"] = 2021  # after the panel's last year, 2020
    rows = estimate(panel, "turnover")
    assert set(rows["n_controls"]) == {400}
    assert 2021 not in set(rows["cohort_year"].dropna())
    # Only 4 never-treated firms, but 30 more untreated throughout: enough controls.
    few = panel[(panel["first_intake_year"] != 0) | panel["firm_id"].isin(panel["firm_id"][~late].unique()[-4:])]
    assert set(estimate(few, "turnover")["n_controls"]) == {34}


def test_too_few_controls_estimate_nothing_instead_of_failing_the_night():
    panel = synthetic_panel()
    controls = panel["firm_id"][panel["first_intake_year"] == 0].unique()
    few = panel[(panel["first_intake_year"] > 0) | panel["firm_id"].isin(controls[:4])]
    assert estimate(few, "turnover").empty
    assert not estimate(panel[(panel["first_intake_year"] > 0) | panel["firm_id"].isin(controls[:5])], "turnover").empty


def test_suppress_hides_figures_of_small_groups_and_keeps_counts():
    rows = pd.DataFrame({
        "effect": [0.1, 0.2], "standard_error": [0.01, 0.02], "n_treated": pd.array([4, 5], dtype="Int64"),
    })
    out = suppress(rows)
    assert out["is_suppressed"].tolist() == [True, False]
    assert out.loc[0, ["effect", "standard_error", "ci_low", "ci_high"]].isna().all()
    assert out.loc[1, "ci_low"] == pytest.approx(0.2 - 1.96 * 0.02, abs=1e-4)
    assert out["n_treated"].tolist() == [4, 5]
    assert out.loc[0, "suppression_reason"].startswith(f"fewer than {MIN_FIRMS_SHOWN}")


def planted_panel_database(path) -> duckdb.DuckDBPyConnection:
    """The five relations the panel query reads, holding one participant and six would-be controls.

    Participant A enters in 2015 (window 2012-2020 in data 2010-2020). Controls: B is complete;
    G lacks only 2010, outside the window; C lacks 2016, D has zero turnover in 2013, E no head
    count in 2019, and F is complete but in a stratum no participant occupies.
    """
    con = duckdb.connect(str(path))
    con.execute("create schema marts; create schema intermediate")
    con.execute("create table marts.fct_cohort_membership as select 'A' as firm_key, 'P' as program, 2015 as cohort_year")
    con.execute("create table marts.dim_cohort as select 'P' as program")
    con.execute("""create table intermediate.int_cohort_effects__participant_changes as
                   select 'P' as program, 2014 as base_year, 's' as stratum""")
    con.execute("""create table intermediate.int_cohort_effects__base_year_strata as
                   select firm_key, 2014 as base_year, case when firm_key = 'F' then 't' else 's' end as stratum,
                          firm_key = 'A' as is_participant
                   from unnest(['A', 'B', 'C', 'D', 'E', 'F', 'G']) as firms(firm_key)""")
    con.execute("""create table marts.fct_firm_year as
                   select firm_key, fiscal_year,
                          case when firm_key = 'D' and fiscal_year = 2013 then 0 else 100 + fiscal_year end
                              as net_turnover_tkr,
                          case when firm_key = 'E' and fiscal_year = 2019 then null else 10 end as employees
                   from unnest(['A', 'B', 'C', 'D', 'E', 'F', 'G']) as firms(firm_key),
                        range(2010, 2021) as years(fiscal_year)
                   where not (firm_key = 'C' and fiscal_year = 2016) and not (firm_key = 'G' and fiscal_year = 2010)""")
    return con


def test_panel_holds_only_firms_complete_in_every_window_year(tmp_path):
    with planted_panel_database(tmp_path / "panel.duckdb") as con:
        prepare_complete_years(con)
        panel = read_panel(con, "P")
    frame = panel.frame
    assert (panel.first_fiscal_year, panel.last_fiscal_year) == (2012, 2020)
    assert set(frame["firm_key"]) == {"A", "B", "G"}
    assert panel.n_controls_available == 2
    for _, firm in frame.groupby("firm_key"):
        assert firm["fiscal_year"].tolist() == list(range(2012, 2021))
        assert np.allclose(firm["turnover"], np.log(100 + firm["fiscal_year"]))
    assert frame.loc[frame["firm_key"] == "A", "first_intake_year"].eq(2015).all()
    assert frame.loc[frame["firm_key"] != "A", "first_intake_year"].eq(0).all()


# --- (c), (d) the nightly table on generated regions ------------------------------------------


def published_rows(run: dict, query: str) -> pd.DataFrame:
    assert run["exit_code"] == 0
    with duckdb.connect(str(run["warehouse"] / "followup.duckdb"), read_only=True) as con:
        return con.execute(query).df()


def test_published_with_comments_on_table_and_every_column(nightly_run):
    comments = published_rows(nightly_run, "select column_name, comment from duckdb_columns() "
                                           "where schema_name = 'marts' and table_name = 'rpt_staggered_att'")
    assert dict(zip(comments["column_name"], comments["comment"])) == COLUMN_COMMENTS
    table = published_rows(nightly_run, "select comment from duckdb_tables() "
                                        "where schema_name = 'marts' and table_name = 'rpt_staggered_att'")
    assert "Callaway" in table["comment"].iloc[0]
    keys = published_rows(nightly_run, "select count(*) = count(distinct estimate_key) as unique_keys "
                                       "from marts.rpt_staggered_att")
    assert keys["unique_keys"].iloc[0]


def test_small_groups_are_suppressed_with_counts_shown(nightly_run):
    rows = published_rows(nightly_run, "select * from marts.rpt_staggered_att")
    small = rows[rows["n_treated"] < MIN_FIRMS_SHOWN]
    large = rows[rows["n_treated"] >= MIN_FIRMS_SHOWN]
    assert len(small) > 0 and len(large) > 0  # the small region has both
    assert small["is_suppressed"].all() and not large["is_suppressed"].any()
    assert small[["effect", "standard_error", "ci_low", "ci_high"]].isna().all().all()
    assert small["suppression_reason"].notna().all() and large["suppression_reason"].isna().all()
    assert large["effect"].notna().all()


def test_control_cap_is_deterministic_and_takes_smallest_hashes(nightly_run):
    """A cap below the eligible pool keeps exactly that many controls: those with the smallest md5."""
    with duckdb.connect(str(nightly_run["warehouse"] / "work" / "followup.duckdb"), read_only=True) as con:
        prepare_complete_years(con)
        full = read_panel(con, None)
        cap = full.n_controls_available // 3
        capped = read_panel(con, None, max_controls=cap)
        again = read_panel(con, None, max_controls=cap)

    def firms(panel, controls: bool) -> set[str]:
        is_control = panel.frame["first_intake_year"] == 0
        return set(panel.frame.loc[is_control if controls else ~is_control, "firm_key"])

    assert len(firms(full, True)) == full.n_controls_available > cap
    expected = sorted(firms(full, True), key=lambda key: hashlib.md5(key.encode()).hexdigest())[:cap]
    assert firms(capped, True) == set(expected)
    assert capped.n_controls_available == full.n_controls_available
    assert firms(capped, False) == firms(full, False)  # participants are never capped
    pd.testing.assert_frame_equal(capped.frame, again.frame)


def planted_log_effect(effect: float, event_time: int) -> float:
    ramp = min((event_time + 1) / RAMP_YEARS, 1.0) if event_time >= 0 else 0.0
    return math.log(1 + effect * ramp)


@pytest.fixture(scope="module")
def default_comparison(default_region_run):
    """Group-time effects of each program next to rpt_cohort_effects for the same cohort and e."""
    return published_rows(default_region_run, """
        select s.program, s.cohort_year, s.event_time, s.outcome,
               s.effect, s.ci_low, s.ci_high, s.n_treated,
               c.effect as matched_effect, c.ci_low as matched_ci_low, c.ci_high as matched_ci_high
        from marts.rpt_staggered_att as s
        inner join marts.rpt_cohort_effects as c
            on s.program = c.program and s.cohort_year = c.cohort_year
            and s.event_time = c.event_time and s.outcome = c.outcome
        where s.estimate_type = 'group-time' and not s.is_suppressed and not c.is_suppressed
    """)


def test_agrees_with_matched_cohort_effects(default_comparison):
    """Same cohorts, same base year, same outcomes; different estimators, so close, not equal.

    rpt_cohort_effects matches each cohort's participants to never-treated firms of the same
    base-year stratum (CEM weights) and keeps every firm seen in the two years compared;
    rpt_staggered_att compares a program's first-time participants with a random sample of
    never-treated firms from those strata, unweighted, on a panel balanced over all years. The
    treated firms overlap but are not the same (repeat participants count only for their
    first intake; firms with gaps drop out), nor are the control weights. So: the 95 %
    intervals overlap almost everywhere (4 % of cells may miss by chance), no cell is
    significant in opposite directions, and the typical gap is small against effects of 0.05-0.3.
    """
    rows = default_comparison
    assert len(rows) > 100
    overlap = (rows["ci_low"] <= rows["matched_ci_high"]) & (rows["matched_ci_low"] <= rows["ci_high"])
    assert overlap.mean() >= 0.9
    opposite = ((rows["ci_low"] > 0) & (rows["matched_ci_high"] < 0)) | ((rows["ci_high"] < 0) & (rows["matched_ci_low"] > 0))
    assert not opposite.any()
    assert (rows["effect"] - rows["matched_effect"]).abs().median() < 0.03


def test_null_cohort_covers_zero_and_large_effects_are_found(default_comparison, default_region_run):
    """Gå globalt 2018 (planted 0) draws only firms in no other cohort, so its group is exactly that cohort."""
    truth = {(c["program"], c["cohort_year"]): c["planted_turnover_effect"]
             for c in default_region_run["manifest"]["cohorts"]}
    turnover = default_comparison[default_comparison["outcome"] == "turnover"].set_index(
        ["program", "cohort_year", "event_time"])
    null_cohorts = [key for key, effect in truth.items() if effect == 0]
    assert null_cohorts
    for program, year in null_cohorts:
        cells = turnover.loc[(program, year)]
        assert len(cells) >= 5
        assert ((cells["ci_low"] <= 0) & (cells["ci_high"] >= 0)).all(), cells
    for (program, year), effect in truth.items():
        if effect >= 0.2:  # found where complete, as rpt_cohort_effects must
            for e in (RAMP_YEARS - 1, RAMP_YEARS):
                row = turnover.loc[(program, year, e)]
                assert row["ci_low"] <= planted_log_effect(effect, e) <= row["ci_high"], (program, year, e)


def test_event_study_covers_planted_program_effects(default_region_run):
    """A program with one planted effect for all its cohorts: the event study at full ramp covers it.

    Pre-trends are not checked here: participants of one program often took part in another
    program earlier (whose planted effect then shows before their intake), in
    rpt_cohort_effects as much as here.
    """
    rows = published_rows(default_region_run, """
        select program, event_time, ci_low, ci_high from marts.rpt_staggered_att
        where estimate_type = 'event study' and outcome = 'turnover' and not is_suppressed
    """).set_index(["program", "event_time"])
    cohorts = pd.DataFrame(default_region_run["manifest"]["cohorts"])
    uniform = cohorts.groupby("program")["planted_turnover_effect"].agg(["min", "max"])
    checked = 0
    for program, bounds in uniform[uniform["min"] == uniform["max"]].iterrows():
        for e in (RAMP_YEARS - 1, RAMP_YEARS):
            if (program, e) in rows.index:
                low, high = rows.loc[(program, e), ["ci_low", "ci_high"]]
                assert low <= planted_log_effect(bounds["min"], e) <= high, (program, e)
                checked += 1
    assert checked >= 4
