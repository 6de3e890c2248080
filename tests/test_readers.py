"""Each reader on each format variant: delimiter, encoding, decimal mark, Excel, title rows."""

import tempfile
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from ingest.contracts import BISNODE, PARTICIPANTS
from ingest.load import OUTCOME_QUARANTINED, OUTCOME_REJECTED, LoadSettings, load_source
from ingest.delivery import FileRejected
from ingest.reader import read_delivery
from ingest.record_lines import scan_lines

VALID = "556677-8899"
BISNODE_HEADER = "Org.nr;Företagsnamn;Bokslutsår;Nettoomsättning (tkr);Exportomsättning (tkr);Antal anställda;Kommunkod;SNI-kod;Registreringsdatum;Bolagsform"


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding))
    return path


def load(tmp_path: Path, source=BISNODE):
    con = duckdb.connect()
    results = load_source(con, source, tmp_path, "test-load", b"key")
    return con, results


def test_semicolon_utf8_bom_with_decimal_commas(tmp_path):
    write(tmp_path / "bisnode" / "a.csv",
          f"{BISNODE_HEADER}\n{VALID};Åkeri AB;2019;1 234,5;;3,5;1480;49410;2001-05-02;AB\n", "utf-8-sig")
    con, results = load(tmp_path)
    assert results[0].outcome == "loaded"
    row = con.execute("SELECT net_turnover_tkr, export_turnover_tkr, employees, company_name FROM raw.bisnode").fetchone()
    assert row == (1234.5, None, 3.5, "Åkeri AB")


def test_comma_file_with_thousands_separators_and_quotes(tmp_path):
    header = BISNODE_HEADER.replace(";", ",")
    write(tmp_path / "bisnode" / "a.csv",
          f'{header}\n{VALID},"Bygg, AB",2019,"1,234,567.5",12.5,"1,200",1480,41200,2001-05-02,AB\n')
    con, _ = load(tmp_path)
    row = con.execute("SELECT net_turnover_tkr, export_turnover_tkr, employees, company_name FROM raw.bisnode").fetchone()
    assert row == (1234567.5, 12.5, 1200.0, "Bygg, AB")


def test_comma_file_reads_an_ambiguous_comma_as_its_column_writes_numbers(tmp_path):
    """In a comma file "4,500" is thousands, unless its column writes a decimal comma elsewhere
    in the file ("0,5"): then it is four and a half. Each column, each file, decides for itself."""
    header = BISNODE_HEADER.replace(";", ",")
    rows = [  # (turnover, export turnover, employees) as delivered, and as meant
        (('"4,500"', '"1,5"', '"2,000"'), (4.5, 1.5, 2000.0)),
        (('"0,5"', '"12.5"', '3'), (0.5, 12.5, 3.0)),
        (('"1 234,5"', '"1,200"', '"1,000"'), (1234.5, 1.2, 1000.0)),
    ]
    lines = [f"{VALID},Bygg AB,{2017 + i},{','.join(delivered)},1480,41200,2001-05-02,AB"
             for i, (delivered, _) in enumerate(rows)]
    write(tmp_path / "bisnode" / "comma.csv", header + "\n" + "\n".join(lines) + "\n")
    write(tmp_path / "bisnode" / "points.csv", header + "\n" + f'{VALID},Bygg AB,2020,"4,500",0.5,2,1480,41200,2001-05-02,AB\n')
    con, results = load(tmp_path)
    assert [r.outcome for r in results] == ["loaded", "loaded"]
    loaded = con.execute(
        "SELECT net_turnover_tkr, export_turnover_tkr, employees FROM raw.bisnode ORDER BY _source_file, _line"
    ).fetchall()
    assert loaded == [meant for _, meant in rows] + [(4500.0, 0.5, 2.0)]


def test_semicolon_file_reads_dots_as_thousands_where_its_column_writes_continental_numbers(tmp_path):
    """A column with a decimal comma (or "1.234.567") groups thousands with dots: its "1.234" is
    one thousand two hundred and thirty-four. A column with neither reads "1.5" as one and a half."""
    rows = [  # (turnover, export turnover, employees) as delivered, and as meant
        (("813,6", "1.234.567", "1.5"), (813.6, 1234567.0, 1.5)),
        (("1.234", "2.500", "2"), (1234.0, 2500.0, 2.0)),
        (("12.345", "12.5", "3"), (12345.0, 12.5, 3.0)),
        (("1.234,5", "7", "4"), (1234.5, 7.0, 4.0)),
    ]
    lines = [f"{VALID};Bygg AB;{2015 + i};{';'.join(delivered)};1480;41200;2001-05-02;AB"
             for i, (delivered, _) in enumerate(rows)]
    write(tmp_path / "bisnode" / "b.csv", BISNODE_HEADER + "\n" + "\n".join(lines) + "\n")
    con, results = load(tmp_path)
    assert results[0].outcome == "loaded", results[0].message
    loaded = con.execute("SELECT net_turnover_tkr, export_turnover_tkr, employees FROM raw.bisnode ORDER BY _line")
    assert loaded.fetchall() == [meant for _, meant in rows]


def test_a_semicolon_file_column_that_writes_english_numbers_reads_them_the_english_way(tmp_path):
    """"1,234.5" says commas group thousands: the column's "12,345" is twelve thousand, and its
    "2.125" two and an eighth, though a semicolon file's "12,345" alone would be a decimal comma."""
    rows = [("1,234.5", 1234.5), ("12,345", 12345.0), ("2.125", 2.125), ("7", 7.0)]
    lines = [f"{VALID};Bygg AB;{2015 + i};{turnover};;3;1480;41200;2001-05-02;AB" for i, (turnover, _) in enumerate(rows)]
    write(tmp_path / "bisnode" / "b.csv", BISNODE_HEADER + "\n" + "\n".join(lines) + "\n")
    con, results = load(tmp_path)
    assert results[0].outcome == "loaded", results[0].message
    loaded = con.execute("SELECT net_turnover_tkr FROM raw.bisnode ORDER BY _line").fetchall()
    assert loaded == [(meant,) for _, meant in rows]


