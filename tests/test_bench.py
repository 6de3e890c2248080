"""The benchmark's own logic: arguments, stage accounting, memory sampling, the floor's SQL, the table.

No nightly run here, and nothing timed: the benchmark itself is run by `make bench`, never by the tests.
"""

import csv
import sys

import duckdb
import pytest

from bench.__main__ import parse_args
from bench.floor import cohort_summary_sql, compare_summaries, firm_key_sql
from bench.nightly import INGEST_OTHER, OTHER_STEPS, RAW_LOAD, READ_VALIDATE, STARTUP, aggregate_stages, stage_of
from bench.process import process_tree, run_measured
from bench.regions import add_participants_delivery, default_cache_dir, region_is_current
from bench.report import cell, cpu_model, memory_total_gb, ratio, render_markdown, render_text, spread


def test_arguments_default_to_every_size_three_times(tmp_path):
    args = parse_args(["--cache", str(tmp_path)])
    assert args.sizes == [20_000, 200_000, 1_200_000]
    assert args.repeat == 3 and not args.no_append and args.cache == tmp_path.resolve()


def test_arguments_take_sizes_repeat_and_no_append(tmp_path):
    args = parse_args(["--sizes", "20000, 1_200_000", "--repeat", "1", "--no-append", "--cache", str(tmp_path)])
    assert (args.sizes, args.repeat, args.no_append) == ([20_000, 1_200_000], 1, True)


@pytest.mark.parametrize("argv", [["--sizes", "20k"], ["--sizes", "0"], ["--repeat", "0"], ["--sizes", ","]])
def test_bad_arguments_are_refused(argv, tmp_path):
    with pytest.raises(SystemExit) as exit_info:
        parse_args([*argv, "--cache", str(tmp_path)])
    assert exit_info.value.code == 2


def test_cache_lives_outside_the_tree():
    assert str(default_cache_dir({"FOLLOWUP_BENCH_CACHE": "/x/y"})) == "/x/y"
    assert str(default_cache_dir({"XDG_CACHE_HOME": "/c"})) == "/c/followup-bench"
    assert default_cache_dir({}).name == "followup-bench"


def test_region_is_regenerated_when_its_manifest_names_another_size(tmp_path):
    assert not region_is_current(tmp_path, 20_000)
    (tmp_path / "manifest.json").write_text('{"n_firms": 20000, "seed": 2020}')
    assert region_is_current(tmp_path, 20_000, 2020)
    assert not region_is_current(tmp_path, 200_000, 2020)
    assert not region_is_current(tmp_path, 20_000, 7)


@pytest.mark.parametrize(("step", "stage"), [
    ("raw_bisnode", "ingest"),
    ("raw_bisnode_bisnode_expectations", "ingest"),
    ("followup_dbt_models", "dbt build"),
    ("staggered_att", "effect estimation"),
    ("cohort_report", "extracts"),
    ("tillvaxtverket_extract", "extracts"),
    ("published_warehouse", "publish"),
    ("something_new", None),
])
def test_steps_are_matched_to_stages_by_name(step, stage):
    assert stage_of(step) == stage


def test_stages_add_up_to_the_total_wall_time():
    steps = {"raw_bisnode": 10.0, "raw_participants": 2.0, "raw_bisnode_bisnode_expectations": 0.5,
             "followup_dbt_models": 30.0, "published_warehouse": 3.0, "tillvaxtverket_extract": 1.0,
             "cohort_report": 2.0, "mystery": 0.5}
    metadata = {"raw_bisnode": {"seconds_read_validate": 7.0, "seconds_raw_load": 2.0},
                "raw_participants": {"seconds_read_validate": 1.0, "seconds_raw_load": 0.25},
                "rpt_cohort_summary": {"rows": 5}}
    stages = aggregate_stages(steps, metadata, total=60.0)
    assert stages[READ_VALIDATE] == 8.0 and stages[RAW_LOAD] == 2.25
    assert stages[INGEST_OTHER] == pytest.approx(12.5 - 8.0 - 2.25)
    assert (stages["dbt build"], stages["publish"], stages["extracts"], stages[OTHER_STEPS]) == (30.0, 3.0, 3.0, 0.5)
    assert stages["effect estimation"] is None  # no staggered-ATT step: "n/a", not 0
    assert stages[STARTUP] == pytest.approx(60.0 - 49.0)
    assert sum(v for v in stages.values() if v is not None) == pytest.approx(60.0)


def test_process_tree_follows_grandchildren_only():
    parents = {10: 1, 11: 10, 12: 11, 13: 1, 14: 13}
    assert process_tree(10, parents) == {10, 11, 12}


def test_measured_run_records_exit_code_and_memory_of_a_grandchild(tmp_path):
    # The child starts a grandchild that holds 200 MB for a second: the tree's peak must include it.
    grandchild = "b = bytearray(200 * 1024 * 1024); import time; time.sleep(1.0)"
    child = f"import subprocess, sys; subprocess.run([sys.executable, '-c', {grandchild!r}]); sys.exit(3)"
    measured = run_measured([sys.executable, "-c", child], tmp_path, "probe")
    assert measured.exit_code == 3
    assert measured.peak_tree_rss_bytes > 200 * 1024 * 1024
    assert measured.largest_process_rss_bytes > 200 * 1024 * 1024


