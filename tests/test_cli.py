"""The command line's answers to mistaken invocations: a one-line error and exit 2, no traceback."""

import subprocess
import sys

import pytest

from orchestration.cli import EXIT_OK, EXIT_USAGE, landing_problem
from tests.conftest import run_cli


def test_the_landing_folder_must_hold_a_sources_folder(tmp_path):
    a_file = tmp_path / "landing.txt"
    a_file.write_text("x")
    (tmp_path / "empty").mkdir()
    (tmp_path / "region" / "participants").mkdir(parents=True)
    assert "is a file" in landing_problem(a_file)
    assert "does not exist" in landing_problem(tmp_path / "nowhere")
    assert "holds none of the sources' folders" in landing_problem(tmp_path / "empty")
    assert "is the folder of the source participants; --landing takes the folder that holds it" in landing_problem(
        tmp_path / "region" / "participants")
    assert landing_problem(tmp_path / "region") is None


def test_a_run_on_a_landing_folder_without_sources_stops_before_it_starts(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert run_cli("run", "--landing", str(tmp_path / "empty"), "--warehouse", str(tmp_path / "wh")) == EXIT_USAGE
    assert "holds none of the sources' folders" in capsys.readouterr().err
    assert not (tmp_path / "wh").exists()


def test_a_negative_seed_is_a_usage_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as exited:
        run_cli("sample", "--out", str(tmp_path), "--seed", "-1")
    assert exited.value.code == 2 and "the seed is a whole number from 0" in capsys.readouterr().err


def test_a_file_where_a_folder_should_be_is_a_usage_error(tmp_path, capsys):
    a_file = tmp_path / "landing"
    a_file.write_text("x")
    assert run_cli("sample", "--out", str(a_file), "--firms", "10") == EXIT_USAGE
    err = capsys.readouterr().err
    assert str(a_file) in err and "give a folder that can be written to" in err and "Traceback" not in err


def test_commands_on_the_published_file_say_when_it_is_no_database_or_no_folder_was_given(tmp_path, capsys):
    warehouse = tmp_path / "warehouse"
    warehouse.mkdir()
    (warehouse / "followup.duckdb").write_text("overwritten by some other program")
    assert run_cli("report", "--warehouse", str(warehouse), "--out", str(tmp_path / "r")) == EXIT_USAGE
    assert "cannot be opened as a DuckDB database" in capsys.readouterr().err
    assert run_cli("sql", "select 1", "--warehouse", str(warehouse / "followup.duckdb")) == EXIT_USAGE
    assert "--warehouse takes the warehouse folder" in capsys.readouterr().err


def test_output_cut_short_by_its_reader_is_no_error(nightly_run):
    """`followup sql ... | head`: the reader stops reading; no traceback, and the command succeeded."""
    completed = subprocess.run(
        ["bash", "-c", f"{sys.executable} -m orchestration.cli sql 'select * from range(200000)' "
                       f"--warehouse {nightly_run['warehouse']} | head -1; exit ${{PIPESTATUS[0]}}"],
        capture_output=True, text=True,
    )
    assert completed.returncode == EXIT_OK, completed.stderr
    assert "Traceback" not in completed.stderr


def test_sql_prints_values_as_duckdb_holds_them(nightly_run, capsys):
    query = ("select 1584407123.5::double as turnover, 1.23456789::decimal(18, 8) as ratio, null::double as missing, "
             "'nan'::double as not_a_number, x from range(600) t(x)")
    assert run_cli("sql", query, "--warehouse", str(nightly_run["warehouse"])) == EXIT_OK
    out = capsys.readouterr().out
    first = out.splitlines()[1].split()
    assert first == ["1584407123.5", "1.23456789", "NULL", "NaN", "0"]
    assert "only the first 500 rows are shown" in out and len(out.splitlines()) == 1 + 500 + 1


def test_sql_prints_doubles_unrounded(capsys):
    """pandas shows a float to 6 decimals: 1/3 came out 0.333333 and 1e-10 as 0.0."""
    import duckdb

    from orchestration.cli import print_table

    with duckdb.connect() as con:
        print_table(con.sql("select 1 / 3 as third, 1e-10::double as tiny, 0.1::double + 0.2::double as inexact, "
                            "1.23456789::double as ratio, 'inf'::double as infinite"))
    assert capsys.readouterr().out.splitlines()[1].split() == [
        "0.3333333333333333", "1e-10", "0.30000000000000004", "1.23456789", "inf"]


def test_help_names_every_reason_for_exit_3(capsys):
    """`followup --help` said exit 3 was for files rejected whole; files not read give it too."""
    with pytest.raises(SystemExit):
        run_cli("--help")
    help_text = " ".join(capsys.readouterr().out.split())
    assert "3 the run completed, but a delivered file was rejected whole (REJECTED), or could not be opened or " \
           "lies where no source reads it (NOT READ)" in help_text


def test_a_sample_region_a_night_has_read_is_not_called_foreign(tmp_path, capsys):
    """A sample region with archive/ was refused as holding "files that are no sample region's"."""
    region = tmp_path / "region"
    assert run_cli("sample", "--out", str(region), "--firms", "10") == EXIT_OK
    (region / "archive").mkdir()
    capsys.readouterr()
    assert run_cli("sample", "--out", str(region), "--firms", "10") == EXIT_USAGE
    err = capsys.readouterr().err
    assert "a warehouse has read it (archive/)" in err and "no sample region's" not in err


def test_a_sample_is_not_written_over_deliveries(tmp_path, capsys):
    landing = tmp_path / "landing"
    (landing / "participants").mkdir(parents=True)
    (landing / "participants" / "lista.csv").write_text("Organisationsnummer;Program;Kohort\n")
    assert run_cli("sample", "--out", str(landing), "--firms", "10") == EXIT_USAGE
    assert "holds files that are no sample region's" in capsys.readouterr().err
    assert [p.name for p in (landing / "participants").iterdir()] == ["lista.csv"]
    assert run_cli("sample", "--out", str(tmp_path / "region"), "--firms", "10") == EXIT_OK
    assert run_cli("sample", "--out", str(tmp_path / "region"), "--firms", "10") == EXIT_OK  # an earlier sample


def test_sql_aligns_text_left_and_numbers_right(capsys):
    """A long message beside a short one is read from its first word, as numbers are compared by
    their last digit."""
    import duckdb

    from orchestration.cli import print_table

    with duckdb.connect() as con:
        print_table(con.sql("select * from (values ('short', 1), ('a much longer message', 22)) t(message, n)"))
    header, short, long = capsys.readouterr().out.splitlines()
    assert short.startswith("short ") and long.startswith("a much longer message ")
    assert short.endswith(" 1") and long.endswith("22")
    assert header.startswith("message ")
