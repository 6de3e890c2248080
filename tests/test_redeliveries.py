"""Deliveries over several nights: a list delivered again under its name replaces the earlier
one, an earlier version sent again restores it, and a copy of a rejected file is rejected.

The expected memberships are computed independently (tests/independent.py) from the files in
the landing folder as they stand after each night.
"""

import shutil

import duckdb
import pandas as pd

from tests.conftest import run_cli
from tests.independent import memberships

EXPORTBOOST = "exportboost.csv"


def _published_memberships(warehouse) -> set:
    with duckdb.connect(str(warehouse / "followup.duckdb"), read_only=True) as con:
        keyed = con.execute("SELECT firm_key, program, cohort_year FROM marts.fct_cohort_membership").fetchall()
    with duckdb.connect(str(warehouse / "restricted" / "identifiers.duckdb"), read_only=True) as con:
        numbers = dict(con.execute("SELECT firm_key, org_nr FROM restricted.firm_identity").fetchall())
    return {(numbers[key], program, year) for key, program, year in keyed}


def _expected(landing) -> set:
    return {tuple(row) for row in memberships(landing)[["org", "program", "cohort_year"]].itertuples(index=False)}


def test_a_list_delivered_again_replaces_the_earlier_one(small_region, tmp_path):
    landing, good = tmp_path / "landing", tmp_path / "good"  # good: the same files without the rejected ones
    for folder in (landing, good):
        shutil.copytree(small_region, folder, ignore=shutil.ignore_patterns("archive"))
    original = (landing / "participants" / EXPORTBOOST).read_bytes()
    bad = "Organisationsnummer,Program\n5560000001,Exportboost\n"  # no Kohort column: rejected whole
    (landing / "participants" / "utan_kohort.csv").write_text(bad, encoding="utf-8")
    warehouse = tmp_path / "warehouse"

    def night(expected_exit: int) -> None:
        assert run_cli("run", "--landing", str(landing), "--warehouse", str(warehouse)) == expected_exit
        assert _published_memberships(warehouse) == _expected(good)

    night(3)

    # The operator corrects the list under its name: one firm withdrawn, one moved a cohort on.
    rows = pd.read_csv(landing / "participants" / EXPORTBOOST, dtype=str, keep_default_na=False)
    rows = rows.iloc[1:].copy()
    rows.iloc[0, rows.columns.get_loc("Kohort")] = str(int(rows.iloc[0]["Kohort"]) + 1)
    for folder in (landing, good):
        rows.to_csv(folder / "participants" / EXPORTBOOST, index=False)
    night(0)
    with duckdb.connect(str(warehouse / "followup.duckdb"), read_only=True) as con:
        withdrawn_rows = con.execute(
            "SELECT count(*) FROM audit.superseded_rows WHERE superseded_by_line IS NULL AND file LIKE ?",
            [f"%{EXPORTBOOST}"],
        ).fetchone()[0]
    assert withdrawn_rows == 2  # the withdrawn row, and the moved firm's row under its old cohort

    # The original sent again restores it, and a copy of the rejected file is rejected again.
    for folder in (landing, good):
        (folder / "participants" / EXPORTBOOST).write_bytes(original)
    (landing / "participants" / "utan_kohort_igen.csv").write_text(bad, encoding="utf-8")
    night(3)
    with duckdb.connect(str(warehouse / "followup.duckdb"), read_only=True) as con:
        outcome = con.execute("SELECT outcome FROM audit.loads WHERE path LIKE '%utan_kohort_igen.csv'").fetchall()
    assert outcome == [("rejected",)]
    assert (landing / "rejected" / "participants" / "utan_kohort_igen.csv").exists()