def test_new_participants_delivery_is_fifty_distinct_firms_in_a_new_cohort(tmp_path):
    folder = tmp_path / "participants"
    folder.mkdir()
    header = ["Organisationsnummer", "Foretagsnamn", "Program", "Kohort", "Startdatum", "Slutdatum", "ledning_kon"]
    rows = [[f"556000-{i:04d}", f"F {i}", "Exportboost", 2015 + i % 2, "2015-03-01", "2015-09-01", "man"] for i in range(60)]
    rows.append([" 5560000003 ", "F 3 again", "Exportboost", 2016, "", "", ""])  # the same firm, another form
    with (folder / "exportboost.csv").open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([header, *rows])
    new_file = add_participants_delivery(tmp_path)
    with new_file.open(encoding="utf-8") as fh:
        delivered = list(csv.DictReader(fh))
    assert len(delivered) == 50
    assert len({"".join(c for c in r["Organisationsnummer"] if c.isdigit()) for r in delivered}) == 50
    assert {(r["Program"], r["Kohort"]) for r in delivered} == {("Exportboost", "2022")}
    assert new_file.name != "exportboost.csv"


def test_floor_summary_sql_matches_a_hand_computed_cohort():
    con = duckdb.connect()
    con.execute("CREATE TABLE p0 (Organisationsnummer VARCHAR, Program VARCHAR, Kohort BIGINT)")
    con.execute("INSERT INTO p0 VALUES ('556000-0001', 'A', 2020), ('165560000002', 'A', 2020), ('5560000003', 'B', 2021)")
    con.execute('CREATE TABLE b0 ("Org.nr" VARCHAR, "Bokslutsår" BIGINT, "Nettoomsättning (tkr)" DOUBLE, '
                '"Antal anställda" DOUBLE)')
    con.execute("""INSERT INTO b0 VALUES
        ('5560000001', 2019, 100, 2), ('5560000001', 2023, 150, 4),
        ('556000-0002', 2019, 300, 6), ('556000-0002', 2023, 330, 8),
        ('5560000003', 2020, 50, 1), ('5560000003', 2023, NULL, 1),
        ('5560000099', 2023, 9999, 99)""")
    rows = con.execute(cohort_summary_sql(["p0"], ["b0"])).fetchall()
    columns = [d[0] for d in con.description]
    by_cohort = {(r[0], r[1]): dict(zip(columns, r)) for r in rows}
    a = by_cohort[("A", 2020)]
    assert (a["n_firms"], a["turnover_sum_tkr"], a["turnover_mean_tkr"], a["base_turnover_mean_tkr"]) == (2, 480, 240, 200)
    assert a["turnover_change_pct"] == pytest.approx(100 * (480 - 400) / 400)
    assert a["employees_median"] == 6.0
    b = by_cohort[("B", 2021)]
    assert (b["n_firms"], b["turnover_sum_tkr"], b["turnover_change_pct"]) == (1, None, None)
    every = by_cohort[("Samtliga insatser", None)]
    assert (every["n_firms"], every["turnover_sum_tkr"]) == (3, 480)


def test_firm_key_reads_every_form_of_the_contract():
    con = duckdb.connect()
    forms = ["5566778899", "556677-8899", "16556677-8899", " 5566778899 "]
    keys = {con.execute(f"SELECT {firm_key_sql('?')}", [form]).fetchone()[0] for form in forms}
    assert keys == {"5566778899"}


def test_floor_and_mart_differences_are_named():
    mart = [{"program": "A", "cohort_year": 2020, "n_firms": 2, "turnover_sum_tkr": 480.0},
            {"program": "B", "cohort_year": 2021, "n_firms": 1, "turnover_sum_tkr": None}]
    assert compare_summaries(mart, [dict(r) for r in mart]) == []
    assert compare_summaries(mart, [{**mart[0], "turnover_sum_tkr": 481.0}, mart[1]]) == []  # rounding
    floor = [{**mart[0], "n_firms": 3, "turnover_sum_tkr": 500.0}]
    differences = compare_summaries(mart, floor)
    assert len(differences) == 3 and any("only in the mart" in d for d in differences)


def test_median_min_max_skip_missing_values():
    assert spread([3.0, None, 1.0, 2.0]) == (2.0, 1.0, 3.0)
    assert spread([None]) is None
    assert cell([3.0, 1.0, 2.0], ".1f") == "2.0 (1.0–3.0)"
    assert cell([2.0], ".1f") == "2.0"
    assert cell([], ".1f") == "n/a"
    assert ratio([30.0, 10.0, 20.0], [4.0, 5.0, 6.0]) == 4.0
    assert ratio([1.0], []) is None


