"""Read one delivered file (CSV or .xlsx) into a DuckDB view of text columns.

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
import contextlib
import csv
import datetime
import io
import numbers
import re
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from ingest.contracts import Source
from ingest.record_lines import create_numbered_view, record_lines
from ingest.typing import sql_literal

# How far down a file the header row may sit (title rows above it are common in Excel).
HEADER_SEARCH_LINES = 30
DELIMITERS = (";", ",", "\t")
CSV_SUFFIXES = (".csv", ".txt")
EXCEL_SUFFIXES = (".xlsx",)
_CHUNK = 1 << 24
# How every zip archive, an .xlsx workbook among them, begins.
_ZIP_MAGIC = b"PK\x03\x04"
_GZIP_MAGIC = b"\x1f\x8b"
# How much of a file's start tells binary data (many NUL bytes) from text.
_BINARY_SNIFF_BYTES = 1 << 16


# A long free-text cell (a note) is no reason to fail: the contract's own columns are short.
csv.field_size_limit(2**31 - 1)


class FileRejected(Exception):
    """The whole file cannot be read: nothing from it loads. The message says what to do."""

    def __init__(self, path: Path, reason: str, line: int | None = None):
        self.path = path
        self.reason = reason
        self.line = line
        where = f"{path}" + (f", line {line}" if line else "")
        super().__init__(f"{where}: {reason}")


@dataclass(frozen=True)
class MalformedRow:
    """A line the CSV parser could not split into the header's columns."""

    line: int
    column: str
    value: str
    rule: str
    message: str


@dataclass
class Delivery:
    """One landed file, read into the view ``table``."""

    path: Path
    table: str
    header_line: int
    delimiter: str  # "" for Excel
    headers: dict[str, str]  # canonical column -> header as delivered
    unknown_columns: list[str] = field(default_factory=list)
    malformed: list[MalformedRow] = field(default_factory=list)
    # The view ``<table>_columns``: the same columns without ``_line``.
    columns_view: str = ""


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
    return "cp1252"


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


def find_header(rows: list[list[str]], source: Source) -> tuple[int, dict[str, int], list[str]]:
    """Locate the header row: the first row naming every required column.

    Returns the row index, canonical column -> cell index, and unknown headers.
    Raises ValueError naming what is missing in the best candidate row.
    """
    best: tuple[int, int, list[str]] | None = None
    for index, cells in enumerate(rows[:HEADER_SEARCH_LINES]):
        mapping: dict[str, int] = {}
        unknown: list[str] = []
        for position, cell in enumerate(cells):
            if not str(cell or "").strip():
                continue
            column = next((c for c in source.columns if c.matches(cell)), None)
            if column is None:
                unknown.append(str(cell).strip())
            elif column.name in mapping:
                first = mapping[column.name]
                raise ValueError(
                    f"the header on line {index + 1} names the column {column.headers[0]} twice: "
                    f"'{str(cells[first]).strip()}' (column {first + 1}) and '{str(cell).strip()}' (column "
                    f"{position + 1}); keep one of them and deliver the file again"
                )
            else:
                mapping[column.name] = position
        missing = [c.headers[0] for c in source.required if c.name not in mapping]
        if not missing:
            return index, mapping, unknown
        found = len(source.required) - len(missing)
        if best is None or found > best[0]:
            best = (found, index, missing)
    if best is None or best[0] == 0:
        expected = ", ".join(c.headers[0] for c in source.required)
        raise ValueError(
            f"no header row found in the first {HEADER_SEARCH_LINES} lines; expected the "
            f"columns {expected}, separated by ';' or ','. Check the delimiter and the header"
        )
    _, index, missing = best
    raise ValueError(
        f"missing required column(s) {', '.join(missing)} in the header on line {index + 1}; "
        "add them (names as in the landing contract) and deliver the file again"
    )


def read_delivery(con: duckdb.DuckDBPyConnection, path: Path, source: Source, table: str) -> Delivery:
    """Read ``path`` into the view ``table``; raise FileRejected when the file as a whole is unusable.

    ``drop_delivery`` drops it (and what is under it) when the file is done.
    """
    if path.stat().st_size == 0:
        raise FileRejected(path, "the file is empty; deliver it again with a header and data rows")
    suffix = path.suffix.strip().lower()  # "lista.xlsx " is a workbook whose name ends in a space
    if suffix in EXCEL_SUFFIXES:
        return _read_excel(con, path, source, table)
    if suffix in CSV_SUFFIXES:
        return _read_csv(con, path, source, table)
    kind = f"a '{suffix}' file" if suffix else "a file without a type (.csv, .txt or .xlsx) in its name"
    raise FileRejected(
        path, f"{kind} cannot be read; save it as Excel workbook (.xlsx) or as CSV (UTF-8 or Windows-1252, "
        "';' or ',' between the columns) and deliver it again",
    )


