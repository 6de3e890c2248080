"""Representativity and export outcomes, checked against independent pandas on the landing files."""

import duckdb
import pytest

from tests.independent import (
    bisnode_size_class_shares,
    county_size_class_shares,
    export_increase_counts,
    participant_kommun_counts,
)


def _query(run, sql):
    with duckdb.connect(str(run["warehouse"] / "followup.duckdb"), read_only=True) as con:
        return con.execute(sql).df()


def test_participant_shares_per_municipality(nightly_run):
    expected = participant_kommun_counts(nightly_run["landing"])
    actual = _query(
        nightly_run,
        "SELECT category, n_participants, participant_share_pct, is_suppressed FROM marts.rpt_representativity "
        "WHERE program = 'Samtliga program' AND dimension = 'kommun' AND n_participants > 0",
    ).set_index("category")
    assert dict(actual["n_participants"]) == dict(expected)
    for code, row in actual.iterrows():
        if row["is_suppressed"]:
            assert row["participant_share_pct"] != row["participant_share_pct"]  # hidden (NaN)
        else:
            assert row["participant_share_pct"] == pytest.approx(100 * expected[code] / expected.sum(), abs=0.05)


@pytest.mark.parametrize("column, independent", [
    ("county_share_pct", county_size_class_shares),  # from the SCB baselines
    ("bisnode_share_pct", bisnode_size_class_shares),  # the cross-check from the Bisnode firm-years
])
def test_county_size_class_shares(nightly_run, column, independent):
    expected = independent(nightly_run["landing"])
    actual = _query(
        nightly_run,
        f"SELECT category, {column} FROM marts.rpt_representativity "
        "WHERE program = 'Samtliga program' AND dimension = 'storleksklass'",
    ).set_index("category")[column].fillna(0)
    for category, share in expected.items():
        assert actual.get(category, 0) == pytest.approx(100 * share, abs=0.06), category


def test_export_increase_counts(nightly_run):
    expected = export_increase_counts(nightly_run["landing"]).set_index(["program", "cohort_year", "followup_year"])
    actual = _query(
        nightly_run,
        "SELECT program, cohort_year, followup_year, n_with_export_data, n_increased_export "
        "FROM marts.rpt_export_outcomes WHERE leader_gender = 'totalt'",
    ).set_index(["program", "cohort_year", "followup_year"])
    assert sorted(actual.index) == sorted(expected.index)
    assert (actual.loc[expected.index] == expected).all().all()


def test_small_groups_are_hidden_with_a_reason(nightly_run):
    """Each figure is hidden exactly when its own count of firms is under 5, and the row says so."""
    rows = _query(nightly_run, "SELECT * FROM marts.rpt_export_outcomes")
    figures = {"share_increased_export_pct": "n_with_export_data", "share_with_new_market_pct": "n_with_market_data",
               "share_growing_on_existing_market_pct": "n_with_base_market_data",
               "median_export_growth_pct": "n_with_export_growth"}
    hidden_any = False
    for figure, denominator in figures.items():
        small = rows[denominator] < 5
        assert rows.loc[small, figure].isna().all(), figure
        assert rows.loc[~small & (rows[denominator] > 0), figure].notna().all(), figure
        assert rows.loc[small, "is_suppressed"].all(), figure
        hidden_any |= small
    assert hidden_any.any()
    assert (rows["is_suppressed"] == hidden_any).all()
    assert rows.loc[hidden_any, "suppression_reason"].str.contains("fewer than 5").all()
    assert rows.loc[~hidden_any, "suppression_reason"].isna().all()