def test_a_column_that_writes_numbers_both_ways_quarantines_those_with_two_readings(tmp_path):
    """"1,234.5" (English) and "0,5" (continental) in one column: "12,345" and "2.125" could be
    either, so they are quarantined saying why; the numbers that say it themselves load."""
    delivered = ["1,234.5", "0,5", "1.234,5", "12,345", "2.125", "1,234,567", "0,500", "99"]
    lines = [f"{VALID};Bygg AB;{2010 + i};{turnover};;3;1480;41200;2001-05-02;AB" for i, turnover in enumerate(delivered)]
    write(tmp_path / "bisnode" / "b.csv", BISNODE_HEADER + "\n" + "\n".join(lines) + "\n")
    con, results = load(tmp_path)
    loaded = con.execute("SELECT net_turnover_tkr FROM raw.bisnode ORDER BY _line").fetchall()
    assert loaded == [(1234.5,), (0.5,), (1234.5,), (1234567.0,), (0.5,), (99.0,)]
    quarantined = con.execute("SELECT line, value, message FROM audit.quarantine ORDER BY line").fetchall()
    assert [(line, value) for line, value, _ in quarantined] == [(5, "12,345"), (6, "2.125")]
    assert all("column 'Nettoomsättning (tkr)'" in m and "both the English way" in m for _, _, m in quarantined)


def test_windows_1252_with_swedish_letters(tmp_path, monkeypatch):
    write(tmp_path / "participants" / "p.csv",
          f"Organisationsnummer;Foretagsnamn;Program;Kohort\n{VALID};Smörgås & Älg AB;Gå globalt;2016\n", "cp1252")
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    con, results = load(tmp_path, PARTICIPANTS)
    assert results[0].outcome == "loaded"
    assert con.execute("SELECT company_name, program FROM raw.participants").fetchone() == ("Smörgås & Älg AB", "Gå globalt")
    assert list(scratch.iterdir()) == []  # the UTF-8 copy is gone once the file is loaded


def test_title_rows_and_header_in_other_case_and_spacing(tmp_path):
    write(tmp_path / "participants" / "p.csv",
          "Deltagarlista Gå globalt 2016;;;\n;;;\n  ORGANISATIONSNUMMER ; Program ;KOHORT;  Ledning_Kon\n"
          f"{VALID};Gå globalt;2016;kvinna\n")
    con, results = load(tmp_path, PARTICIPANTS)
    assert results[0].outcome == "loaded"
    assert con.execute("SELECT cohort_year, leader_gender, _line FROM raw.participants").fetchone() == (2016, "kvinna", 4)


def test_excel_participant_list_with_title_row(tmp_path):
    folder = tmp_path / "participants"
    folder.mkdir()
    frame = pd.DataFrame([["Deltagare 2018", None, None], ["Organisationsnummer", "Program", "Kohort"],
                          [VALID, "Gå globalt", 2018], ["16" + VALID, "Exportboost", 2019]])
    frame.to_excel(folder / "list.xlsx", header=False, index=False)
    con, results = load(tmp_path, PARTICIPANTS)
    assert results[0].outcome == "loaded"
    rows = con.execute("SELECT org_nr, program, cohort_year, _line FROM raw.participants ORDER BY _line").fetchall()
    assert rows == [("5566778899", "Gå globalt", 2018, 3), ("5566778899", "Exportboost", 2019, 4)]


def test_excel_number_cells_keep_their_leading_zeros_and_dates_their_day(tmp_path):
    """Typed into Excel as numbers, a personal number 0012311234 becomes 12311234 and SNI 01110
    becomes 1110; both are padded back. A number-typed year or turnover is read as typed."""
    from datetime import datetime

    from openpyxl import Workbook
    from stdnum import luhn

    personal = "001231123" + luhn.calc_check_digit("001231123")
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(BISNODE_HEADER.split(";"))
    sheet.append([int(personal), "Enskild firma", 2019, 1234.5, None, 3, 1480, 1110, datetime(2001, 5, 2), "EF"])
    sheet.append([VALID, "Bolaget AB", 2019.0, 20, 0, 1.5, "1480", "01110", "2001-05-02", "AB"])
    (tmp_path / "bisnode").mkdir()
    workbook.save(tmp_path / "bisnode" / "b.xlsx")
    con, results = load(tmp_path)
    assert results[0].outcome == "loaded", results[0].message
    rows = con.execute(
        "SELECT org_nr, is_sole_trader, fiscal_year, net_turnover_tkr, employees, municipality_code, sni_code, "
        "registration_date FROM raw.bisnode ORDER BY _line").fetchall()
    day = datetime(2001, 5, 2).date()
    assert rows == [(personal, True, 2019, 1234.5, 3.0, "1480", "01110", day),
                    ("5566778899", False, 2019, 20.0, 1.5, "1480", "01110", day)]


def test_missing_required_column_rejects_the_file_naming_the_column(tmp_path):
    path = write(tmp_path / "participants" / "p.csv", f"Organisationsnummer;Program\n{VALID};Gå globalt\n")
    with pytest.raises(FileRejected) as caught:
        read_delivery(duckdb.connect(), path, PARTICIPANTS, "t")
    assert "kohort" in str(caught.value).lower() and str(path) in str(caught.value)


def test_empty_file_is_rejected_and_accounted(tmp_path):
    write(tmp_path / "participants" / "empty.csv", "")
    con, results = load(tmp_path, PARTICIPANTS)
    assert results[0].outcome == OUTCOME_REJECTED and "empty" in results[0].message
    assert con.execute("SELECT outcome FROM audit.loads").fetchone() == (OUTCOME_REJECTED,)


def test_bad_rows_are_quarantined_with_file_line_column_and_reason(tmp_path):
    path = write(tmp_path / "participants" / "p.csv",
                 "Organisationsnummer;Program;Kohort\n"
                 f"{VALID};Gå globalt;2016\n"      # line 2: fine
                 "556677-8898;Gå globalt;2016\n"   # line 3: Luhn
                 f"{VALID};Gå globalt;2019/20\n"   # line 4: year
                 f"{VALID};Gå globalt;2016;extra\n"  # line 5: too many fields
                 f"{VALID};Exportboost;2017\n"     # line 6: fine
                 f"{VALID};Exportboost;2018\n"     # line 7: fine
                 f"{VALID};Exportboost;2019\n")    # line 8: fine
    con, results = load(tmp_path, PARTICIPANTS)
    result = results[0]
    assert result.outcome == OUTCOME_QUARANTINED
    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (7, 4, 3)
    quarantine = con.execute("SELECT line, column_name, value, rule, message FROM audit.quarantine ORDER BY line").fetchall()
    assert [(q[0], q[1], q[3]) for q in quarantine] == [
        (3, "Organisationsnummer", "organisation_number"), (4, "Kohort", "year"),
        (5, "field 4, after the last column 'Kohort'", "csv_structure"),
    ]
    for line, column, value, _, message in quarantine:
        assert str(path) in message and f"line {line}" in message and column in message
    assert con.execute("SELECT list(_line ORDER BY _line) FROM raw.participants").fetchone()[0] == [2, 6, 7, 8]