def _read_csv(con: duckdb.DuckDBPyConnection, path: Path, source: Source, table: str) -> Delivery:
    encoding = detect_encoding(path)
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

    readable = path
    if encoding == "cp1252":
        # DuckDB reads UTF-8 natively; Windows-1252 is transcoded once, streaming.
        readable = _transcode_to_utf8(path, table)
    scan = _CsvScan(readable, header_index, delimiter, cells, mapping)
    try:
        con.execute(f"DROP TABLE IF EXISTS {table}_rejects; DROP TABLE IF EXISTS {table}_scans")
        con.execute(f"CREATE OR REPLACE TEMP TABLE {table}_read AS SELECT {scan.select} FROM {_csv_scan(scan, table)}")
    except duckdb.InvalidInputException as error:
        raise _unparseable(path, error) from error
    finally:
        if readable != path:
            readable.unlink(missing_ok=True)
    rows = con.execute(f"SELECT count(*) FROM {table}_read").fetchone()[0]
    # One malformed row per record: DuckDB reports a short row once per missing column.
    rejects = con.execute(
        f"SELECT line, min(column_idx), arg_min(error_type, column_idx), any_value(csv_line) "
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
        f"columns = {columns}, strict_mode = true, null_padding = false, ignore_errors = true, "
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
    }.get(error_type, f"could not be parsed ({error_type.lower()})")
    return MalformedRow(
        line=line,
        column=column,
        value=csv_line.strip("\r\n"),  # DuckDB includes empty lines before the row
        rule="csv_structure",
        message=f"the row {problem}; check the delimiter and quoting on this line and deliver it again",
    )


def _transcode_to_utf8(path: Path, table: str) -> Path:
    # A temporary copy, never beside the delivery: the landing folder is read-only to us.
    handle, name = tempfile.mkstemp(prefix=f"{table}_", suffix=".csv")
    with open(handle, "w", encoding="utf-8", newline="") as out, path.open(
        "r", encoding="cp1252", errors="replace", newline=""
    ) as src:
        while chunk := src.read(_CHUNK):
            out.write(chunk)
    return Path(name)


def _read_excel(con: duckdb.DuckDBPyConnection, path: Path, source: Source, table: str) -> Delivery:
    """Read the workbook's sheet of contract rows: the one sheet with the header and data rows.

    Sheets without the header (a cover note, instructions) are passed over, and so is a sheet
    with the header and no rows (an empty template) when another holds the data. Rows on two
    or more sheets reject the file, since its lines could not be told apart.
    """
    try:
        sheets = _workbook_sheets(path)
        merged = _merged_ranges(path)
    except Exception as exc:  # openpyxl raises many kinds for a corrupt workbook
        raise FileRejected(path, f"the workbook cannot be opened ({exc}); save it again as .xlsx") from exc
    failure, read = None, []
    for sheet_name, frame in sheets.items():
        try:
            read.append((sheet_name, _excel_sheet_rows(frame, source, merged.get(sheet_name, []))))
        except ValueError as exc:
            failure = failure or ValueError(f"sheet '{sheet_name}': {exc}")
    if not read:
        raise FileRejected(path, str(failure))
    with_rows = [(name, sheet) for name, sheet in read if not sheet.rows.empty]
    if len(with_rows) > 1:
        names = ", ".join(f"'{name}' ({len(sheet.rows)} row{'s' * (len(sheet.rows) != 1)})" for name, sheet in with_rows)
        raise FileRejected(
            path, f"the workbook has {source.name} rows on {len(with_rows)} sheets: {names}; put them on one "
            "sheet, or deliver one file per sheet, and deliver it again",
        )
    sheet_name, sheet = (with_rows or read)[0]
    _reject_formulas_without_results(path, sheet_name, sheet)
    con.register(f"{table}_frame", sheet.rows)
    typed_cols = ", ".join(f"CAST({c} AS VARCHAR) AS {c}" for c in sheet.headers)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {table}_read AS "
        f"SELECT {typed_cols}, CAST(_line AS INTEGER) AS _line FROM {table}_frame"
    )
    con.unregister(f"{table}_frame")
    con.execute(f"CREATE OR REPLACE TEMP VIEW {table} AS SELECT * FROM {table}_read")
    con.execute(f"CREATE OR REPLACE TEMP VIEW {table}_columns AS SELECT * EXCLUDE (_line) FROM {table}_read")
    return Delivery(path, table, sheet.header_line, "", sheet.headers, sheet.unknown, [], f"{table}_columns")


