"""Atomic publishing on real DuckDB files, with a reader connected."""

import shutil

import duckdb
import pytest

from warehouse.build_state import publication_is_current, record_publication
from warehouse.publish import (PublicationsDiffer, check_one_publication, identifiers_file, publish,
                               publish_warehouse, published_file)


def _work(path, value):
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE SCHEMA IF NOT EXISTS marts; CREATE SCHEMA IF NOT EXISTS raw")
        con.execute("CREATE OR REPLACE TABLE marts.t AS SELECT ? AS v", [value])
        con.execute("CREATE OR REPLACE TABLE raw.secret AS SELECT '5566778899' AS org_nr")


def test_reader_keeps_its_snapshot_while_a_new_file_is_swapped_in(tmp_path):
    work, target = tmp_path / "work.duckdb", tmp_path / "followup.duckdb"
    _work(work, 1)
    publish(work, target)
    reader = duckdb.connect(str(target), read_only=True)
    _work(work, 2)
    publish(work, target)
    assert reader.execute("SELECT v FROM marts.t").fetchone() == (1,)
    reader.close()
    with duckdb.connect(str(target), read_only=True) as fresh:
        assert fresh.execute("SELECT v FROM marts.t").fetchone() == (2,)
        assert fresh.execute("SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'raw'").fetchone() == (0,)
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_quarantined_values_of_a_sole_traders_row_are_redacted_and_a_firms_shown(tmp_path):
    """A name typed in another column of a sole trader's row (or of a row whose number was not
    read) names a person: the published file shows '[redacted]' where the working file keeps it.
    A firm's bad value is shown as delivered."""
    from ingest.contracts import PARTICIPANTS
    from ingest.load import load_source

    lines = ["Organisationsnummer;Program;Kohort;ledning_kon",
             "811218-9876;Exportboost;2019;Carin Olsson",
             "556677-8899;Exportboost;2019;X",
             ";Exportboost;2019;Anna Svensson",
             *(f"556677-8899;Exportboost;{year};kvinna" for year in range(2014, 2019))]
    (tmp_path / "landing" / "participants").mkdir(parents=True)
    (tmp_path / "landing" / "participants" / "p.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    # Headers in another order than the columns: every row's name lands in Program, and the file is rejected.
    swapped = "Organisationsnummer;Program;Foretagsnamn;Kohort\n800101-1231;Anna Svensson Konsult;Exportboost;2022\n"
    (tmp_path / "landing" / "participants" / "swapped.csv").write_text(swapped, encoding="utf-8")
    work, target = tmp_path / "work.duckdb", tmp_path / "followup.duckdb"
    with duckdb.connect(str(work)) as con:
        load_source(con, PARTICIPANTS, tmp_path / "landing", "night", b"key")
        kept = con.execute("SELECT line, value FROM audit.quarantine WHERE column_name = 'ledning_kon' ORDER BY line")
        assert kept.fetchall() == [(2, "Carin Olsson"), (3, "X"), (4, "Anna Svensson")]
        (rejection,) = con.execute("SELECT message FROM audit.loads WHERE outcome = 'rejected'").fetchone()
        assert "swapped.csv, line 2, column 'Program': value '[redacted]'" in rejection and "Svensson" not in rejection
    publish(work, target)
    with duckdb.connect(str(target), read_only=True) as con:
        shown = con.execute("SELECT line, value, message FROM audit.quarantine ORDER BY line, column_name").fetchall()
    assert [(line, value) for line, value, _ in shown] == [
        (2, "[redacted]"), (3, "X"), (4, "[redacted]"), (4, "[redacted]")]
    text = " ".join(message for _, _, message in shown)
    assert "Olsson" not in text and "Svensson" not in text and "value 'X' is not" in text
    assert "line 2, column 'ledning_kon': value '[redacted]' is not" in text


def test_a_target_whose_indicator_holds_a_personal_number_is_quarantined_and_redacted(tmp_path):
    """An indicator's name is published as delivered (rpt_tillvaxtverket_indicators, the extract, the
    report, the data-quality findings' subject, audit.superseded_rows' natural key): one that holds a
    personal number ("Kontakt Anna 811218-9876") is quarantined, and the published file shows '[redacted]'."""
    from ingest.contracts import TARGETS
    from ingest.load import load_source

    lines = ["program;ar;indikator;mal_kvinnor;mal_man;mal_totalt",
             "Exportboost;2019;Kontakt Anna 811218-9876;1;1;2",
             "Exportboost;2019;Kontakt 81 12 18 - 98 76;1;1;2",
             *(f"Exportboost;{year};Antal deltagande företag;2;3;5" for year in (2019, 2020, 2021))]
    (tmp_path / "landing" / "targets").mkdir(parents=True)
    (tmp_path / "landing" / "targets" / "t.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    work, target = tmp_path / "work.duckdb", tmp_path / "followup.duckdb"
    with duckdb.connect(str(work)) as con:
        load_source(con, TARGETS, tmp_path / "landing", "night", b"key")
        assert con.execute("SELECT DISTINCT indicator FROM raw.targets").fetchall() == [("Antal deltagande företag",)]
        assert con.execute("SELECT line, rule FROM audit.quarantine ORDER BY line").fetchall() == [
            (2, "number_in_published_text"), (3, "number_in_published_text")]
    publish(work, target)
    with duckdb.connect(str(target), read_only=True) as con:
        shown = con.execute("SELECT value, message FROM audit.quarantine ORDER BY line").fetchall()
    assert [value for value, _ in shown] == ["[redacted]", "[redacted]"]
    text = " ".join(message for _, message in shown)
    assert "9876" not in text and "98 76" not in text and "column 'indikator': value '[redacted]' holds" in text


def test_a_restricted_file_is_written_in_a_folder_of_the_owners_alone_and_leftovers_go(tmp_path):
    """A night killed while publishing leaves its half-written copy: the next one removes it, and
    a restricted file's copies are never in a folder others can read."""
    work, restricted = tmp_path / "work.duckdb", tmp_path / "restricted" / "identifiers.duckdb"
    _work(work, 1)
    restricted.parent.mkdir(mode=0o755)
    leftovers = [restricted.with_name(f".{restricted.name}.dead.tmp"), restricted.with_name(f".{restricted.name}.dead.tmp.wal")]
    for leftover in leftovers:
        leftover.write_text("5566778899")
    publish(work, restricted, ("raw",), 0o600)
    assert restricted.parent.stat().st_mode & 0o777 == 0o700
    assert restricted.stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in restricted.parent.iterdir()) == [restricted.name]


def test_a_data_quality_message_naming_a_file_after_a_sole_trader_is_redacted(tmp_path):
    work, target = tmp_path / "work.duckdb", tmp_path / "followup.duckdb"
    _work(work, 1)
    with duckdb.connect(str(work)) as con:
        con.execute("CREATE TABLE marts.rpt_data_quality_warnings AS SELECT 'x: 1a2b' AS finding_key, "
                    "'The participation ends before it starts (lista_800101-1231.csv, line 3)' AS message")
    publish(work, target)
    with duckdb.connect(str(target), read_only=True) as con:
        assert con.execute("SELECT finding_key, message FROM marts.rpt_data_quality_warnings").fetchone() == (
            "x: 1a2b", "The participation ends before it starts (lista_[redacted].csv, line 3)")


def test_both_files_of_a_night_carry_one_publication_and_a_pair_of_two_nights_is_told_apart(tmp_path):
    """A night killed between the two renames leaves one file of each night: a real such pair
    (files copied from two publications) is refused, and the next night does not take it as current."""
    work = tmp_path / "work.duckdb"
    _work(work, 1)
    with duckdb.connect(str(work)) as con:
        con.execute("CREATE SCHEMA restricted; CREATE TABLE restricted.participant_list AS SELECT '5566778899' AS org_nr")
    first, second = tmp_path / "first", tmp_path / "second"
    night_one = publish_warehouse(work, first, run_id="run-1")
    night_two = publish_warehouse(work, second, run_id="run-2")
    assert night_one.id != night_two.id
    with duckdb.connect(str(published_file(first)), read_only=True) as con:
        assert con.execute("SELECT publication_id, run_id FROM audit.publication").fetchall() == [(night_one.id, "run-1")]
    with duckdb.connect(str(identifiers_file(first)), read_only=True) as con:
        assert con.execute("SELECT publication_id, run_id FROM restricted.publication").fetchall() == [(night_one.id, "run-1")]
    check_one_publication(published_file(first), identifiers_file(first))
    with duckdb.connect(str(work)) as con:
        record_publication(con, "digest", first, [])
        assert publication_is_current(con, "digest", first, published_file(first), identifiers_file(first))

    shutil.copyfile(identifiers_file(second), identifiers_file(first))
    with pytest.raises(PublicationsDiffer) as refused:
        check_one_publication(published_file(first), identifiers_file(first))
    message = str(refused.value)
    assert "from different nights" in message and "run `followup run`" in message
    assert str(published_file(first)) in message and str(identifiers_file(first)) in message
    assert night_one.id in message and night_two.id in message
    with duckdb.connect(str(work)) as con:
        assert not publication_is_current(con, "digest", first, published_file(first), identifiers_file(first))