def test_values_breaking_a_rule_are_quoted_as_delivered(tmp_path):
    write(tmp_path / "bisnode" / "b.csv",
          BISNODE_HEADER + "\n"
          f"{VALID};A AB;2019;-100;;4;1480;25620;2005-03-01;AB\n"   # line 2: negative turnover
          f"{VALID};A AB;2020;100;;4; 487;25620;2005-03-01;AB\n"    # line 3: no such municipality
          f"{VALID};A AB;2021;100;;4;1480;25620;2005-03-01;AB\n"
          f"{VALID};A AB;2022;100;;4;1480;25620;2005-03-01;AB\n")
    con, _ = load(tmp_path, BISNODE)
    rows = con.execute("SELECT line, column_name, value, message FROM audit.quarantine ORDER BY line").fetchall()
    assert [(line, column, value) for line, column, value, _ in rows] == [
        (2, "Nettoomsättning (tkr)", "-100"), (3, "Kommunkod", "487")]
    assert "value '-100'" in rows[0][3] and "value '487'" in rows[1][3]


def test_rows_after_empty_lines_keep_their_line_numbers(tmp_path):
    """DuckDB passes over empty lines; the lines quarantine and lineage name must still be the file's."""
    write(tmp_path / "participants" / "p.csv",
          "Organisationsnummer;Program;Kohort\r\n"
          f"{VALID};Gå globalt;2016\r\n"      # line 2
          "\r\n"                              # line 3: empty
          f"{VALID};Exportboost;2017\r\n"     # line 4
          "\r\n\r\n"                          # lines 5, 6: empty
          f"{VALID};Exportboost;2019/20\r\n"  # line 7: bad year
          f"{VALID};Exportboost;2016;extra\r\n"  # line 8: too many fields
          "\r\n"                              # line 9: empty
          f"{VALID};Exportboost;2018\r\n"     # line 10
          "\r\n")                             # line 11: empty, after the last row
    con, results = load(tmp_path, PARTICIPANTS)
    assert (results[0].rows_read, results[0].rows_loaded, results[0].rows_quarantined) == (5, 3, 2)
    assert con.execute("SELECT list(_line ORDER BY _line) FROM raw.participants").fetchone()[0] == [2, 4, 10]
    assert con.execute("SELECT list(line ORDER BY line) FROM audit.quarantine").fetchone()[0] == [7, 8]


def test_a_file_with_an_empty_line_after_every_row_keeps_its_line_numbers(tmp_path):
    from stdnum import luhn

    rows = 3000
    numbers = [f"55600{i:04d}" + luhn.calc_check_digit(f"55600{i:04d}") for i in range(rows)]
    body = "".join(f"{number};Exportboost;2017\n\n" for number in numbers)
    write(tmp_path / "participants" / "p.csv", "Organisationsnummer;Program;Kohort\n" + body)
    con, results = load(tmp_path, PARTICIPANTS)
    assert results[0].rows_loaded == rows
    # Row i sits on line 2 + 2i.
    assert con.execute("SELECT list(_line ORDER BY _line) FROM raw.participants").fetchone()[0] == [
        2 + 2 * i for i in range(rows)
    ]


@pytest.mark.parametrize("encoding", ["utf-8", "cp1252"])
def test_rows_after_line_breaks_inside_quotes_keep_their_line_numbers(tmp_path, encoding):
    """A quoted name may span lines (Alt+Enter in an Excel cell); the rows after it keep the file's lines."""
    header = "Organisationsnummer;Företagsnamn;Program;Kohort"
    write(tmp_path / "participants" / "p.csv",
          f"{header}\r\n"
          f"{VALID};Ett AB;Gå globalt;2016\r\n"          # line 2
          f'{VALID};"Två\r\nrader AB";Exportboost;2017\r\n'  # lines 3-4
          f"{VALID};Fyra;Exportboost;2019/20\r\n"        # line 5: bad year
          f'{VALID};"Sex\r\n\r\nÅtta";Gå globalt;2017\r\n'  # lines 6-8, an empty line inside the quotes
          "\r\n"                                          # line 9: empty
          f"{VALID};Tio;Exportboost;2016;extra\r\n"      # line 10: too many fields
          f'{VALID};"Elva\nTolv";Exportboost;2018\r\n'   # lines 11-12
          f"{VALID};Tretton;Gå globalt;2018\r\n", encoding)  # line 13
    con, results = load(tmp_path, PARTICIPANTS)
    assert (results[0].rows_read, results[0].rows_loaded, results[0].rows_quarantined) == (7, 5, 2)
    assert con.execute("SELECT list(_line ORDER BY _line) FROM raw.participants").fetchone()[0] == [2, 3, 6, 11, 13]
    assert con.execute("SELECT company_name FROM raw.participants WHERE _line = 6").fetchone()[0] == "Sex\r\n\r\nÅtta"
    quarantine = con.execute("SELECT line, value, message FROM audit.quarantine ORDER BY line").fetchall()
    assert [line for line, _, _ in quarantine] == [5, 10]
    assert "line 10," in quarantine[1][2] and quarantine[1][1] == f"{VALID};Tio;Exportboost;2016;extra"


@pytest.mark.parametrize("text", [
    "h\na\n\nb\n", "h\r\na\r\n\r\n\r\nb\r\n", "h\n\n\n\n", "\n\nh\na\n", "h\na\nb", "h\na\n\n", "h\n \n\nx\n\n\n", "",
])
def test_lines_and_empty_lines_are_counted(tmp_path, text):
    path = write(tmp_path / "f.csv", text)
    lines = text.split("\n")[:-1] if text.endswith("\n") else text.split("\n")
    expected = [number for number, line in enumerate(lines, start=1) if line in ("", "\r") and number > 1]
    assert scan_lines(path, after=1) == (len(text.splitlines()), expected)