def _workbook_sheets(path: Path) -> dict:
    """Every worksheet's cells as Excel holds them (text, number, date), so a number cell can be
    told from text; only an empty cell is missing ("NA" is Namibia, not a missing value).

    Read with openpyxl rather than pandas' read_excel, which turns an error cell (#DIV/0!,
    #N/A, #REF!) into an empty one: a broken formula would load as "unknown". Here it keeps
    the text the sender sees, which no column's rule accepts, so the row is quarantined.
    """
    import pandas as pd

    with _open_workbook(path, data_only=True) as workbook:
        sheets = {}
        for sheet in workbook.worksheets:
            sheet.reset_dimensions()  # some writers record a wrong used range; read what is there
            rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
            sheets[sheet.title] = pd.DataFrame(rows, dtype=object)
        return sheets


@contextlib.contextmanager
def _open_workbook(path: Path, data_only: bool):
    """The workbook, read-only. Opened from a file handle: openpyxl judges a file name by its
    ending and refuses "lista.xlsx " (a trailing space), which is a workbook all the same."""
    from openpyxl import load_workbook

    with path.open("rb") as handle:
        workbook = load_workbook(handle, read_only=True, data_only=data_only, keep_links=False)
        try:
            yield workbook
        finally:
            workbook.close()


def _reject_formulas_without_results(path: Path, sheet_name: str, sheet: _ExcelSheet) -> None:
    """A workbook written by a program that does not calculate (a script, an export) holds its
    formulas without their results, and a formula cell would read as empty: "fill it in" for a
    required value, unknown for another. Such a cell among the contract rows rejects the file.
    A formula with no saved result reads as an empty number cell; one whose result is empty text
    was saved as text, and reads as empty."""
    if not _has_formulas(path):
        return
    columns = {i: name for name, i in sheet.columns.items()}
    lines = set(sheet.rows["_line"])
    formulas = _sheet_cells(path, sheet_name, data_only=False)
    results = _sheet_cells(path, sheet_name, data_only=True)
    cells = [
        f"{coordinate} (line {row}, column '{sheet.headers[columns[column - 1]]}')"
        for (row, column), (coordinate, _, kind) in formulas.items()
        if kind == "f" and row in lines and column - 1 in columns
        and results[row, column][1] is None and results[row, column][2] == "n"
    ]
    if cells:
        shown = ", ".join(cells[:3]) + (f" and {len(cells) - 3} more" if len(cells) > 3 else "")
        raise FileRejected(
            path, f"sheet '{sheet_name}': {len(cells)} cell(s) hold a formula whose result was never saved, so its "
            f"value is unknown: {shown}. The workbook was likely written by a program that does not calculate; "
            "open it in Excel (or LibreOffice), save it, and deliver it again, or deliver the values instead",
        )


def _sheet_cells(path: Path, sheet_name: str, data_only: bool) -> dict[tuple[int, int], tuple[str, object, str]]:
    """(row, column) -> (coordinate, value, data type) of every cell on one sheet."""
    with _open_workbook(path, data_only=data_only) as workbook:
        worksheet = workbook[sheet_name]
        worksheet.reset_dimensions()
        return {(cell.row, cell.column): (cell.coordinate, cell.value, cell.data_type)
                for row in worksheet.iter_rows() for cell in row if hasattr(cell, "coordinate")}


def _has_formulas(path: Path) -> bool:
    """Whether any worksheet of the .xlsx holds a formula (an <f> element), without parsing it."""
    with zipfile.ZipFile(path) as archive:
        return any(re.search(rb"<f[ >/]", archive.read(name)) for name in archive.namelist()
                   if name.startswith("xl/worksheets/") and name.endswith(".xml"))


