"""A warehouse covering several counties matches and compares each participant within its own county.

The planted ground truth: a second county whose firms are exact twins of the first county's
non-participants in every base year (same SNI code, size, age and turnover), but whose
turnover grows fivefold from 2016 on. Matched within the county, the effect estimates and
the representativity of the first county's participants must come out exactly as without
the twins; matched across counties, the twins would join the control groups and move them.
"""

import csv
import os
import shutil

import duckdb
import pytest
from stdnum import luhn

from expectations.suites import county_names, municipality_codes, parse_counties, suite_rules
from tests.conftest import run_cli
from tests.independent import _org, memberships

TWIN_MUNICIPALITY = "1380"  # Halmstad, Hallands län (13)
TWINS_GROW_FROM = 2016


def test_counties_setting_names_codes_or_all():
    assert parse_counties("14") == ("14",)
    assert parse_counties(" 14, 1 ,12") == ("01", "12", "14")
    assert parse_counties("ALL") == tuple(county_names())
    with pytest.raises(ValueError, match="15 is not a county code"):
        parse_counties("14,15")


def test_a_bad_counties_setting_stops_the_run_before_it_starts(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("FOLLOWUP_COUNTIES", "14,99")
    assert run_cli("run", "--landing", str(tmp_path), "--warehouse", str(tmp_path / "warehouse")) == 2
    assert "FOLLOWUP_COUNTIES='14,99'" in capsys.readouterr().err
    assert not (tmp_path / "warehouse").exists()


def test_each_county_holds_its_own_municipalities():
    every = municipality_codes(parse_counties("all"))
    assert len(every) == 290 and len(set(every)) == 290
    assert len(county_names()) == 21
    for county in county_names():
        codes = municipality_codes((county,))
        assert codes and all(code.startswith(county) for code in codes)
    assert len(municipality_codes(("14",))) == 49


def test_a_municipality_outside_the_covered_counties_says_how_to_cover_it():
    (rule,) = [r for r in suite_rules("bisnode") if r.kwargs.get("column") == "municipality_code"]
    assert "0180" not in rule.kwargs["value_set"] and "1480" in rule.kwargs["value_set"]
    assert "Västra Götalands län (14)" in rule.advice and "FOLLOWUP_COUNTIES" in rule.advice


def _twin_org(index: int) -> str:
    payload = f"5590{index:05d}"  # digits 3-4 >= 20: a legal entity, unlike any generated number
    return payload + luhn.calc_check_digit(payload)


def _write_twins(landing, target) -> int:
    """Every non-participant firm-year of ``landing``, as a firm of Halmstad growing from 2016."""
    participants = set(memberships(landing)["org"].dropna())
    twins: dict[str, str] = {}
    rows = []
    for path in sorted((landing / "bisnode").glob("*.csv")):
        with path.open(encoding="utf-8-sig", newline="") as fh:
            reader = csv.DictReader(fh, delimiter=";")
            header = reader.fieldnames
            for row in reader:
                org = _org(row["Org.nr"])
                if org is None or org in participants:
                    continue
                twin = twins.setdefault(org, _twin_org(len(twins)))
                turnover = row["Nettoomsättning (tkr)"]
                if turnover and int(row["Bokslutsår"]) >= TWINS_GROW_FROM:
                    turnover = f"{float(turnover.replace(',', '.')) * 5:.1f}".replace(".", ",")
                rows.append({**row, "Org.nr": twin, "Företagsnamn": f"Tvilling {twin}",
                             "Nettoomsättning (tkr)": turnover, "Kommunkod": TWIN_MUNICIPALITY})
    with target.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=header, delimiter=";")
        writer.writeheader()
        writer.writerows(rows)
    return len(rows)


EFFECTS = ("SELECT program, cohort_year, outcome, event_time, effect, ci_low, ci_high, n_treated, n_treated_matched, n_matched_controls "
           "FROM marts.rpt_cohort_effects ORDER BY ALL")
REPRESENTATIVITY = ("SELECT program, dimension, category, n_participants, n_participants_with_category, "
                    "participant_share_pct, county_share_pct, bisnode_share_pct FROM marts.rpt_representativity "
                    "WHERE county_code = ? ORDER BY ALL")


@pytest.fixture(scope="module")
def two_counties(nightly_run, tmp_path_factory):
    """The small region plus Halmstad twins, run with FOLLOWUP_COUNTIES=13,14."""
    landing = tmp_path_factory.mktemp("two_counties") / "landing"
    shutil.copytree(nightly_run["landing"], landing, ignore=shutil.ignore_patterns("archive"))
    n_twin_rows = _write_twins(nightly_run["landing"], landing / "bisnode" / "halland.csv")
    warehouse = tmp_path_factory.mktemp("two_counties_warehouse")
    saved = {k: os.environ.get(k) for k in ("DAGSTER_HOME", "FOLLOWUP_COUNTIES")}
    os.environ["DAGSTER_HOME"] = str(warehouse / "dagster_home")
    os.environ["FOLLOWUP_COUNTIES"] = "13,14"
    try:
        exit_code = run_cli("run", "--landing", str(landing), "--warehouse", str(warehouse))
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    assert exit_code == 0
    return {"warehouse": warehouse / "followup.duckdb", "n_twin_rows": n_twin_rows}


def test_the_second_countys_firms_load(two_counties):
    with duckdb.connect(str(two_counties["warehouse"]), read_only=True) as con:
        loaded = con.execute("SELECT rows_read, rows_loaded FROM audit.loads WHERE path LIKE '%halland.csv'").fetchone()
        counties = dict(con.execute("SELECT county_code, count(*) FROM marts.dim_firm GROUP BY ALL").fetchall())
    assert loaded == (two_counties["n_twin_rows"], two_counties["n_twin_rows"])
    assert counties["13"] > 1000 and counties["14"] > 1000


def test_effects_are_matched_within_the_county(nightly_run, two_counties):
    with duckdb.connect(str(nightly_run["warehouse"] / "followup.duckdb"), read_only=True) as con:
        one_county = con.execute(EFFECTS).fetchall()
    with duckdb.connect(str(two_counties["warehouse"]), read_only=True) as con:
        two = con.execute(EFFECTS).fetchall()
    assert len(one_county) > 100
    assert two == one_county


def test_representativity_compares_with_the_participants_own_county(nightly_run, two_counties):
    with duckdb.connect(str(nightly_run["warehouse"] / "followup.duckdb"), read_only=True) as con:
        one_county = con.execute(REPRESENTATIVITY, ["14"]).fetchall()
    with duckdb.connect(str(two_counties["warehouse"]), read_only=True) as con:
        two = con.execute(REPRESENTATIVITY, ["14"]).fetchall()
        halland = con.execute("SELECT count(*) FROM marts.rpt_representativity WHERE county_code = '13'").fetchone()[0]
    assert len(one_county) > 50
    assert two == one_county
    assert halland == 0  # no participant has its seat there