def test_sole_trader_numbers_are_loaded_and_flagged(tmp_path):
    write(tmp_path / "participants" / "p.csv", "Organisationsnummer;Program;Kohort\n811218-9876;Exportboost;2017\n")
    con, _ = load(tmp_path, PARTICIPANTS)
    assert con.execute("SELECT org_nr, is_sole_trader FROM raw.participants").fetchone() == ("8112189876", True)


def test_copies_fall_back_when_the_landing_folder_cannot_be_written(tmp_path):
    landing, fallback = tmp_path / "landing", tmp_path / "copies"
    write(landing / "participants" / "p.csv", f"Organisationsnummer;Program;Kohort\n{VALID};Exportboost;2017\n")
    write(landing / "participants" / "empty.csv", "")
    (landing / "archive").write_text("not a folder")  # stands for a read-only landing share
    (landing / "rejected").write_text("not a folder")
    con = duckdb.connect()
    results = load_source(con, PARTICIPANTS, landing, "test-load", b"key", LoadSettings(fallback_copies_dir=fallback))
    assert sorted(r.outcome for r in results) == ["loaded", OUTCOME_REJECTED]
    assert len(list((fallback / "archive").rglob("*.csv"))) == 2
    assert (fallback / "rejected" / "participants" / "empty.csv.reason.txt").exists()
    assert fallback.stat().st_mode & 0o777 == 0o700  # the copies carry organisation numbers


def test_copies_of_a_delivery_are_no_more_readable_than_it(tmp_path):
    """A list of sole traders sent readable by its owner alone: its archive copy, and a rejected
    file's copy and reason (which may quote its values), stay readable by the owner alone."""
    loaded = write(tmp_path / "participants" / "p.csv", "Organisationsnummer;Program;Kohort\n811218-9876;Exportboost;2017\n")
    rejected = write(tmp_path / "participants" / "utan_kohort.csv", "Organisationsnummer;Program\n811218-9876;Exportboost\n")
    for path in (loaded, rejected):
        path.chmod(0o600)
    _, results = load(tmp_path, PARTICIPANTS)
    assert sorted(r.outcome for r in results) == ["loaded", OUTCOME_REJECTED]
    copies = [*(tmp_path / "archive").rglob("*.csv"), *(tmp_path / "rejected").rglob("*")]
    assert len([c for c in copies if c.is_file()]) == 4
    assert {oct(c.stat().st_mode & 0o777) for c in copies if c.is_file()} <= {oct(0o400), oct(0o600)}
    assert (tmp_path / "archive").stat().st_mode & 0o777 == 0o700


def test_rejected_files_of_two_sources_with_one_name_keep_their_own_copies_and_reasons(tmp_path):
    write(tmp_path / "bisnode" / "leverans.csv", BISNODE_HEADER + "\n")
    write(tmp_path / "participants" / "leverans.csv", "")
    load(tmp_path, BISNODE)
    load(tmp_path, PARTICIPANTS)
    reasons = {source: (tmp_path / "rejected" / source / "leverans.csv.reason.txt").read_text(encoding="utf-8")
               for source in ("bisnode", "participants")}
    assert "no data rows" in reasons["bisnode"] and "empty" in reasons["participants"]
    assert (tmp_path / "rejected" / "bisnode" / "leverans.csv").read_text(encoding="utf-8") == BISNODE_HEADER + "\n"


@pytest.mark.parametrize("comma_groups_thousands, dot_groups_thousands", [(False, False), (True, False), (False, True)])
def test_plain_number_shortcut_agrees_with_the_general_parser(comma_groups_thousands, dot_groups_thousands):
    """Plain numbers skip parse_number; every shape of number must come out as parse_number has it."""
    from ingest.number_marks import NumberMarks, number_sql
    from ingest.typing import TYPING_MACROS

    texts = ["0", "7", "-3", "007", "12,5", "-12,5", "12.5", "1,234", "1,234,567", "1.234", "1.234,5",
             "1,234.5", "1 234,5", "1\u00a0234", "1'234", ",5", ".5", "5,", "5.", "1e5", "inf", "nan",
             "12,34,5", "--1", "+1", "abc", "1,2.3", "123456789012,75"]
    con = duckdb.connect()
    con.execute(TYPING_MACROS)
    con.execute("CREATE TABLE t AS SELECT unnest(?) AS x", [texts])
    rows = con.execute(
        f"SELECT x, {number_sql('x', NumberMarks(comma_groups_thousands, dot_groups_thousands))}, "
        f"parse_number(x, {comma_groups_thousands}, {dot_groups_thousands}) FROM t"
    ).fetchall()
    assert len(rows) == len(texts)
    for text, shortcut, general in rows:
        assert shortcut == general, text


def test_a_typographic_minus_or_en_dash_before_a_number_is_its_sign():
    """So a negative value pasted from a report meets the plausibility rule ("check the sign"),
    not "is not a number"; a dash inside a number is still no number."""
    from ingest.typing import TYPING_MACROS

    con = duckdb.connect()
    con.execute(TYPING_MACROS)
    parsed = con.execute("SELECT parse_number(x, false, false) FROM unnest(?) AS t(x)",
                         [["\u2212120,5", "\u20133", "\u2212 1 234,5", "12\u221250", "\u2212\u22121"]]).fetchall()
    assert parsed == [(-120.5,), (-3.0,), (-1234.5,), (None,), (None,)]


def test_delivered_text_is_the_text_without_spaces_tabs_and_line_breaks_around_it():
    """delivered_text skips trimming for plain ASCII values; it must give what Python's strip of
    spaces (every Unicode separator), tabs and line breaks gives, and nothing for an empty value."""
    import sys
    import unicodedata

    from ingest.typing import TYPING_MACROS

    around = " \t\n\r" + "".join(
        c for c in map(chr, range(sys.maxunicode + 1)) if unicodedata.category(c) in ("Zs", "Zl", "Zp"))
    spaces = [" ", "\u00a0", "\u2007", "\u202f", "\u3000", "\u1680", "\u2028", "\t", "\r\n", "\t \u00a0\t"]
    texts = ["5566778899", "Smörgås AB", "", "   ", "\u00a0", None, "a b", "Å", "x\u00a0y", "a\tb", "\x0bx", "x\x1f"]
    texts += [f"{space}{text}" for space in spaces for text in ("556677-8899", "Åre", "", "2019")]
    texts += [f"{text}{space}" for space in spaces for text in ("1 234,5", "Älg", "x", "2019")]
    con = duckdb.connect()
    con.execute(TYPING_MACROS)
    rows = con.execute("SELECT x, delivered_text(x) FROM (SELECT unnest(?) AS x)", [texts]).fetchall()
    assert len(rows) == len(texts)
    for text, delivered in rows:
        assert delivered == (text.strip(around) or None if text is not None else None), repr(text)