def _merged_ranges(path: Path) -> dict[str, list[tuple[int, int, int, int]]]:
    """Each sheet's merged cells as (first row, first column, last row, last column), from 0.

    openpyxl's read-only mode, which a large workbook needs, does not give them: they are read
    from the workbook's XML (the sheets' names, where each sheet's part is, its <mergeCell>s).
    """
    from xml.etree import ElementTree

    from openpyxl.utils.cell import range_boundaries

    main = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
    relation = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
    ranges = {}
    with zipfile.ZipFile(path) as archive:
        targets = {r.get("Id"): r.get("Target")
                   for r in ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))}
        for sheet in ElementTree.fromstring(archive.read("xl/workbook.xml")).iter(f"{main}sheet"):
            target = targets.get(sheet.get(relation), "")
            part = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
            if part not in archive.namelist():
                continue
            xml = archive.read(part)
            found = re.findall(rb'<mergeCell ref="([A-Z]+[0-9]+:[A-Z]+[0-9]+)"', xml) if b"<mergeCell " in xml else []
            ranges[sheet.get("name")] = [
                (min_row - 1, min_col - 1, max_row - 1, max_col - 1)
                for min_col, min_row, max_col, max_row in (range_boundaries(ref.decode()) for ref in found)
            ]
    return ranges


@dataclass
class _ExcelSheet:
    rows: object  # pandas DataFrame: the contract columns as text, and _line
    headers: dict[str, str]  # canonical column -> header as delivered
    unknown: list[str]
    header_line: int  # as Excel numbers its rows
    columns: dict[str, int]  # canonical column -> its position on the sheet (0 for column A)


def _excel_sheet_rows(frame, source: Source, merged: list[tuple[int, int, int, int]]) -> _ExcelSheet:
    """One sheet's contract rows (ValueError when it has no contract header); empty rows left out.

    A cell merged over several rows below the header (a program written once for a block of
    firms) holds its value in its first cell only; each row of the block takes it, as the sender
    sees it (in the block's first column: merged across columns, the value is still one cell's).
    Merged header cells are left as they are: the header is read as its rows stand.
    """
    import pandas as pd

    frame = frame.where(frame.notna(), None)
    rows = [[("" if v is None else str(v)) for v in row] for row in frame.itertuples(index=False)]
    header_index, mapping, unknown = find_header(rows, source)
    header_rows = 1 + _merge_second_header_row(rows, header_index, mapping, unknown, source)
    for first_row, column, last_row, _ in merged:  # merged across columns, the value is still one column's
        if first_row >= header_index + header_rows and last_row < len(frame) and column < frame.shape[1]:
            frame.iloc[first_row:last_row + 1, column] = frame.iat[first_row, column]
    data = frame.iloc[header_index + header_rows :]
    # A row is empty when every cell is: one with a note in another column still counts.
    filled = [any(_excel_text(v) is not None for v in row) for row in data.itertuples(index=False)]
    data = data[pd.Series(filled, index=data.index, dtype=bool)]
    digits = {c.name: c.number_cell_digits for c in source.columns}
    out = pd.DataFrame({col: data.iloc[:, i].map(lambda v, d=digits[col]: _excel_text(v, d))
                        for col, i in mapping.items()})
    out["_line"] = data.index + 1  # pandas row 0 is Excel row 1
    out = out.astype({c: "object" for c in mapping})
    headers = {
        col: (rows[header_index + header_rows - 1][i] or rows[header_index][i]).strip()
        for col, i in mapping.items()
    }
    return _ExcelSheet(out, headers, unknown, header_index + 1, dict(mapping))


def _merge_second_header_row(rows: list[list[str]], header_index: int, mapping: dict[str, int],
                             unknown: list[str], source: Source) -> bool:
    """Two-level headers (cells merged down over two rows): take the second row's names too.

    The row below the header belongs to it when each of its filled cells names a contract
    column and sits under a cell that is blank or unknown in the first row.
    """
    if header_index + 1 >= len(rows):
        return False
    filled = {i: c.strip() for i, c in enumerate(rows[header_index + 1]) if c and c.strip()}
    taken = set(mapping.values())
    columns = {i: next((col for col in source.columns if col.matches(text) and col.name not in mapping), None)
               for i, text in filled.items()}
    if not filled or any(i in taken or col is None for i, col in columns.items()):
        return False
    for i, column in columns.items():
        mapping[column.name] = i
        above = rows[header_index][i].strip() if i < len(rows[header_index]) else ""
        if above in unknown:
            unknown.remove(above)
    return True


def _excel_text(value: object, digits: int | None = None) -> str | None:
    """A cell's value as the text a CSV would carry.

    A number cell holds 2019, not "2019.0", and cannot hold leading zeros: a code of
    ``digits`` digits (an SNI code 01110, a personal number 0012311234) typed as a number
    lost them, so they are put back.
    """
    if value is None:
        return None
    if value == datetime.time(0):  # openpyxl's reading of a date cell holding 0: Excel shows 1899-12-30 (or 1900-01-00)
        return "1899-12-30"
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        text = str(value)
        return text.zfill(digits) if digits and text.isdigit() and len(text) < digits else text
    return str(value).strip() or None
