"""A full `followup run` on a small generated region, checked against independent pandas."""

import csv
import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys
import threading
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import pytest

from orchestration.defs.project import DBT_PROJECT_DIR
from orchestration.night import stockholm_date
from tests.conftest import run_cli
from tests.independent import cohort_summary


def published(run) -> Path:
    return run["warehouse"] / "followup.duckdb"


def test_run_succeeds_and_publishes(nightly_run):
    assert nightly_run["exit_code"] == 0
    assert published(nightly_run).exists()


def test_extracts_and_report_go_under_the_date_the_run_started(nightly_run):
    """Every step files its output under the run's own date, also when the run crosses midnight."""
    warehouse, night = nightly_run["warehouse"], nightly_run["night"]
    for folder in ("extracts", "restricted/extracts", "report"):
        assert {p.name for p in (warehouse / folder).iterdir() if not p.name.startswith(".")} == {night}


def test_stockholm_date_is_the_local_date():
    assert stockholm_date(datetime(2026, 11, 27, 22, 59, tzinfo=timezone.utc).timestamp()) == "2026-11-27"
    assert stockholm_date(datetime(2026, 11, 27, 23, 0, tzinfo=timezone.utc).timestamp()) == "2026-11-28"
    # Summer time: UTC+2.
    assert stockholm_date(datetime(2026, 6, 30, 22, 0, tzinfo=timezone.utc).timestamp()) == "2026-07-01"


def test_cohort_summary_matches_an_independent_computation(nightly_run):
    expected = cohort_summary(nightly_run["landing"]).set_index(["program", "cohort_year"])
    with duckdb.connect(str(published(nightly_run)), read_only=True) as con:
        actual = con.execute("SELECT * FROM marts.rpt_cohort_summary WHERE NOT is_all_cohorts").df()
        overall = con.execute("SELECT * FROM marts.rpt_cohort_summary WHERE is_all_cohorts").df().iloc[0]
    actual = actual.set_index(["program", "cohort_year"])
    assert sorted(actual.index) == sorted(expected.index)
    for key, row in expected.iterrows():
        got = actual.loc[key]
        assert got["n_firms"] == row["n_firms"], key
        assert got["n_firms_turnover_change"] == row["n_firms_turnover_change"], key
        assert got["turnover_sum_tkr"] == pytest.approx(row["turnover_sum_tkr"], abs=1), key
        assert got["employees_sum"] == pytest.approx(row["employees_sum"], abs=1), key
        assert got["turnover_change_pct"] == pytest.approx(row["turnover_change_pct"], abs=0.05), key
    assert overall["n_firms"] == expected["n_firms"].sum()


def test_every_row_read_is_loaded_or_quarantined(nightly_run):
    with duckdb.connect(str(published(nightly_run)), read_only=True) as con:
        broken = con.execute(
            "SELECT path FROM audit.loads WHERE rows_read <> rows_loaded + rows_quarantined"
        ).fetchall()
        files = con.execute("SELECT count(*) FROM audit.loads").fetchone()[0]
    sources = ("participants", "bisnode", "baselines", "markets", "targets")
    landed = [p for s in sources for p in (nightly_run["landing"] / s).iterdir() if p.suffix in (".csv", ".xlsx")]
    assert broken == [] and files == len(landed)


