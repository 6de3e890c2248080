"""Files written for people: text an Excel cell can hold, and never half a file under its final name."""

import os

import pandas as pd
import pytest
from openpyxl import Workbook

from warehouse.excel_text import excel_frame, excel_text
from warehouse.staged_files import staged_files


def test_characters_excel_cannot_hold_become_spaces():
    assert excel_text("Testbolaget\x0bVäst AB") == "Testbolaget Väst AB"  # a soft line break pasted from Word
    assert excel_text("a\x00b\x08c\x0cd\x1fe") == "a b c d e"
    assert excel_text("kept\ttab\nline\rreturn") == "kept\ttab\nline\rreturn"  # Excel holds these
    assert excel_text(None) is None and excel_text(2019) == 2019


def test_a_cleaned_frame_can_be_written_to_a_sheet():
    frame = pd.DataFrame({"Företagsnamn": ["Testbolaget\x0bVäst AB", None], "Kohort": [2019, 2020],
                          "Indikator\x0b(exkl.)": ["Antal\x0bdeltagande", "ok"]})
    cleaned = excel_frame(frame)
    assert list(cleaned.columns) == ["Företagsnamn", "Kohort", "Indikator (exkl.)"]
    assert cleaned["Företagsnamn"].tolist() == ["Testbolaget Väst AB", None]
    assert cleaned["Kohort"].tolist() == [2019, 2020]
    assert frame.iloc[0, 0] == "Testbolaget\x0bVäst AB"  # the caller's frame is left as it was
    sheet = Workbook().active
    for row in cleaned.itertuples(index=False):
        sheet.append(list(row))  # openpyxl raises IllegalCharacterError on anything left


def test_staged_files_appear_together_when_complete(tmp_path):
    finals = [tmp_path / "indikatorer.csv", tmp_path / "tillvaxtverket_indikatorer.xlsx"]
    with staged_files() as staged:
        for final in finals:
            staged.path(final).write_text(final.name)
        assert not any(f.exists() for f in finals)  # nothing under a final name while writing
    assert [f.read_text() for f in finals] == [f.name for f in finals]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f.name for f in finals)


def test_a_failure_while_writing_leaves_the_earlier_files_and_no_partial_one(tmp_path):
    earlier = tmp_path / "deltagarforteckning.xlsx"
    earlier.write_text("an earlier night's complete list")
    with pytest.raises(FileNotFoundError):
        with staged_files() as staged:
            staged.path(earlier).write_text("half a list")
            staged.path(tmp_path / "missing" / "deltagarforteckning.csv").write_text("no folder to write to")
    assert earlier.read_text() == "an earlier night's complete list"
    assert [p.name for p in tmp_path.iterdir()] == [earlier.name]


def test_what_a_killed_writer_left_goes_and_a_running_writers_file_stays(tmp_path):
    import subprocess
    import sys

    final = tmp_path / "deltagarforteckning.xlsx"
    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    killed = tmp_path / f".deltagarforteckning.{ended.stdout.strip()}.partial.xlsx"  # its writer is gone
    running = tmp_path / f".deltagarforteckning.{os.getppid()}.partial.xlsx"  # its writer runs (pytest's parent)
    other = tmp_path / ".indikatorer.1.partial.csv"  # another file's: not this one's to remove
    for path in (killed, running, other):
        path.write_text("half a list")
    with staged_files() as staged:
        staged.path(final).write_text("a complete list")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([final.name, running.name, other.name])