def test_tables_have_one_column_per_size_and_section_headings():
    rows = [("nightly run", []), ("  total, s", ["1.0", "12.5 (12.0–13.0)"])]
    text = render_text(["20,000 firms", "200,000 firms"], rows).splitlines()
    assert text[1] == "nightly run" and text[2].endswith("1.0  12.5 (12.0–13.0)")
    markdown = render_markdown(["20,000 firms", "200,000 firms"], rows).splitlines()
    assert markdown[0] == "| | 20,000 firms | 200,000 firms |"
    assert markdown[2].startswith("| **nightly run** |") and markdown[2].count("|") == 4
    assert markdown[3] == "| &nbsp;&nbsp;total, s | 1.0 | 12.5 (12.0–13.0) |"


def test_machine_description_is_parsed_from_proc_files():
    assert cpu_model("processor : 0\nmodel name\t: AMD EPYC 7B13\nflags : x") == "AMD EPYC 7B13"
    assert memory_total_gb("MemTotal:       24000000 kB\nMemFree: 1 kB") == pytest.approx(24.576)


def fake_size_result(night_seconds, floor_seconds, peak_gb=5.0, quiet_seconds=None, republished=False, n_firms=20_000):
    from pathlib import Path

    from bench.floor import FloorRun
    from bench.nightly import Night
    from bench.process import Measured
    from bench.report import SizeResult
    from bench.scenarios import QuietNight

    def measured(seconds, exit_code=0):
        return Measured(exit_code, seconds, int(peak_gb * 1e9), int(peak_gb * 1e9 / 2), Path("out"), Path("err"))

    result = SizeResult(n_firms)
    result.nights = [Night(measured(s), "run", {"followup_dbt_models": s / 2},
                           {"raw_bisnode": {"rows_loaded": 1000, "seconds_read_validate": 1.0}}) for s in night_seconds]
    result.nights.append(Night(measured(1.0, exit_code=1)))  # a failed run counts in no figure
    result.floors = [FloorRun(measured(s), {"seconds_load": s / 2, "seconds_summary": 0.1}) for s in floor_seconds]
    if quiet_seconds is not None:
        result.quiet = QuietNight(Night(measured(quiet_seconds)), republished)
    return result


def test_table_reports_medians_failures_and_the_issue_targets():
    from bench.report import build_rows

    rows = dict(build_rows([fake_size_result([60.0, 40.0, 50.0], [20.0, 25.0, 30.0], quiet_seconds=12.0)]))
    assert rows["runs ok / attempted"] == ["3 / 4"]
    assert rows["total, s"] == ["50.0 (40.0–60.0)"]
    assert rows["time per firm-year, µs"] == ["50000.0 (40000.0–60000.0)"]
    assert rows["nightly / floor (medians)"] == ["2.0×"]
    assert rows["  effect estimation, s"] == ["n/a"]
    assert rows["  peak memory (max over runs) < 8 GB"] == ["met"]
    assert rows["  nightly ≤ 3× floor"] == ["met"]
    assert rows["  no deliveries: < 30 s, nothing republished"] == ["met"]
    assert rows["  new participants file: Bisnode not re-read, not re-validated"] == ["n/a"]


def test_growth_ratio_compares_what_each_size_adds_over_the_smallest():
    from bench.report import build_rows

    small = fake_size_result([30.0, 31.0, 29.0], [2.0, 2.0, 2.0])
    large = fake_size_result([130.0, 120.0, 125.0], [12.0, 14.0, 13.0], n_firms=1_200_000)
    rows = dict(build_rows([small, large]))
    # (125 - 30) / (13 - 2) = 8.6; the plain ratio 125 / 13 = 9.6 also carries the fixed cost.
    assert rows["  growth over 20,000 firms: nightly / floor"] == ["n/a", "8.6×"]
    assert rows["nightly / floor (medians)"] == ["15.0×", "9.6×"]


def test_targets_not_met_are_said_so():
    from bench.report import build_rows

    rows = dict(build_rows([fake_size_result([100.0], [20.0], peak_gb=9.0, quiet_seconds=12.0, republished=True)]))
    assert rows["  peak memory (max over runs) < 8 GB"] == ["NOT met"]
    assert rows["  nightly ≤ 3× floor"] == ["NOT met"]
    assert rows["  no deliveries: < 30 s, nothing republished"] == ["NOT met"]


def test_floor_follow_up_year_is_the_latest_of_the_whole_population():
    # As in the mart: a later year delivered only for a non-participant still sets the follow-up year.
    con = duckdb.connect()
    con.execute("CREATE TABLE p0 AS SELECT '5560000001' AS Organisationsnummer, 'A' AS Program, 2020 AS Kohort")
    con.execute('CREATE TABLE b0 AS SELECT * FROM (VALUES (\'5560000001\', 2023, 150.0, 4.0), (\'5560000099\', 2024, 9.0, 1.0)) '
                't("Org.nr", "Bokslutsår", "Nettoomsättning (tkr)", "Antal anställda")')
    rows = con.execute(cohort_summary_sql(["p0"], ["b0"])).fetchall()
    columns = [d[0] for d in con.description]
    cohort = dict(zip(columns, rows[0]))
    assert (cohort["n_firms"], cohort["turnover_sum_tkr"]) == (1, None)