def test_published_file_holds_no_identifiers(nightly_run):
    restricted = nightly_run["warehouse"] / "restricted" / "identifiers.duckdb"
    with duckdb.connect(str(restricted), read_only=True) as con:
        numbers = {r[0] for r in con.execute("SELECT org_nr FROM restricted.firm_identity").fetchall()}
    assert len(numbers) > 1000
    assert stat.S_IMODE(restricted.stat().st_mode) == 0o600
    # The working database keeps the raw rows, numbers among them: only its owner may enter.
    assert stat.S_IMODE((nightly_run["warehouse"] / "work").stat().st_mode) == 0o700
    # Run records and logs name the delivered files, whose names may hold a personal number.
    for folder in ("dagster_home", "logs"):
        assert stat.S_IMODE((nightly_run["warehouse"] / folder).stat().st_mode) == 0o700, folder
    with duckdb.connect(str(published(nightly_run)), read_only=True) as con:
        schemas = {r[0] for r in con.execute("SELECT DISTINCT schema_name FROM duckdb_tables()").fetchall()}
        text_columns = con.execute(
            "SELECT schema_name, table_name, column_name FROM duckdb_columns() WHERE data_type = 'VARCHAR'"
        ).fetchall()
        leaked = []
        for schema, table, column in text_columns:
            values = {r[0] for r in con.execute(f'SELECT DISTINCT "{column}" FROM "{schema}"."{table}"').fetchall()}
            leaked += [(schema, table, column)] if values & numbers else []
    assert "restricted" not in schemas and "raw" not in schemas
    assert leaked == []


def test_sql_command_reads_the_published_file(nightly_run, capsys):
    assert run_cli("sql", "select count(*) as n from marts.rpt_cohort_summary", "--warehouse", str(nightly_run["warehouse"])) == 0
    assert "n" in capsys.readouterr().out
    assert run_cli("sql", "select * from no_such_table", "--warehouse", str(nightly_run["warehouse"])) == 4


def test_sql_command_writes_no_file(nightly_run, tmp_path, capsys):
    before = published(nightly_run).read_bytes()
    for target in (tmp_path / "out.csv", published(nightly_run)):
        query = f"copy (select 1 as a) to '{target}' (format csv)"
        assert run_cli("sql", query, "--warehouse", str(nightly_run["warehouse"])) == 4
    assert not (tmp_path / "out.csv").exists()
    assert published(nightly_run).read_bytes() == before


