"""Read one delivered file (CSV, or .xlsx through ``ingest.workbook``) into a DuckDB view of text columns.

The view has the contract's canonical column names, every value as delivered (VARCHAR), and
``_line``: the line (CSV) or row (Excel) of the file the value came from. Typing and
quarantine happen in ``ingest.load``; this module only finds the header, the delimiter and
the encoding, and hands the bulk of the file to DuckDB's own CSV reader.

A CSV is parsed once, by DuckDB, into a temporary table of text columns; the view adds line
numbers (``ingest.record_lines``). Reading the organisation numbers and typing the rows then
scan that table, not the file again.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb

from ingest.contracts import Source
from ingest.delivery import HEADER_SEARCH_LINES, Delivery, FileRejected, MalformedRow, find_header
from ingest.record_lines import create_numbered_view, record_lines
from ingest.typing import sql_literal
from ingest.workbook import read_workbook

DELIMITERS = (";", ",", "\t")
CSV_SUFFIXES = (".csv", ".txt")
EXCEL_SUFFIXES = (".xlsx",)
_CHUNK = 1 << 24
# How every zip archive, an .xlsx workbook among them, begins.
_ZIP_MAGIC = b"PK\x03\x04"
_GZIP_MAGIC = b"\x1f\x8b"
# How much of a file's start tells binary data (many NUL bytes) from text.
_BINARY_SNIFF_BYTES = 1 << 16
# How much of a file's start tells text encoded twice: the first letters å, ä or ö show it.
_ENCODING_SNIFF_BYTES = 1 << 20
# "Ã" and the second byte of å, ä, ö, Å, Ä, Ö, é … as Windows-1252 or Latin-1 shows it.
_ENCODED_TWICE = re.compile("Ã[\u0080-\u00bf\u2013\u201e\u2026\u2014\u0152\u0153\u0160\u0161]")
# Bytes no text delivery has: control characters other than tab, line feed, carriage return and
# the Ctrl-Z old DOS programs end a file with.
_CONTROL_BYTE = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x19\x1b-\x1f\x7f]")
# What DuckDB's file functions read as a pattern in a name (DuckDB 1.4 globs * ? [, with \ as
# escape; { } and ] are kept out too, in case a later version reads them so).
_PATTERN_CHARACTERS = re.compile(r"[*?\[\]{}\\]")


# A long free-text cell (a note) is no reason to fail: the contract's own columns are short.
csv.field_size_limit(2**31 - 1)
# The longest row DuckDB's reader takes (its default, stated so the message can say it); a
# longer one is quarantined with that reason.
_MAX_ROW_BYTES = 2_000_000


@dataclass
class _CsvScan:
    readable: Path
    header_index: int
    delimiter: str
    cells: list[str]
    mapping: dict[str, int]

    @property
    def first_data_line(self) -> int:
        return self.header_index + 2

    @property
    def select(self) -> str:
        """The fields as the contract's columns, from ``read_csv``'s c0, c1, ..., and whether
        every field of the row is empty (``_blank``)."""
        blank = " AND ".join(f"c{i} IS NULL" for i in range(len(self.cells)))
        return ", ".join(f"c{i} AS {col}" for col, i in self.mapping.items()) + f", {blank} AS _blank"


def detect_encoding(path: Path) -> str:
    """UTF-8 (with or without BOM) if the whole file decodes as UTF-8, else Windows-1252.

    Raises FileRejected for UTF-16 and UTF-32 (Excel's "Unicode text"), which the contract
    does not admit: read as Windows-1252, they would only show no header.
    """
    with path.open("rb") as fh:
        head = fh.read(4)
        if head.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            raise FileRejected(
                path, "the file is UTF-16 or UTF-32 text (Excel's 'Unicode text'); save it as 'CSV UTF-8' "
                "and deliver it again",
            )
        if head.startswith(_ZIP_MAGIC):
            raise FileRejected(
                path, "the file is an Excel workbook (.xlsx) under a text file's name; name it .xlsx, or save "
                "it as 'CSV UTF-8', and deliver it again",
            )
        if head.startswith(codecs.BOM_UTF8):
            return "utf-8-sig"
        start = head + fh.read(_BINARY_SNIFF_BYTES)
        if start.startswith(_GZIP_MAGIC) or start.count(b"\x00") > len(start) // 10:
            raise FileRejected(
                path, "the file is not text: it holds binary data (a compressed file, another program's file, or "
                "UTF-16 text without its mark); save it as 'CSV UTF-8' and deliver it again",
            )
    not_utf8 = _decodes_as(path, "utf-8")
    if not_utf8 is None:
        return "utf-8"
    not_cp1252 = _decodes_as(path, "cp1252")
    if not_cp1252 is not None:
        raise FileRejected(
            path, f"the file is neither UTF-8 text (line {not_utf8[0]} is not) nor Windows-1252 (line "
            f"{not_cp1252[0]} is not: byte 0x{not_cp1252[1]:02x}); it may mix two encodings, or be in a Mac "
            "encoding. Save it as 'CSV UTF-8' and deliver it again",
        )
    _reject_if_partly_utf8(path, *not_utf8)
    _reject_if_mac_roman(path)
    return "cp1252"


# Letters of Swedish and other European names as UTF-8 writes them: two bytes, "\xc3" and one of
# 0x80-0xbf, that Windows-1252 reads as "Ã" and a sign ("å" as "Ã¥", "Å" as "Ã…", "ö" as "Ã¶").
# Swedish text in Windows-1252 writes "Ã" (a Portuguese name's) before none of those, so in a
# file that is not UTF-8 one of them shows a part that is. A byte of 0x80-0xbf after the pair
# would make it no UTF-8 at all.
_UTF8_LETTERS = "åäöÅÄÖéÉèÈüÜæÆøØáóÓúñÑçÇ"
_UTF8_LETTER = re.compile(b"(?:" + b"|".join(re.escape(letter.encode("utf-8")) for letter in _UTF8_LETTERS)
                          + rb")(?![\x80-\xbf])")


def _reject_if_partly_utf8(path: Path, not_utf8_line: int, byte: int) -> None:
    """A file that is not UTF-8 but writes letters as UTF-8 does mixes two encodings (lines
    pasted or appended from another program): read as Windows-1252, its UTF-8 lines would load
    garbled ('BrÃ¶derna Ek AB') or be quarantined for a reason the sender cannot see. Where its
    start and its end (where lines are most often added) tell, it is rejected naming a line of
    each; a sample, so a national file is not read a second time for it."""
    size = path.stat().st_size
    with path.open("rb") as fh:
        head = fh.read(_ENCODING_SNIFF_BYTES)
        found, at = _UTF8_LETTER.search(head), 0
        if found is None and size > len(head):
            at = max(len(head), size - _ENCODING_SNIFF_BYTES)
            fh.seek(at)
            found = _UTF8_LETTER.search(fh.read())
    if found is None:
        return
    letter = found.group().decode("utf-8")
    meant = bytes([byte]).decode("cp1252", errors="replace")
    raise FileRejected(
        path, f"the file mixes two encodings: this line is not UTF-8 (byte 0x{byte:02x}, '{meant}' in Windows-1252), "
        f"but line {_line_at(path, at + found.start())} is (it spells '{letter}' as UTF-8 does, which Windows-1252 "
        f"shows as '{found.group().decode('cp1252')}'); read either way, part of the text would load garbled. Open "
        "it, save the whole file in one encoding (as 'CSV UTF-8') and deliver it again", line=not_utf8_line,
    )


def _line_at(path: Path, offset: int) -> int:
    """The line of the file on which the byte at ``offset`` lies."""
    newlines = 0
    with path.open("rb") as fh:
        while offset > 0 and (chunk := fh.read(min(_CHUNK, offset))):
            newlines += chunk.count(b"\n")
            offset -= len(chunk)
    return newlines + 1


# å, ä, ö in Mac Roman (read as Windows-1252: Œ, Š, š), and in Windows-1252 (å, ä, ö, Å, Ä, Ö).
_MAC_ROMAN_LETTERS = re.compile(rb"[\x8a\x8c\x9a]")
_WINDOWS_1252_LETTERS = re.compile(rb"[\xe4\xe5\xf6\xc4\xc5\xd6]")


def _reject_if_mac_roman(path: Path) -> None:
    """Text a Mac saved as 'CSV (Macintosh)' decodes as Windows-1252 too, but with "Œ" for "å",
    "Š" for "ä" and "š" for "ö": Swedish letters that are only there in Mac Roman, and none of
    Windows-1252's own, tell it."""
    with path.open("rb") as fh:
        head = fh.read(_ENCODING_SNIFF_BYTES)
    found = _MAC_ROMAN_LETTERS.search(head)
    if found is None or _WINDOWS_1252_LETTERS.search(head):
        return
    raise FileRejected(
        path, "the file is in the Mac's own encoding (Mac Roman: 'Œ', 'Š' and 'š' stand for 'å', 'ä' and 'ö'), which "
        "the contract does not admit; save it as 'CSV UTF-8' and deliver it again",
        line=head.count(b"\n", 0, found.start()) + 1,
    )


def _reject_if_encoded_twice(path: Path, encoding: str) -> None:
    """UTF-8 text read as Windows-1252 and saved as UTF-8 again spells every "å" as "Ã¥", "ä" as
    "Ã¤" and "ö" as "Ã¶", throughout the file: a program name no longer matches, a company name
    loads garbled. Swedish text has no "Ã" before such a character, so the file's start tells."""
    if not encoding.startswith("utf-8"):
        return
    with path.open("rb") as fh:
        head = fh.read(_ENCODING_SNIFF_BYTES).decode(encoding, errors="ignore")
    found = _ENCODED_TWICE.search(head)
    if found is None:
        return
    seen = found.group()
    meant = next((m for m in (_decoded_once(seen, "cp1252"), _decoded_once(seen, "latin-1")) if m), "?")
    raise FileRejected(
        path, f"the text is encoded twice: '{seen}' is '{meant}' after UTF-8 text was read as Windows-1252 and saved "
        "as UTF-8 again (every å, ä and ö is spelt so). Export it again from the system it came from, or open it "
        "as UTF-8 and save it as 'CSV UTF-8', and deliver it again", line=head.count("\n", 0, found.start()) + 1,
    )


def _reject_if_padded_with_zero_bytes(path: Path) -> None:
    """A copy broken off (a full disk, a failed transfer) can end in zero bytes where the rest of
    the file should be: read as text, they are a last row cut off, or binary data when they are
    many. Text before them tells that case: no control character in it, as compressed data, a
    workbook or UTF-16 text (which also end in zero bytes) would have."""
    size = path.stat().st_size
    with path.open("rb") as fh:
        end = size
        while end > 0:
            start = max(0, end - _BINARY_SNIFF_BYTES)
            fh.seek(start)
            chunk = fh.read(end - start)
            kept = len(chunk.rstrip(b"\x00"))
            end = start + kept
            if kept:
                break
        zeros = size - end
        fh.seek(max(0, end - 1024))
        before = fh.read(end - max(0, end - 1024))
    if not zeros or _CONTROL_BYTE.search(before):
        return
    what = f"{zeros} zero byte{'s' if zeros > 1 else ''}"
    found = f"ends in {what} after its text" if end else f"holds nothing but {what}"
    raise FileRejected(path, f"the file {found}, as a copy broken off (a full disk, a failed transfer) leaves it; "
                             "copy it again from where it came from and deliver it again")


def _decoded_once(text: str, encoding: str) -> str | None:
    try:
        return text.encode(encoding).decode("utf-8")
    except UnicodeError:
        return None


def unreadable_text(path: Path, error: Exception) -> FileRejected:
    """Why a reader could not read the file as text: for a file marked as UTF-8 (its byte order
    mark is taken at its word, sparing a national file a decoding pass), the line that is not."""
    where = _decodes_as(path, "utf-8") if isinstance(error, UnicodeDecodeError) else None
    if where is None:
        return FileRejected(path, f"the file could not be read as text ({error}); save it as 'CSV UTF-8' and "
                                  "deliver it again")
    line, byte = where
    meant = bytes([byte]).decode("cp1252", errors="replace")
    return FileRejected(
        path, f"the file is marked as UTF-8 text, but this line is not (byte 0x{byte:02x}, '{meant}' in Windows-1252): "
        "it mixes two encodings. Save it as 'CSV UTF-8' and deliver it again", line=line,
    )


def _decodes_as(path: Path, encoding: str) -> tuple[int, int] | None:
    """None when the whole file decodes as ``encoding``, else the line and the value of the first byte that does not."""
    decoder = codecs.getincrementaldecoder(encoding)()
    lines_before = 0
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            # The start of a character the previous chunk ended in, which the decoder holds back.
            pending = len(decoder.getstate()[0])
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as error:
                bad = min(max(error.start - pending, 0), len(chunk) - 1)
                return lines_before + chunk.count(b"\n", 0, bad) + 1, chunk[bad]
            lines_before += chunk.count(b"\n")
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return lines_before + 1, 0
    return None


def read_delivery(con: duckdb.DuckDBPyConnection, path: Path, source: Source, table: str) -> Delivery:
    """Read ``path`` into the view ``table``; raise FileRejected when the file as a whole is unusable.

    ``drop_delivery`` drops it (and what is under it) when the file is done.
    """
    if path.stat().st_size == 0:
        raise FileRejected(path, "the file is empty; deliver it again with a header and data rows")
    suffix = path.suffix.strip().lower()  # "lista.xlsx " is a workbook whose name ends in a space
    if suffix in EXCEL_SUFFIXES:
        return read_workbook(con, path, source, table)
    if suffix in CSV_SUFFIXES:
        return _read_csv(con, path, source, table)
    kind = f"a '{suffix}' file" if suffix else "a file without a type (.csv, .txt or .xlsx) in its name"
    raise FileRejected(
        path, f"{kind} cannot be read; save it as Excel workbook (.xlsx) or as CSV (UTF-8 or Windows-1252, "
        "';' or ',' between the columns) and deliver it again",
    )


def _read_csv(con: duckdb.DuckDBPyConnection, path: Path, source: Source, table: str) -> Delivery:
    _reject_if_padded_with_zero_bytes(path)
    encoding = detect_encoding(path)
    _reject_if_encoded_twice(path, encoding)
    with path.open("rb") as fh:
        start = fh.read(1 << 16)
    if b"\r" in start and b"\n" not in start:
        raise FileRejected(
            path, "the lines end in a carriage return alone (the old Mac 'CSV (Macintosh)' format); save it "
            "as 'CSV UTF-8' and deliver it again",
        )
    with path.open("r", encoding=encoding, newline="") as fh:
        head_lines = [line for _, line in zip(range(HEADER_SEARCH_LINES), fh)]
    if not "".join(head_lines).strip():
        raise FileRejected(path, "the file is empty; deliver it again with a header and data rows")
    delimiter, header_index, mapping, unknown, cells = _sniff_header(path, head_lines, source)

    with _read_by_duckdb_as(path, encoding, table) as readable:
        scan = _CsvScan(readable, header_index, delimiter, cells, mapping)
        try:
            con.execute(f"DROP TABLE IF EXISTS {table}_rejects; DROP TABLE IF EXISTS {table}_scans")
            con.execute(f"CREATE OR REPLACE TEMP TABLE {table}_read AS SELECT {scan.select} FROM {_csv_scan(scan, table)}")
        except duckdb.InvalidInputException as error:
            raise _unparseable(path, error) from error
    rows = con.execute(f"SELECT count(*) FROM {table}_read").fetchone()[0]
    # One malformed row per record: DuckDB reports a short row once per missing column.
    rejects = con.execute(
        # A row too long to read has no column: its error type is taken all the same.
        f"SELECT line, min(column_idx), arg_min(error_type, coalesce(column_idx, 0)), any_value(csv_line) "
        f"FROM {table}_rejects GROUP BY line ORDER BY line"
    ).fetchall()
    records = record_lines(path, encoding, scan.delimiter, scan.first_data_line, rows,
                           [int(line) for line, *_ in rejects])
    # Rows of nothing but delimiters (";;;;", what Excel saves for formatted rows below the
    # data) are empty lines, not rows, however many fields they have; so is the Ctrl-Z that
    # old DOS programs put at the end of a text file.
    malformed = [
        _malformed(records.line_of(int(record)), cells, int(column_idx or 0), str(error_type), csv_line or "")
        for record, column_idx, error_type, csv_line in rejects
        if (csv_line or "").strip(f"{scan.delimiter} \t\r\n\x1a")
    ]
    try:
        _reject_if_rows_run_together(path, malformed)
    except FileRejected:
        drop_read_tables(con, table)
        raise
    create_numbered_view(con, f"{table}_numbered", table, scan.first_data_line, records)
    con.execute(f"CREATE OR REPLACE TEMP VIEW {table} AS SELECT * EXCLUDE (_blank) FROM {table}_numbered "
                "WHERE NOT _blank")
    con.execute(f"CREATE OR REPLACE TEMP VIEW {table}_columns AS SELECT * EXCLUDE (_blank) FROM {table}_read "
                "WHERE NOT _blank")
    headers = {col: cells[i].strip() for col, i in mapping.items()}
    return Delivery(path, table, header_index + 1, delimiter, headers, unknown, malformed, f"{table}_columns")


def _csv_scan(scan: _CsvScan, table: str) -> str:
    """``read_csv(...)`` of the delivery's data lines, every field text; malformed lines are
    skipped, and recorded in ``<table>_rejects``."""
    columns = "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(len(scan.cells))) + "}"
    return (
        f"read_csv({sql_literal(str(scan.readable))}, auto_detect = false, header = false, "
        f"skip = {scan.header_index + 1}, delim = {sql_literal(scan.delimiter)}, quote = '\"', escape = '\"', "
        f"columns = {columns}, strict_mode = true, null_padding = false, max_line_size = {_MAX_ROW_BYTES}, "
        "ignore_errors = true, "
        f"store_rejects = true, rejects_table = '{table}_rejects', rejects_scan = '{table}_scans')"
    )