def test_values_padded_with_tabs_in_a_semicolon_file_load_as_their_values(tmp_path):
    """A tab before or after a value (a cell copied from a spreadsheet) is no part of it."""
    write(tmp_path / "bisnode" / "a.csv",
          f"{BISNODE_HEADER}\n{VALID}\t;Åkeri AB\t;\t2019\t;1 234,5\t;;3;1480\t;\t49410;2001-05-02\t;AB\t\n")
    con, results = load(tmp_path)
    assert (results[0].outcome, results[0].rows_loaded) == ("loaded", 1)
    assert con.execute(
        "SELECT fiscal_year, net_turnover_tkr, municipality_code, sni_code, registration_date, legal_form, company_name "
        "FROM raw.bisnode").fetchone() == (2019, 1234.5, "1480", "49410", pd.Timestamp("2001-05-02").date(), "AB",
                                           "Åkeri AB")


def test_text_saved_decomposed_as_macos_does_matches_headers_and_lists(tmp_path):
    import unicodedata

    text = f"Organisationsnummer;Företagsnamn;Program;Kohort;ledning_kön\n{VALID};Å AB;Gå globalt;2016;kvinna\n"
    decomposed = unicodedata.normalize("NFD", text)
    assert decomposed != text
    write(tmp_path / "participants" / "p.csv", decomposed)
    con, results = load(tmp_path, PARTICIPANTS)
    assert (results[0].outcome, results[0].message) == ("loaded", "")
    assert con.execute("SELECT company_name, program, leader_gender FROM raw.participants").fetchone() == (
        "Å AB", "Gå globalt", "kvinna")


def test_headers_typed_without_accents_match_and_no_two_columns_differ_by_accents_alone(tmp_path):
    import unicodedata

    from ingest.contracts import SOURCES, normalise_header

    def plain(text):
        return "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))

    header = ";".join(plain(h) for h in BISNODE_HEADER.split(";"))
    assert header != BISNODE_HEADER  # Nettoomsattning (tkr), Antal anstallda, Bokslutsar
    write(tmp_path / "bisnode" / "a.csv", f"{header}\n{VALID};Åkeri AB;2019;1 234,5;;3,5;1480;49410;2001-05-02;AB\n")
    con, results = load(tmp_path)
    assert results[0].outcome == "loaded"
    assert con.execute("SELECT net_turnover_tkr, employees FROM raw.bisnode").fetchone() == (1234.5, 3.5)
    for source in SOURCES.values():
        owners = {}
        for column in source.columns:
            for delivered in column.headers:
                assert owners.setdefault(normalise_header(delivered), column.name) == column.name, (source.name, delivered)


def test_a_comma_is_a_decimal_mark_only_where_it_cannot_group_thousands():
    from ingest.typing import TYPING_MACROS

    decimal_only = ["0,5", "-0,5", "\u22120,5", "0,500", "12,34", "1234,5", "1 234,5", "1.234,5", "1.234.567,25",
                    "1,2345", " 7,25 "]
    either_or_none = ["4,500", "-4,500", "1,234,567", "1,234.5", "4.5", "4500", "12,5,3", "abc", ",5", "5,", ""]
    con = duckdb.connect()
    con.execute(TYPING_MACROS)
    verdicts = dict(con.execute("SELECT x, writes_decimal_comma(x) FROM unnest(?) AS t(x)",
                                [decimal_only + either_or_none]).fetchall())
    assert [x for x in decimal_only if not verdicts[x]] == []
    assert [x for x in either_or_none if verdicts[x]] == []


def test_a_number_is_continental_by_its_decimal_comma_or_its_dot_groups():
    from ingest.typing import TYPING_MACROS

    con = duckdb.connect()
    con.execute(TYPING_MACROS)

    def verdicts(texts: list[str], comma_delimited: bool) -> list[bool]:
        return [v for (v,) in con.execute(f"SELECT writes_continental_number(x, {comma_delimited}) "
                                          "FROM unnest(?) WITH ORDINALITY AS t(x, i) ORDER BY i", [texts]).fetchall()]

    assert verdicts(["4,500", "0,5", "1 234,5", "1.234,5", "1.234.567", "-2,5"], False) == [True] * 6
    assert verdicts(["1.234", "12.5", "1234", "a,b", "1,", ",5", "1.23.4"], False) == [False] * 7
    assert verdicts(["0,5", "1.234.567", "1.234,5"], True) == [True] * 3
    assert verdicts(["4,500", "1,234,567", "1.234", "12.5"], True) == [False] * 4


def test_a_date_with_a_time_of_day_is_that_date(tmp_path):
    """An Excel date cell with a time, or a system's timestamp, in a date column: the date; a
    time that is no time, or a date that is none, is no date."""
    from datetime import date, datetime

    from openpyxl import Workbook

    workbook = Workbook()
    workbook.active.append(BISNODE_HEADER.split(";"))
    delivered = [datetime(2005, 3, 1, 14, 30), "2006-04-02T08:15:00", "2007-05-03 23:59:59.5", "2008-06-04 25:99",
                 "2009-02-30 10:00"]
    for year, registered in enumerate(delivered, start=2015):
        workbook.active.append([VALID, "Åkeri AB", year, 100, None, 3, "1480", "49410", registered, "AB"])
    (tmp_path / "bisnode").mkdir()
    workbook.save(tmp_path / "bisnode" / "b.xlsx")
    con, results = load(tmp_path)
    assert results[0].outcome == "loaded_with_quarantine"
    loaded = con.execute("SELECT registration_date FROM raw.bisnode ORDER BY _line").fetchall()
    assert loaded == [(date(2005, 3, 1),), (date(2006, 4, 2),), (date(2007, 5, 3),)]
    quarantined = con.execute("SELECT line, value FROM audit.quarantine ORDER BY line").fetchall()
    assert quarantined == [(5, "2008-06-04 25:99"), (6, "2009-02-30 10:00")]


