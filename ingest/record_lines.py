"""Which line of a delivered CSV each row came from, as an editor counts lines.

DuckDB's CSV reader numbers records, not lines: it passes over empty lines without a trace,
sets malformed rows aside, and a quoted value may hold line breaks. The rows it reads keep
the file's order, so row k's line is first_data_line + k, plus the records before it that
gave no row, plus the extra lines of quoted line breaks before it. ``record_lines`` finds
those; ``create_numbered_view`` numbers the rows from them.
"""

from __future__ import annotations

import bisect
import csv
import math
import mmap
import re
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

# A newline followed by another (the line between them is empty).
_EMPTY_LINE_AFTER = re.compile(rb"\n(?=\r?\n)")


@dataclass(frozen=True)
class RecordLines:
    """Where a CSV's records lie, in DuckDB's record numbers (a line break inside quotes does
    not start a new record; an empty line counts as one).

    ``skipped``: the records after the header that gave no row (malformed or empty).
    ``spans``: (record, extra_lines) where quoted line breaks before it change how many
    lines further down the file a record starts than its number says, in record order.
    """

    skipped: list[int]
    spans: list[tuple[int, int]] = field(default_factory=list)

    def line_of(self, record: int) -> int:
        """The file line on which ``record`` starts."""
        at = bisect.bisect_right(self.spans, (record, math.inf)) - 1
        return record + (self.spans[at][1] if at >= 0 else 0)


def create_numbered_view(con: duckdb.DuckDBPyConnection, view: str, table: str, first_data_line: int,
                         records: RecordLines) -> None:
    """Create the view ``view``: the rows of ``<table>_read`` with their lines, from the
    tables ``<table>_skipped`` and ``<table>_spans`` (made here when there is anything in them)."""
    if records.skipped:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {table}_skipped AS SELECT unnest(?::INTEGER[]) AS line",
                    [records.skipped])
    if records.spans:
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {table}_spans AS "
            "SELECT unnest(?::INTEGER[]) AS record, unnest(?::INTEGER[]) AS extra_lines",
            [[record for record, _ in records.spans], [extra for _, extra in records.spans]],
        )
    con.execute(f"CREATE OR REPLACE TEMP VIEW {view} AS {_numbered_rows(table, first_data_line, records)}")


def _numbered_rows(table: str, first_data_line: int, records: RecordLines) -> str:
    """SQL for the rows of ``<table>_read`` with ``_line``, the file line each came from.

    Row k (its row id: the table keeps the file's order) is record first_data_line + k, plus
    one for every skipped record before it; the record starts on that line, plus the extra
    lines taken by the quoted line breaks of the records before it.
    """
    if not records.skipped:
        numbered = f"SELECT *, CAST({first_data_line} + rowid AS INTEGER) AS _line FROM {table}_read"
    else:
        # The j-th skipped record s (j from 1) comes after s - first_data_line - (j - 1) rows; a
        # row takes the count of the last skipped record at or before it (an ASOF join: one
        # lookup per row, however many records were skipped).
        numbered = f"""
            SELECT r.* EXCLUDE (_row), CAST({first_data_line} + r._row + coalesce(s.skipped, 0) AS INTEGER) AS _line
            FROM (SELECT *, rowid AS _row FROM {table}_read) AS r
            ASOF LEFT JOIN (
                SELECT line - {first_data_line} - (skipped - 1) AS rows_before, max(skipped) AS skipped
                FROM (SELECT line, row_number() OVER (ORDER BY line) AS skipped FROM {table}_skipped)
                GROUP BY rows_before
            ) AS s ON r._row >= s.rows_before
        """
    if not records.spans:
        return numbered
    return f"""
        SELECT n.* EXCLUDE (_line), CAST(n._line + coalesce(s.extra_lines, 0) AS INTEGER) AS _line
        FROM ({numbered}) AS n
        ASOF LEFT JOIN {table}_spans AS s ON n._line >= s.record
    """


def record_lines(path: Path, encoding: str, delimiter: str, first_data_line: int, rows: int,
                 malformed: list[int]) -> RecordLines:
    """The skipped records and the quoted line breaks of the delivery.

    Most files have no line break inside quotes: then every record is one line, the file's
    line count says so, and the empty lines are found by a fast search. Otherwise Python's
    csv module walks the records once to see where each starts.
    """
    lines, empty = scan_lines(path, after=first_data_line - 1)
    if lines == first_data_line - 1 + rows + len(malformed) + len(empty):
        return RecordLines(sorted(set(malformed) | set(empty)))
    spans: list[tuple[int, int]] = []
    empty_records: list[int] = []
    extra, starts_on = 0, 1
    with path.open("r", encoding=encoding, errors="replace", newline="") as fh:
        reader = csv.reader(fh, delimiter=delimiter, quotechar='"', doublequote=True)
        for record, fields in enumerate(reader, start=1):
            if starts_on - record != extra:
                extra = starts_on - record
                spans.append((record, extra))
            if not fields and record >= first_data_line:
                empty_records.append(record)
            starts_on = reader.line_num + 1
    return RecordLines(sorted(set(malformed) | set(empty_records)), spans)


def scan_lines(path: Path, after: int) -> tuple[int, list[int]]:
    """The file's number of lines (a last line without a newline counts), and the numbers of
    the lines after line ``after`` with nothing on them (not even a space).

    DuckDB's CSV reader passes over empty lines without a trace, so the line numbers of the
    rows after one must count it. One pass over the file where it lies (memory-mapped).
    """
    size = path.stat().st_size
    if size == 0:
        return 0, []
    numbers: list[int] = []
    with path.open("rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as data:
        newlines, counted = 0, 0
        for match in _EMPTY_LINE_AFTER.finditer(data):
            newlines += data[counted:match.start()].count(b"\n")
            counted = match.start()
            if newlines + 2 > after:
                numbers.append(newlines + 2)  # the newline at match.start() ends line newlines + 1
        newlines += data[counted:].count(b"\n")
        ends_with_newline = data[size - 1:size] == b"\n"
    return newlines + (not ends_with_newline), numbers