def drop_delivery(con: duckdb.DuckDBPyConnection, delivery: Delivery) -> None:
    """Drop what ``read_delivery`` made for ``delivery``."""
    table = delivery.table
    con.execute(f"DROP VIEW IF EXISTS {table}; DROP VIEW IF EXISTS {table}_columns; DROP VIEW IF EXISTS {table}_numbered")
    drop_read_tables(con, table)


def drop_read_tables(con: duckdb.DuckDBPyConnection, table: str) -> None:
    """Drop the tables reading a delivery into ``table`` makes (rows, rejects, scans, line spans)."""
    con.execute(f"DROP TABLE IF EXISTS {table}_read; DROP TABLE IF EXISTS {table}_rejects; "
                f"DROP TABLE IF EXISTS {table}_scans")
    con.execute(f"DROP TABLE IF EXISTS {table}_skipped; DROP TABLE IF EXISTS {table}_spans")


def _unparseable(path: Path, error: Exception) -> FileRejected:
    """Why DuckDB's CSV reader gave up on the file, with the line when it can be found."""
    lone_cr = re.compile(rb"\r(?!\n)")
    with path.open("rb") as fh:
        for line, text in enumerate(fh, start=1):
            if text.endswith(b"\r\r\n"):
                return FileRejected(
                    path, "the line ends in two carriage returns and a line feed, as when line endings are converted "
                    "twice (a transfer in text mode); convert them once, to Windows or Unix line endings, and deliver "
                    "the file again", line=line,
                )
            if lone_cr.search(text.rstrip(b"\r\n")):
                return FileRejected(
                    path, "the line holds a carriage return alone inside a row (a line break typed in a cell?); "
                    "remove it, or put the value in quotes, and deliver the file again", line=line,
                )
    first = str(error).splitlines()[0]
    return FileRejected(path, f"the CSV reader could not read the file ({first}); save it again as 'CSV UTF-8' "
                              "and deliver it again")