def test_a_country_that_is_no_iso_code_is_quarantined_with_the_code_it_likely_means(tmp_path):
    from ingest.contracts import MARKETS

    delivered = ["UK", "nor", "Norge", "Tyskland", "Germany", "EL", "XX"] + ["NO"] * 8  # most rows fine
    rows = "".join(f"{VALID};{2005 + i};{country};100\n" for i, country in enumerate(delivered))
    write(tmp_path / "markets" / "m.csv", "organisationsnummer;ar;land;exportvarde_tkr\n" + rows)
    con, results = load(tmp_path, MARKETS)
    assert (results[0].rows_loaded, results[0].rows_quarantined) == (8, 7)
    messages = [m for (m,) in con.execute("SELECT message FROM audit.quarantine ORDER BY line").fetchall()]
    hints = [m.split("; ")[-1] if "did you mean" in m else None for m in messages]
    assert hints == ["did you mean GB (Förenade kungariket)?", "did you mean NO (Norge)?", "did you mean NO (Norge)?",
                     "did you mean DE (Tyskland)?", "did you mean DE (Tyskland)?", "did you mean GR (Grekland)?", None]


def test_dates_and_numbers_that_fail_say_why(tmp_path):
    """Excel's date for an empty cell, a date that does not exist and a number in scientific
    notation are quarantined, each with its own reason rather than "not an ISO date / a number"."""
    from datetime import datetime

    from openpyxl import Workbook

    workbook = Workbook()
    workbook.active.append(BISNODE_HEADER.split(";"))
    cells = [(100, datetime(1899, 12, 30)), (100, "2001-02-30"), ("1.2E+05", "2005-03-01")] + [(100, "2005-03-01")] * 4
    for year, (turnover, registered) in enumerate(cells, start=2010):
        workbook.active.append([VALID, "Åkeri AB", year, turnover, None, 3, "1480", "49410", registered, "AB"])
    (tmp_path / "bisnode").mkdir()
    workbook.save(tmp_path / "bisnode" / "b.xlsx")
    con, results = load(tmp_path)
    assert results[0].rows_quarantined == 3
    messages = [m for (m,) in con.execute("SELECT message FROM audit.quarantine ORDER BY line").fetchall()]
    assert "line 2, column 'Registreringsdatum'" in messages[0] and "what Excel shows for an empty date cell" in messages[0]
    assert "line 3, column 'Registreringsdatum'" in messages[1] and "no such date or time exists" in messages[1]
    assert "line 4, column 'Nettoomsättning (tkr)'" in messages[2] and "scientific notation" in messages[2]


def test_a_whole_number_too_large_for_any_count_is_quarantined_not_a_failed_night(tmp_path):
    """A target of 20 digits (two values run together) does not fit a 64-bit integer: the row
    is quarantined naming line and column, and the file's other rows load."""
    from ingest.contracts import TARGETS

    header = "program;ar;indikator;mal_kvinnor;mal_man;mal_totalt\n"
    rows = [f"Exportboost;{year};Antal deltagande företag;2;3;5\n" for year in range(2015, 2022)]
    rows[3] = "Exportboost;2018;Antal deltagande företag;2;3;99999999999999999999\n"
    write(tmp_path / "targets" / "t.csv", header + "".join(rows))
    con, results = load(tmp_path, TARGETS)
    assert (results[0].rows_loaded, results[0].rows_quarantined) == (6, 1)
    (message,) = con.execute("SELECT message FROM audit.quarantine").fetchone()
    assert "line 5, column 'mal_totalt'" in message and "more than 18 digits" in message


def test_a_row_too_long_to_read_is_quarantined_saying_so(tmp_path):
    """A note of 2.2 MB pasted into a column the contract does not have: the row cannot be read,
    and its message says why (it said "could not be parsed (none)"); the other rows load."""
    rows = [f"{VALID};Gå globalt;{2015 + i};kort" for i in range(4)]
    rows[1] = rows[1].replace("kort", "x" * 2_200_000)
    write(tmp_path / "participants" / "p.csv", "Organisationsnummer;Program;Kohort;Kommentar\n" + "\n".join(rows) + "\n")
    con, results = load(tmp_path, PARTICIPANTS)
    assert (results[0].rows_loaded, results[0].rows_quarantined) == (3, 1)
    (line, message) = con.execute("SELECT line, message FROM audit.quarantine").fetchone()
    assert line == 3 and "longer than the 2,000,000 bytes a row may be" in message


def test_a_workbook_whose_name_ends_in_a_space_is_read_as_a_workbook(tmp_path):
    folder = tmp_path / "participants"
    folder.mkdir()
    frame = pd.DataFrame([["Organisationsnummer", "Program", "Kohort"], [VALID, "Gå globalt", 2018]])
    frame.to_excel(folder / "lista.xlsx", header=False, index=False)
    (folder / "lista.xlsx").rename(folder / "lista.xlsx ")
    _, results = load(tmp_path, PARTICIPANTS)
    assert [(r.outcome, r.rows_loaded) for r in results] == [("loaded", 1)]


def test_a_file_that_fails_to_read_while_it_is_still_being_written_waits_for_a_later_night(tmp_path, monkeypatch):
    """A half-written file can trip a reader in ways no check foresaw; if the file changed while
    it was read, that is no fault of the night's: the file waits, the night goes on."""
    from ingest import load

    path = write(tmp_path / "participants" / "p.csv", f"Organisationsnummer;Program;Kohort\n{VALID};Gå glo")
    real_stage = load._stage_file

    def stage_while_the_copy_goes_on(*args):
        path.write_text(f"Organisationsnummer;Program;Kohort\n{VALID};Gå globalt;2018\n", encoding="utf-8")
        raise RuntimeError("the reader tripped over half a row")

    monkeypatch.setattr(load, "_stage_file", stage_while_the_copy_goes_on)
    con = duckdb.connect()
    results = load_source(con, PARTICIPANTS, tmp_path, "night-1", b"key")
    assert [r.outcome for r in results] == [load.OUTCOME_STILL_ARRIVING]
    assert con.execute("SELECT count(*) FROM audit.loads").fetchone() == (0,)
    monkeypatch.setattr(load, "_stage_file", real_stage)
    results = load_source(con, PARTICIPANTS, tmp_path, "night-2", b"key")
    assert [(r.outcome, r.rows_loaded) for r in results] == [("loaded", 1)]