def _landing_digest(landing: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(landing.rglob("*")):
        digest.update(str(path.relative_to(landing)).encode())
        if path.is_file():
            digest.update(path.read_bytes())
    return digest.hexdigest()


def _copy_of_night(nightly_run, tmp_path) -> tuple[Path, Path]:
    """The landing folder and warehouse of the session's night, copied for a test's own later nights."""
    landing, warehouse = tmp_path / "landing", tmp_path / "warehouse"
    shutil.copytree(nightly_run["landing"], landing)
    shutil.copytree(nightly_run["warehouse"], warehouse, ignore=shutil.ignore_patterns("dagster_home"))
    return landing, warehouse


def _marts(path: Path) -> dict:
    with duckdb.connect(str(path), read_only=True) as con:
        tables = con.execute("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'marts' ORDER BY 1").fetchall()
        return {t: con.execute(f"SELECT * FROM marts.{t} ORDER BY ALL").fetchall() for (t,) in tables}


# Opens the published file read-only, counts the firm-years, and counts them again on the same
# connection once told to (a line on stdin).
ANALYST_SESSION = """
import sys, duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
count = "SELECT count(*) FROM marts.fct_firm_year"
print(con.execute(count).fetchone()[0], flush=True)
sys.stdin.readline()
print(con.execute(count).fetchone()[0], flush=True)
"""


def test_second_run_with_a_reader_connected_publishes_the_same_result(nightly_run):
    before = _marts(published(nightly_run))
    landing_before = _landing_digest(nightly_run["landing"])
    dbt_log = nightly_run["warehouse"] / "work" / "dbt-target" / "dbt.log"
    dbt_log_before = dbt_log.read_text()
    dbt_project_targets = set((DBT_PROJECT_DIR / "target").iterdir())
    # An analyst's session, in a process of its own as it is: within one process DuckDB shares one
    # open file among its connections, so the night's own extract would read the session's file.
    reader = subprocess.Popen([sys.executable, "-c", ANALYST_SESSION, str(published(nightly_run))],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        count_before = reader.stdout.readline()
        assert run_cli(
            "run", "--rebuild", "--landing", str(nightly_run["landing"]), "--warehouse", str(nightly_run["warehouse"])
        ) == 0
        # The open session is neither blocked nor broken: it keeps its consistent snapshot.
        reader.stdin.write("\n")
        reader.stdin.flush()
        assert reader.stdout.readline() == count_before
    finally:
        reader.kill()
        reader.wait()
    assert _marts(published(nightly_run)) == before
    assert _landing_digest(nightly_run["landing"]) == landing_before
    # The second night in a warehouse reuses dbt's parse, and leaves nothing in the dbt project.
    second_night = dbt_log.read_text()[len(dbt_log_before):]
    assert "dbt build" in second_night and "Unable to do partial parsing" not in second_night
    assert set((DBT_PROJECT_DIR / "target").iterdir()) == dbt_project_targets


def _identity(path: Path) -> tuple[int, int]:
    status = path.stat()
    return status.st_ino, status.st_mtime_ns


def _bisnode_audit(warehouse: Path) -> tuple[int, int]:
    with duckdb.connect(str(warehouse / "work" / "followup.duckdb"), read_only=True) as con:
        return con.execute(
            "SELECT (SELECT count(*) FROM audit.loads WHERE source = 'bisnode'), "
            "(SELECT count(*) FROM audit.validation_results WHERE source = 'bisnode')"
        ).fetchone()


def test_quiet_night_republishes_nothing_and_a_new_file_rereads_nothing_else(nightly_run, tmp_path, capsys):
    """No new delivery: nothing is rebuilt. One new participant file: only it is read and validated."""
    landing, warehouse = _copy_of_night(nightly_run, tmp_path)
    files = [p for p in warehouse.rglob("*") if p.is_file() and ".dagster" not in p.parts and "logs" not in p.parts]
    before = {p: _identity(p) for p in files}
    capsys.readouterr()

    assert run_cli("run", "--landing", str(landing), "--warehouse", str(warehouse)) == 0
    assert "nothing was rebuilt or republished" in capsys.readouterr().out
    assert {p: _identity(p) for p in files if p.parent.name != "work"} == {
        p: v for p, v in before.items() if p.parent.name != "work"
    }

    bisnode_before = _bisnode_audit(warehouse)
    # A new intake: this year's Exportboost participants are last intake's firms again.
    with (landing / "participants" / "exportboost.csv").open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    for row in rows:
        row.update(Kohort="2022", Startdatum="2022-03-01", Slutdatum="2022-09-30")
    with (landing / "participants" / "exportboost_tillagg.csv").open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    assert run_cli("run", "--landing", str(landing), "--warehouse", str(warehouse)) == 0
    terminal = capsys.readouterr()
    assert "exportboost_tillagg.csv" not in terminal.err
    # The dbt tests of the models left alone ran no more than the models did: no news for the terminal.
    assert "emitted no result" not in terminal.err + terminal.out
    assert "emitted no result" in (warehouse / "logs" / "last_run.log").read_text(encoding="utf-8")
    assert _bisnode_audit(warehouse) == bisnode_before
    assert _identity(published({"warehouse": warehouse})) != before[published({"warehouse": warehouse})]
    with duckdb.connect(str(published({"warehouse": warehouse})), read_only=True) as con:
        new = con.execute(
            "SELECT source, rows_read FROM audit.loads WHERE path LIKE '%exportboost_tillagg.csv'"
        ).fetchall()
    # (The sample's participant files carry planted bad rows, so some of these may be quarantined.)
    assert new == [("participants", len(rows))]

    # dbt built what reads the participants (and the load log), and left the firm-years alone;
    # what it published is what building everything from the same deliveries publishes.
    run_results = json.loads((warehouse / "work" / "dbt-target" / "run_results.json").read_text())
    built = {result["unique_id"] for result in run_results["results"]}
    assert {"model.followup.fct_cohort_membership", "model.followup.rpt_data_quality_warnings"} <= built
    assert not built & {"model.followup.fct_firm_year", "model.followup.int_bisnode__firm_years_deduplicated"}
    partly_built = _marts(published({"warehouse": warehouse}))
    assert run_cli("run", "--rebuild", "--landing", str(landing), "--warehouse", str(warehouse)) == 0
    assert _marts(published({"warehouse": warehouse})) == partly_built


def test_a_night_that_fails_after_publishing_says_so_and_the_next_night_writes_what_is_missing(
        nightly_run, tmp_path, capsys):
    from orchestration.night import today

    landing, warehouse = _copy_of_night(nightly_run, tmp_path)
    shutil.copyfile(landing / "participants" / "exportboost.csv", landing / "participants" / "exportboost_igen.csv")
    report = warehouse / "report" / today()
    shutil.rmtree(report, ignore_errors=True)
    report.write_text("a file where tonight's report folder goes")
    capsys.readouterr()

    assert run_cli("run", "--landing", str(landing), "--warehouse", str(warehouse)) == 1
    message = capsys.readouterr().err
    assert "failed at step 'cohort_report'" in message and "was published before the failure" in message
    assert "unchanged" not in message

    report.unlink()
    assert run_cli("run", "--landing", str(landing), "--warehouse", str(warehouse)) == 0
    assert "nothing was rebuilt" not in capsys.readouterr().out
    assert (report / "cohort_report.html").exists()


def test_a_night_whose_extract_fails_leaves_no_partial_file_and_the_next_night_writes_the_extract(
        nightly_run, tmp_path, capsys):
    """Tonight's folders already hold an earlier night's complete extract; the files of this one are
    complete under hidden names when one cannot be put in place (a folder holds its name)."""
    from openpyxl import load_workbook

    from orchestration.night import today

    landing, warehouse = _copy_of_night(nightly_run, tmp_path)
    for folder in ("extracts", "restricted/extracts", "report"):
        if not (warehouse / folder / today()).exists():  # the session's night ran on another date
            shutil.copytree(warehouse / folder / nightly_run["night"], warehouse / folder / today())
    shutil.copyfile(landing / "participants" / "exportboost.csv", landing / "participants" / "exportboost_igen.csv")
    extracts, restricted = warehouse / "extracts" / today(), warehouse / "restricted" / "extracts" / today()
    blocker = extracts / "indikatorer.csv"
    blocker.unlink()
    blocker.mkdir()
    capsys.readouterr()

    assert run_cli("run", "--landing", str(landing), "--warehouse", str(warehouse)) == 1
    message = capsys.readouterr().err
    assert "failed at step 'tillvaxtverket_extract'" in message and "was published before the failure" in message
    assert not [p for p in warehouse.rglob("*") if ".partial" in p.name], "a failed extract left a partial file"
    assert load_workbook(extracts / "tillvaxtverket_indikatorer.xlsx")["Indikatorer"].max_row > 1

    blocker.rmdir()
    assert run_cli("run", "--landing", str(landing), "--warehouse", str(warehouse)) == 0
    assert "nothing was rebuilt" not in capsys.readouterr().out
    published_at = published({"warehouse": warehouse}).stat().st_mtime_ns
    for written in (extracts / "tillvaxtverket_indikatorer.xlsx", extracts / "indikatorer.csv",
                    restricted / "deltagarforteckning.xlsx", restricted / "deltagarforteckning.csv"):
        assert written.stat().st_mtime_ns >= published_at, f"{written} is not the publication's"
    assert load_workbook(restricted / "deltagarforteckning.xlsx")["Deltagarförteckning"].max_row > 1


def test_a_night_that_fails_while_publishing_leaves_the_old_file_and_the_next_night_publishes(
        nightly_run, tmp_path, capsys):
    """The restricted file is published first; its rename failing stops the night there."""
    from warehouse.publish import identifiers_file

    landing, warehouse = _copy_of_night(nightly_run, tmp_path)
    shutil.copyfile(landing / "participants" / "exportboost.csv", landing / "participants" / "exportboost_igen.csv")
    before = published({"warehouse": warehouse}).read_bytes()
    blocker = identifiers_file(warehouse)
    blocker.unlink()
    blocker.mkdir()
    (blocker / "kept.txt").write_text("a folder where the identifiers file goes")
    capsys.readouterr()

    assert run_cli("run", "--landing", str(landing), "--warehouse", str(warehouse)) == 1
    message = capsys.readouterr().err
    assert "failed at step 'published_warehouse'" in message and "unchanged" in message
    assert f"make dev DAGSTER_HOME={os.environ['DAGSTER_HOME']}" in message  # where that night's log is
    assert published({"warehouse": warehouse}).read_bytes() == before
    assert (blocker / "kept.txt").exists()
    assert not list(warehouse.rglob("*.tmp")), "a failed publication left its staging file"

    shutil.rmtree(blocker)
    assert run_cli("run", "--landing", str(landing), "--warehouse", str(warehouse)) == 0
    assert "nothing was rebuilt" not in capsys.readouterr().out
    assert published({"warehouse": warehouse}).read_bytes() != before
    with duckdb.connect(str(blocker), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM restricted.firm_identity").fetchone()[0] > 0
    after_failure = _marts(published({"warehouse": warehouse}))
    assert run_cli("run", "--rebuild", "--landing", str(landing), "--warehouse", str(warehouse)) == 0
    assert _marts(published({"warehouse": warehouse})) == after_failure


def test_a_night_whose_analyst_file_cannot_be_replaced_says_the_identifiers_file_alone_is_new(
        nightly_run, tmp_path, capsys, monkeypatch):
    """The identifiers file is renamed first; the analyst file's rename failing after it (a disk
    error, say) leaves a pair of two nights, which the message must not call unchanged."""
    from warehouse.publish import published_file

    landing, warehouse = _copy_of_night(nightly_run, tmp_path)
    shutil.copyfile(landing / "participants" / "exportboost.csv", landing / "participants" / "exportboost_igen.csv")
    analyst = published_file(warehouse)
    before = analyst.read_bytes()
    replace = os.replace

    def replace_but_not_the_analyst_file(source, target):
        if Path(target) == analyst:
            raise OSError(5, "Input/output error")
        replace(source, target)

    monkeypatch.setattr(os, "replace", replace_but_not_the_analyst_file)
    capsys.readouterr()
    assert run_cli("run", "--landing", str(landing), "--warehouse", str(warehouse)) == 1
    message = capsys.readouterr().err
    assert "the restricted identifiers file is this night's" in message
    assert "The analyst file was left unchanged; the next night publishes both files again." in message
    assert "The published warehouse was left unchanged" not in message
    assert analyst.read_bytes() == before
    monkeypatch.setattr(os, "replace", replace)
    assert run_cli("extract", "tillvaxtverket", "--warehouse", str(warehouse)) == 2

    assert run_cli("run", "--landing", str(landing), "--warehouse", str(warehouse)) == 0
    assert analyst.read_bytes() != before
    assert run_cli("extract", "tillvaxtverket", "--warehouse", str(warehouse)) == 0


def test_a_night_whose_pseudonym_key_was_lost_stops_and_names_the_key(nightly_run, tmp_path, capsys):
    landing, warehouse = _copy_of_night(nightly_run, tmp_path)
    key_file = warehouse / "restricted" / "pseudonym.key"
    key = key_file.read_bytes()
    key_file.unlink()
    before = published({"warehouse": warehouse}).read_bytes()
    capsys.readouterr()

    assert run_cli("run", "--landing", str(landing), "--warehouse", str(warehouse)) == 1
    message = capsys.readouterr().err
    assert f"The pseudonym key in {key_file} is not the key the rows already in raw." in message
    assert "line " in message and "column organisationsnummer" in message and "unchanged" in message
    assert published({"warehouse": warehouse}).read_bytes() == before

    key_file.write_bytes(key)
    assert run_cli("run", "--landing", str(landing), "--warehouse", str(warehouse)) == 0


def test_a_night_with_other_counties_covered_stops_until_the_deliveries_are_read_anew(
        nightly_run, tmp_path, capsys, monkeypatch):
    """Files are read once, under the counties covered then: a changed FOLLOWUP_COUNTIES would
    apply to new files only. The night stops and says how to read every delivery anew, and that
    way works, under the same firm keys."""
    landing, warehouse = _copy_of_night(nightly_run, tmp_path)
    before = published({"warehouse": warehouse}).read_bytes()

    def firm_keys() -> set:
        with duckdb.connect(str(published({"warehouse": warehouse})), read_only=True) as con:
            return set(con.execute("SELECT firm_key, program, cohort_year FROM marts.fct_cohort_membership").fetchall())

    keys = firm_keys()
    monkeypatch.setenv("FOLLOWUP_COUNTIES", "13,14")
    capsys.readouterr()
    assert run_cli("run", "--landing", str(landing), "--warehouse", str(warehouse)) == 1
    message = capsys.readouterr().err
    assert "are now Hallands län (13), Västra Götalands län (14), but the deliveries already loaded were checked " \
           "against Västra Götalands län (14)" in message
    assert "FOLLOWUP_COUNTIES=14" in message and "unchanged" in message
    assert published({"warehouse": warehouse}).read_bytes() == before

    (warehouse / "work").rename(tmp_path / "work_before_13")
    assert run_cli("run", "--landing", str(landing), "--warehouse", str(warehouse)) == 0
    assert firm_keys() == keys
    with duckdb.connect(str(published({"warehouse": warehouse})), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM audit.loads").fetchone()[0] == len(
            [p for p in landing.glob("*/*") if p.parent.name not in ("archive", "rejected")])


def test_a_published_file_that_no_longer_opens_is_published_again(nightly_run, tmp_path):
    landing, warehouse = _copy_of_night(nightly_run, tmp_path)
    published({"warehouse": warehouse}).write_text("a,b\n1,2\n")  # overwritten by some other program
    assert run_cli("run", "--landing", str(landing), "--warehouse", str(warehouse)) == 0
    with duckdb.connect(str(published({"warehouse": warehouse})), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM marts.rpt_cohort_summary").fetchone()[0] > 0


def test_failed_run_leaves_the_published_warehouse_untouched(nightly_run, capsys):
    """Another process holding the working database makes the run fail; nothing is published."""
    work_db = nightly_run["warehouse"] / "work" / "followup.duckdb"
    before = published(nightly_run).read_bytes()
    holder = subprocess.Popen(
        [sys.executable, "-c", f"import duckdb, time; c = duckdb.connect({str(work_db)!r}); print('held', flush=True); time.sleep(120)"],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        code = run_cli("run", "--landing", str(nightly_run["landing"]), "--warehouse", str(nightly_run["warehouse"]))
    finally:
        holder.kill()
        holder.wait()
    assert code == 1
    message = capsys.readouterr().err
    assert "failed at step 'raw_" in message and "unchanged" in message
    assert published(nightly_run).read_bytes() == before
    with duckdb.connect(str(published(nightly_run)), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM marts.rpt_cohort_summary").fetchone()[0] > 0


@pytest.mark.parametrize("stop", ["scheduler", "ctrl_c"])
def test_a_night_stopped_during_its_build_says_so_and_the_next_night_completes(stop, small_region, tmp_path):
    """A scheduler ends the job (SIGTERM), or Ctrl-C in the terminal (SIGINT to every process of
    its group), while dbt builds: the message says the night was stopped, not that a file or model
    needs correcting, and no helper process's traceback covers it; the next night runs to the end."""
    import signal
    import time

    landing, warehouse = tmp_path / "landing", tmp_path / "warehouse"
    shutil.copytree(small_region, landing, ignore=shutil.ignore_patterns("archive"))
    command = [sys.executable, "-m", "orchestration.cli", "run", "--landing", str(landing), "--warehouse", str(warehouse)]
    env = {**os.environ, "DAGSTER_HOME": str(warehouse / ".dagster")}
    # A group of its own, as a terminal gives a command, with Ctrl-C's default action (a test run
    # in the background inherits SIGINT ignored).
    night = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                             start_new_session=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))

    def building() -> bool:  # a dbt process of this night's own
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
                cmdline = (stat.parent / "cmdline").read_bytes()
            except OSError:
                continue
            if int(fields[1]) == night.pid and b"dbt" in cmdline and b"build" in cmdline:
                return True
        return False

    deadline = time.monotonic() + 300
    while not building() and night.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert night.poll() is None, "the night ended before its dbt build began"
    if stop == "scheduler":
        night.send_signal(signal.SIGTERM)
    else:
        os.killpg(night.pid, signal.SIGINT)
    _, err = night.communicate(timeout=300)
    assert night.returncode == 1
    assert "was stopped during step 'followup_dbt_models'" in err and "Nothing needs correcting: run it again" in err
    assert "Correct the file or model" not in err
    assert "Traceback" not in err
    assert run_cli("run", "--landing", str(landing), "--warehouse", str(warehouse)) == 0


def test_sources_without_data_leave_their_figures_empty_and_the_rest_is_published(small_region, tmp_path, capsys):
    """No baselines, markets or targets yet: the night still publishes, and says what stays empty."""
    landing = tmp_path / "landing"
    shutil.copytree(small_region, landing, ignore=shutil.ignore_patterns("baselines", "markets", "targets", "archive"))
    capsys.readouterr()
    assert run_cli("run", "--landing", str(landing), "--warehouse", str(tmp_path / "warehouse")) == 0
    out = capsys.readouterr().out
    for source in ("baselines", "markets", "targets"):
        assert f"NO DATA from {source}: no file in landing/{source}/" in out
    assert "NO DATA from bisnode" not in out and "NO DATA from participants" not in out
    with duckdb.connect(str(published({"warehouse": tmp_path / "warehouse"})), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM marts.rpt_cohort_summary WHERE turnover_change_pct IS NOT NULL"
                           ).fetchone()[0] > 0
        assert con.execute("SELECT count(*) FROM marts.rpt_cohort_effects").fetchone()[0] > 0
        assert con.execute("SELECT count(*) FROM marts.rpt_representativity WHERE county_share_pct IS NOT NULL"
                           ).fetchone()[0] == 0


def test_a_night_without_bisnode_data_stops_and_says_what_to_deliver(small_region, tmp_path, capsys):
    landing = tmp_path / "landing"
    shutil.copytree(small_region, landing, ignore=shutil.ignore_patterns("bisnode", "archive"))
    capsys.readouterr()
    assert run_cli("run", "--landing", str(landing), "--warehouse", str(tmp_path / "warehouse")) == 1
    message = capsys.readouterr().err
    assert "raw.bisnode has no usable rows" in message and "Deliver a readable file to landing/bisnode/" in message
    assert not published({"warehouse": tmp_path / "warehouse"}).exists()


def test_missing_landing_folder_is_a_usage_error(tmp_path, capsys):
    assert run_cli("run", "--landing", str(tmp_path / "nope"), "--warehouse", str(tmp_path / "wh")) == 2
    assert "followup sample" in capsys.readouterr().err


def test_a_run_of_some_models_builds_them_and_leaves_the_next_night_to_build_everything(nightly_run, tmp_path):
    """A UI run of a few models completes no build: had it, the next night would take every
    model it did not build as current, and build only what reads that night's deliveries."""
    import dagster as dg

    from orchestration.cli import prepare_environment
    from warehouse.build_state import changed_sources, code_digest, source_digests

    landing, warehouse = _copy_of_night(nightly_run, tmp_path)
    work = warehouse / "work" / "followup.duckdb"
    with duckdb.connect(str(work)) as con:
        assert changed_sources(con, code_digest(), source_digests(con)) == []

    prepare_environment(landing, warehouse)
    from orchestration.definitions import defs

    result = defs.resolve_job_def("nightly").execute_in_process(
        instance=dg.DagsterInstance.ephemeral(), raise_on_error=False,
        asset_selection=[dg.AssetKey(["marts", "dim_cohort"])],
    )
    assert result.success
    with duckdb.connect(str(work)) as con:
        assert changed_sources(con, code_digest(), source_digests(con)) is None


def test_publishing_after_a_run_of_some_models_is_refused_and_the_published_file_stands(nightly_run, tmp_path):
    """Publishing from the UI after a run of some models would publish tables no complete build
    made (or a build a failed test stopped), and the next night would take them for current."""
    import dagster as dg

    from orchestration.cli import failure_paragraph, prepare_environment

    landing, warehouse = _copy_of_night(nightly_run, tmp_path)
    before = (warehouse / "followup.duckdb").read_bytes()
    prepare_environment(landing, warehouse)
    from orchestration.definitions import defs

    job, instance = defs.resolve_job_def("nightly"), dg.DagsterInstance.ephemeral()
    assert job.execute_in_process(instance=instance, raise_on_error=False,
                                  asset_selection=[dg.AssetKey(["marts", "dim_cohort"])]).success
    publishing = job.execute_in_process(instance=instance, raise_on_error=False,
                                        asset_selection=[dg.AssetKey("published_warehouse")])
    assert not publishing.success
    assert "The last dbt build did not complete" in failure_paragraph(publishing)
    assert (warehouse / "followup.duckdb").read_bytes() == before


@pytest.mark.parametrize("dead_run", ["killed_cli_night", "failed_ui_run", "killed_job_execute"])
def test_a_night_killed_midway_holds_no_pool_slot_the_next_night_waits_for(dead_run, nightly_run, tmp_path, monkeypatch):
    """A killed in-process run leaves its run STARTED and its "duckdb" slot claimed; a UI run whose
    worker was killed is marked failed by the code server, its slot still claimed; a killed
    `dagster job execute` leaves its run STARTED, tagged as no `followup run` night. The next night
    must not wait for that slot forever."""
    import dagster as dg

    from orchestration.cli import prepare_environment
    from orchestration.defs.ingest_assets import DUCKDB_POOL
    from orchestration.night_guard import CLI_NIGHT_TAG

    landing, warehouse = _copy_of_night(nightly_run, tmp_path)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    prepare_environment(landing, warehouse)
    with dg.DagsterInstance.get() as instance:
        if dead_run == "killed_cli_night":
            dead = instance.create_run_for_job(dg.GraphDefinition("killed_night").to_job(),
                                               tags={CLI_NIGHT_TAG: "yes"}, status=dg.DagsterRunStatus.STARTED)
        else:
            dead = instance.create_run_for_job(dg.GraphDefinition("ui_run").to_job(), status=dg.DagsterRunStatus.STARTED)
            if dead_run == "failed_ui_run":
                instance.report_run_failed(dead, "Run execution process for the run was terminated by signal 9.")
        instance.event_log_storage.set_concurrency_slots(DUCKDB_POOL, 1)
        claim = instance.event_log_storage.claim_concurrency_slot(DUCKDB_POOL, dead.run_id, "followup_dbt_models")
        assert claim.is_claimed

    night = threading.Thread(target=run_cli, args=("run", "--landing", str(landing), "--warehouse", str(warehouse)),
                             daemon=True)
    night.start()
    night.join(timeout=150)
    assert not night.is_alive(), "the night waited for the pool slot the killed night held"
    with dg.DagsterInstance.get() as instance:
        assert instance.get_run_by_id(dead.run_id).status == dg.DagsterRunStatus.FAILURE
        assert instance.get_runs(limit=1)[0].status == dg.DagsterRunStatus.SUCCESS


@pytest.mark.parametrize("shared", ["Dagster home", "warehouse"])
def test_a_second_night_on_the_same_dagster_home_or_warehouse_stops_with_an_error(
        shared, landing_copy, tmp_path, monkeypatch, capsys):
    """The running night is stood in for by the lock it holds (on the other Dagster home, when
    only the warehouse is shared)."""
    import fcntl

    from orchestration.night_guard import LOCK_FILE

    home, warehouse = tmp_path / "dagster_home", tmp_path / "warehouse"
    home.mkdir()
    (warehouse / "work").mkdir(parents=True)
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    with ((home if shared == "Dagster home" else warehouse / "work") / LOCK_FILE).open("w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        assert run_cli("run", "--landing", str(landing_copy), "--warehouse", str(warehouse)) == 1
    refused = capsys.readouterr().err
    assert f"another night is running on this {shared}" in refused and "Nothing was run" in refused
    assert not (warehouse / "followup.duckdb").exists()