def _sniff_header(path: Path, head_lines: list[str], source: Source):
    """Try each delimiter; the one whose header row names the required columns wins."""
    failure = None
    for delimiter in DELIMITERS:
        try:
            rows = list(csv.reader(io.StringIO("".join(head_lines)), delimiter=delimiter))
        except csv.Error as error:
            raise _unparseable(path, error) from error
        try:
            header_index, mapping, unknown = find_header(rows, source)
        except ValueError as exc:
            failure = failure or exc
            continue
        cells = rows[header_index]
        # A delimiter after the last name (Excel writes one for a column once used) names no column.
        while len(cells) > max(mapping.values()) + 1 and not cells[-1].strip():
            cells = cells[:-1]
        return delimiter, header_index, mapping, unknown, cells
    raise FileRejected(path, str(failure))


def _reject_if_rows_run_together(path: Path, malformed: list[MalformedRow]) -> None:
    """A bad row that spans several lines took the rows on them along: a quote opened and not
    closed on its line makes the parser read on, past the line ends, until the next quote or
    the end of the file. Those rows could be loaded neither one by one nor counted, so the
    file is rejected, naming the lines."""
    for row in malformed:
        spanned = len(row.value.splitlines())
        if spanned > 1:
            raise FileRejected(
                path, f"lines {row.line}–{row.line + spanned - 1} were read as one row: a quote (\") in column "
                f"'{row.column}' on line {row.line} is not closed on that line, so the rows after it cannot be told "
                "apart; close the quote (a \" inside a value is written \"\") or remove it, and deliver the file again",
                line=row.line,
            )