def test_a_header_a_few_letters_off_is_named_as_the_column_it_likely_means():
    from ingest.delivery import find_header

    with pytest.raises(ValueError) as refused:
        find_header([["Organisationsnumer", "Foretagsnamn", "Progam", "Kohort"]], PARTICIPANTS)
    assert str(refused.value).startswith(
        "missing required column(s) organisationsnummer, program in the header on line 1 ('Organisationsnumer' may be "
        "organisationsnummer misspelt; 'Progam' may be program misspelt)")


def test_a_header_excel_wrapped_onto_two_lines_or_soft_hyphenated_matches_its_column():
    from ingest.delivery import find_header

    _, mapping, unknown = find_header(
        [["Organisations-\nnummer", "Pro\u00adgram", "Kohort", "ledning\nkön"]], PARTICIPANTS)
    assert (mapping, unknown) == ({"organisationsnummer": 0, "program": 1, "cohort_year": 2}, ["ledning\nkön"])


def test_a_leaders_gender_in_short_form_or_plural_is_read_and_any_other_word_quarantined(tmp_path):
    """K and M, kvinnor and män, in any case, mean kvinna and man: the firm is not lost from its cohort."""
    genders = ["K", "m", "Kvinnor", "MÄN", "kvinna", "Man", "", "okänd"]
    rows = [f"{VALID};Exportboost;{2010 + i};{g}" for i, g in enumerate(genders)]
    write(tmp_path / "participants" / "p.csv", "\n".join(["Organisationsnummer;Program;Kohort;ledning_kon", *rows]) + "\n")
    con, _ = load(tmp_path, PARTICIPANTS)
    loaded = dict(con.execute("SELECT cohort_year, leader_gender FROM raw.participants").fetchall())
    assert loaded == {2010: "kvinna", 2011: "man", 2012: "kvinna", 2013: "man", 2014: "kvinna", 2015: "man", 2016: None}
    assert con.execute("SELECT line, value FROM audit.quarantine").fetchall() == [(9, "okänd")]


def test_values_excel_kept_as_text_with_an_equals_sign_and_quotes_are_the_text_inside(tmp_path):
    write(tmp_path / "participants" / "p.csv",
          f'Organisationsnummer;Program;Kohort;Startdatum\n="{VALID}";Exportboost;="2019";=""\n')
    con, results = load(tmp_path, PARTICIPANTS)
    assert (results[0].outcome, results[0].message) == ("loaded", "")
    assert con.execute("SELECT org_nr, cohort_year, start_date FROM raw.participants").fetchone() == (
        VALID.replace("-", ""), 2019, None)


def test_text_encoded_twice_is_rejected_naming_the_line_and_the_letter(tmp_path):
    text = "Organisationsnummer;Foretagsnamn;Program;Kohort\n" + f"{VALID};Smörgås AB;Gå globalt;2016\n" * 2
    twice = text.encode("utf-8").decode("cp1252").encode("utf-8")
    (tmp_path / "participants").mkdir()
    (tmp_path / "participants" / "p.csv").write_bytes(twice)
    _, results = load(tmp_path, PARTICIPANTS)
    assert results[0].outcome == OUTCOME_REJECTED
    assert "p.csv, line 2: the text is encoded twice: 'Ã¶' is 'ö'" in results[0].message


def test_text_in_mac_roman_is_rejected_naming_the_line(tmp_path):
    text = "Organisationsnummer;Foretagsnamn;Program;Kohort\n" + f"{VALID};Bygg AB;Exportboost;2016\n{VALID};Smörgås AB;Gå globalt;2016\n"
    (tmp_path / "participants").mkdir()
    (tmp_path / "participants" / "p.csv").write_bytes(text.encode("mac_roman"))
    _, results = load(tmp_path, PARTICIPANTS)
    assert results[0].outcome == OUTCOME_REJECTED
    assert "p.csv, line 3: the file is in the Mac's own encoding (Mac Roman" in results[0].message


def test_a_year_with_zero_decimals_is_the_year_and_a_date_for_a_year_says_so(tmp_path):
    rows = [f"{VALID};Exportboost;{year}" for year in ("2019,0", "2018.00", "2017-01-01 00:00:00")]
    write(tmp_path / "participants" / "p.csv", "\n".join(["Organisationsnummer;Program;Kohort", *rows]) + "\n")
    con, _ = load(tmp_path, PARTICIPANTS)
    assert sorted(con.execute("SELECT cohort_year FROM raw.participants").fetchall()) == [(2018,), (2019,)]
    (message,) = con.execute("SELECT message FROM audit.quarantine").fetchone()
    assert message.endswith("line 4, column 'Kohort': value '2017-01-01 00:00:00' is a date, not a year (a cell "
                            "formatted as a date shows one); write the year alone, e.g. 2019")


def test_codes_a_csv_saved_from_excel_lost_leading_zeros_of_get_them_back(tmp_path):
    rows = [f"{VALID};AB;{2017 + i};1;;1;{kommun};{sni};2001-05-02;AB"
            for i, (kommun, sni) in enumerate([("180", "1110"), ("1480", "49410"), ("14x", "123")])]
    write(tmp_path / "bisnode" / "a.csv", "\n".join([BISNODE_HEADER, *rows]) + "\n")
    con = duckdb.connect()
    load_source(con, BISNODE, tmp_path, "test-load", b"key", LoadSettings(counties=("01", "14")))  # Stockholm's too
    assert sorted(con.execute("SELECT municipality_code, sni_code FROM raw.bisnode").fetchall()) == [
        ("0180", "01110"), ("1480", "49410")]
    quarantined = con.execute("SELECT column_name, value FROM audit.quarantine ORDER BY column_name").fetchall()
    assert quarantined == [("Kommunkod", "14x"), ("SNI-kod", "123")]