def _malformed(line: int, cells: list[str], column_idx: int, error_type: str, csv_line: str) -> MalformedRow:
    # For a short row, DuckDB counts from 0: the first column the row has no field for.
    missing = [c.strip() for c in cells[column_idx:]] if error_type == "MISSING COLUMNS" else []
    if missing:
        column = missing[0]
    elif 0 < column_idx <= len(cells):
        column = cells[column_idx - 1].strip()
    elif column_idx > len(cells):
        column = f"field {column_idx}, after the last column '{cells[-1].strip()}'"
    else:
        column = "(whole row)"
    problem = {
        "TOO MANY COLUMNS": f"has more fields than the header's {len(cells)} columns",
        "MISSING COLUMNS": f"has fewer fields than the header's {len(cells)} columns (none for "
                           + ", ".join(f"'{c}'" for c in missing) + ")",
        "UNQUOTED VALUE": "has a quoted value that is not closed properly (a quote must end the value it opens, "
                          "and a quote inside a value is written twice)",
        "LINE SIZE OVER MAXIMUM": f"is longer than the {_MAX_ROW_BYTES:,} bytes a row may be (a long text "
                                  "pasted into a cell); shorten the text",
    }.get(error_type, f"could not be parsed ({error_type.lower()})")
    return MalformedRow(
        line=line,
        column=column,
        value=csv_line.strip("\r\n"),  # DuckDB includes empty lines before the row
        rule="csv_structure",
        message=f"the row {problem}; check the delimiter and quoting on this line and deliver it again",
    )


@contextmanager
def _read_by_duckdb_as(path: Path, encoding: str, table: str) -> Iterator[Path]:
    """A name under which DuckDB's CSV reader reads the delivery as UTF-8, and only the delivery.

    DuckDB reads UTF-8 natively; Windows-1252 is transcoded once, streaming. And DuckDB takes
    a name with a pattern character for a pattern: "lista[1].csv" reads lista1.csv if there is
    one, "lista?.csv" every file it matches. Such a delivery is read through a link of a plain
    name. Both go in a temporary folder of our own, never beside the delivery (the landing
    folder is read-only to us), made the owner's alone (a delivery carries personal numbers).
    """
    literal = path.absolute()
    if encoding != "cp1252" and not _PATTERN_CHARACTERS.search(str(literal)):
        yield literal
        return
    with tempfile.TemporaryDirectory(prefix=f"{table}_") as folder:
        readable = Path(folder) / "delivery.csv"
        if _PATTERN_CHARACTERS.search(str(readable)):
            raise RuntimeError(f"the temporary folder {folder} has a character DuckDB reads as a pattern "
                               "(* ? [ ] { } \\); set TMPDIR to a folder whose path has none")
        if encoding == "cp1252":
            _transcode_to_utf8(path, readable)
        else:
            readable.symlink_to(literal)
        yield readable


def _transcode_to_utf8(path: Path, target: Path) -> None:
    with target.open("w", encoding="utf-8", newline="") as out, path.open(
        "r", encoding="cp1252", errors="replace", newline=""
    ) as src:
        while chunk := src.read(_CHUNK):
            out.write(chunk)