def test_a_baseline_dimension_in_capitals_or_with_its_swedish_letter_is_the_contracts_word(tmp_path):
    from ingest.contracts import BASELINES

    rows = ["1480;2019;Storleksklass;1-4;10", "1480;2019;ålder;10-14;5", "1480;2019;SNI_avdelning;C;3",
            "1480;2019;storlek;1-4;1"]
    write(tmp_path / "baselines" / "scb.csv", "\n".join(["kommunkod;ar;dimension;kategori;antal_foretag", *rows]) + "\n")
    con, _ = load(tmp_path, BASELINES)
    assert sorted(con.execute("SELECT dimension, category FROM raw.baselines").fetchall()) == [
        ("alder", "10-14"), ("sni_avdelning", "C"), ("storleksklass", "1-4")]
    assert con.execute("SELECT line, value FROM audit.quarantine WHERE column_name = 'dimension'").fetchall() == [
        (5, "storlek")]


@pytest.mark.parametrize("folder", ["landing", "share [2019]"])
def test_a_file_whose_name_holds_glob_characters_is_read_as_itself(tmp_path, folder):
    """DuckDB takes [ ] * ? in a name as a pattern: "exportboost[1].csv" read exportboost1.csv
    instead, and "lista?.csv" every file it matches. Each file is read as itself, in a folder
    whose name holds them too, and Windows-1252 files (read through a UTF-8 copy) alike."""
    from stdnum import luhn

    landing = tmp_path / folder
    names = ["exportboost[1].csv", "exportboost1.csv", "lista?.csv", "lista*.csv", "listaX.csv", "{a,b}.csv",
             "a.csv", "b[!a].csv", "smörgås[1].csv", "smörgås1.csv"]
    numbers = {name: f"55900{i:04d}" + luhn.calc_check_digit(f"55900{i:04d}") for i, name in enumerate(names)}
    for name, number in numbers.items():
        write(landing / "participants" / name, f"Organisationsnummer;Foretagsnamn;Program;Kohort\n"
              f"{number};Å {name};Exportboost;2019\n", "cp1252" if name.startswith("smörgås") else "utf-8")
    con, results = load(landing, PARTICIPANTS)
    assert {(r.path.name, r.outcome, r.rows_read) for r in results} == {(n, "loaded", 1) for n in names}
    loaded = con.execute("SELECT parse_filename(_source_file), org_nr, company_name FROM raw.participants").fetchall()
    assert sorted(loaded) == sorted((name, number, f"Å {name}") for name, number in numbers.items())


def test_a_file_mixing_utf8_and_windows_1252_lines_is_rejected_naming_a_line_of_each(tmp_path):
    """Read as Windows-1252, the UTF-8 lines would load garbled ('BrÃ¶derna Ek AB') or be
    quarantined for the wrong reason ("'GÃ¥ globalt' is not a program"). Whichever part comes
    first; a Windows-1252 file whose 'Ã' stands before no UTF-8 letter loads."""
    header = "Organisationsnummer;Foretagsnamn;Program;Kohort\n"
    utf8 = "5590000013;Åkeriet i Göteborg AB;Gå globalt;2019\n5560000019;Bröderna Ek AB;Exportboost;2019\n"
    cp1252 = "5560000027;Smörgåsbolaget AB;Exportboost;2019\n"
    folder = tmp_path / "participants"
    folder.mkdir()
    (folder / "utf8_first.csv").write_bytes((header + utf8).encode("utf-8") + cp1252.encode("cp1252"))
    (folder / "cp1252_first.csv").write_bytes((header + cp1252).encode("cp1252") + utf8.encode("utf-8"))
    (folder / "genuine.csv").write_bytes(
        (header + "5590000013;SÃO PAULO Ã× AB;Exportboost;2019\n" + cp1252).encode("cp1252"))
    _, results = load(tmp_path, PARTICIPANTS)
    outcome = {r.path.name: (r.outcome, r.message) for r in results}
    assert outcome["genuine.csv"] == ("loaded", "")
    assert outcome["utf8_first.csv"][0] == outcome["cp1252_first.csv"][0] == OUTCOME_REJECTED
    assert "utf8_first.csv, line 4: the file mixes two encodings: this line is not UTF-8 (byte 0xf6, 'ö' in " \
           "Windows-1252), but line 2 is (it spells 'Å' as UTF-8 does" in outcome["utf8_first.csv"][1]
    assert "cp1252_first.csv, line 2: the file mixes two encodings: this line is not UTF-8 (byte 0xf6, 'ö' in " \
           "Windows-1252), but line 3 is (it spells 'Å' as UTF-8 does" in outcome["cp1252_first.csv"][1]
    assert "save the whole file in one encoding" in outcome["utf8_first.csv"][1]


def test_a_cut_off_line_is_quoted_with_its_personal_number_redacted_before_it_is_shortened(tmp_path):
    """Shortened first, '…;19811218-98...' kept a birth date and two digits the redaction (which
    needs the whole number) could no longer find, and the published message showed them."""
    from ingest.typing import redact_number_like

    write(tmp_path / "participants" / "p.csv",
          "Foretagsnamn;Program;Kohort;Organisationsnummer;Startdatum;ledning_kon\n"
          f"Bygg AB;Gå globalt;2019;{VALID};2019-03-01;man\n"
          "Anderssons Bygg och Måleri AB;Gå globalt;2019;19811218-9876;2019-0")
    _, results = load(tmp_path, PARTICIPANTS)
    assert results[0].outcome == OUTCOME_REJECTED
    published = redact_number_like(results[0].message)
    assert "line 3: the file ends in this line without a line break" in published
    assert "9811218" not in published and "[redacted]" in published


@pytest.mark.parametrize("zeros", [1, 4096])
def test_a_file_padded_with_zero_bytes_is_rejected_as_a_broken_copy(tmp_path, zeros):
    """A copy broken off (a full disk, a failed transfer) can leave the file's end as zero bytes:
    neither a row cut off nor binary data, but a file to copy again."""
    text = f"Organisationsnummer;Program;Kohort\n{VALID};Exportboost;2019\n"
    (tmp_path / "participants").mkdir()
    (tmp_path / "participants" / "p.csv").write_bytes(text.encode("utf-8") + b"\x00" * zeros)
    _, results = load(tmp_path, PARTICIPANTS)
    assert results[0].outcome == OUTCOME_REJECTED
    assert results[0].message.endswith(
        f"p.csv: the file ends in {zeros} zero byte{'s' if zeros > 1 else ''} after its text, as a copy broken off "
        "(a full disk, a failed transfer) leaves it; copy it again from where it came from and deliver it again")
