"""Read a delivered .xlsx workbook into a DuckDB view of text columns, as ``ingest.reader``
does a CSV: the sheet holding the contract's rows, each cell as the text a CSV would carry.

openpyxl reads the cells as Excel holds them (text, number, date, error); what its read-only
mode does not give (merged cells) is read from the workbook's XML.
"""

from __future__ import annotations

import contextlib
import datetime
import numbers
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from ingest.contracts import Source
from ingest.delivery import Delivery, FileRejected, find_header


def read_workbook(con: duckdb.DuckDBPyConnection, path: Path, source: Source, table: str) -> Delivery:
    """Read the workbook's sheet of contract rows: the one sheet with the header and data rows.

    Sheets without the header (a cover note, instructions) are passed over, and so is a sheet
    with the header and no rows (an empty template) when another holds the data. Rows on two
    or more sheets reject the file, since its lines could not be told apart.
    """
    try:
        sheets = _workbook_sheets(path)
        found = _sheet_layouts(path)
        layouts = {name: found.get(name, _Layout()) for name in sheets}
    except Exception as exc:  # openpyxl raises many kinds for a corrupt workbook
        raise FileRejected(path, f"the workbook cannot be opened ({exc}); save it again as .xlsx") from exc
    failure, read = None, []
    for sheet_name, frame in sheets.items():
        try:
            read.append((sheet_name, _excel_sheet_rows(frame, source, layouts[sheet_name].merged)))
        except ValueError as exc:
            failure = failure or ValueError(f"sheet '{sheet_name}': {exc}")
    if not read:
        raise FileRejected(path, str(failure))
    with_rows = [(name, sheet) for name, sheet in read if not sheet.rows.empty]
    if len(with_rows) > 1:
        names = ", ".join(
            f"'{name}' ({len(sheet.rows)} row{'s' * (len(sheet.rows) != 1)}"
            f"{', hidden in Excel' if layouts[name].hidden else ''})" for name, sheet in with_rows
        )
        raise FileRejected(
            path, f"the workbook has {source.name} rows on {len(with_rows)} sheets: {names}; put them on one "
            "sheet, or deliver one file per sheet, and deliver it again",
        )
    sheet_name, sheet = (with_rows or read)[0]
    if layouts[sheet_name].has_formulas:
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
    return Delivery(path, table, sheet.header_line, "", sheet.headers, sheet.unknown, [], f"{table}_columns",
                    _hidden_notes(sheet_name, sheet, layouts[sheet_name]))


def _hidden_notes(sheet_name: str, sheet: _ExcelSheet, layout: _Layout) -> list[str]:
    """What was read though Excel hides it: the rows count all the same (hiding or filtering
    rows does not take them out of a delivery), but the sender may not know they sent them."""
    notes = []
    if layout.hidden:
        notes.append(f"the rows were read from sheet '{sheet_name}', which is hidden in Excel")
    hidden = sorted(set(sheet.rows["_line"]) & layout.hidden_rows)
    if hidden:
        shown = ", ".join(str(line) for line in hidden[:5]) + (", ..." if len(hidden) > 5 else "")
        notes.append(f"{len(hidden)} row(s) hidden in Excel were read too (lines {shown}); hiding or filtering "
                     "rows does not leave them out of a delivery")
    return notes


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


@dataclass(frozen=True)
class _Layout:
    """What openpyxl's read-only mode, which a large workbook needs, does not give about a sheet."""

    merged: list[tuple[int, int, int, int]] = field(default_factory=list)  # (first row, first col, last row, last col), from 0
    hidden_rows: frozenset[int] = frozenset()  # as Excel numbers them
    hidden: bool = False
    has_formulas: bool = False  # any <f> element on the sheet


def _sheet_layouts(path: Path) -> dict[str, _Layout]:
    """Each sheet's merged cells, hidden rows, whether it is hidden and whether it holds formulas,
    from the workbook's XML (the sheets' names and states, where each sheet's part is, its
    <mergeCell>s, <row>s and <f>s), each sheet's part read once."""
    from xml.etree import ElementTree

    from openpyxl.utils.cell import range_boundaries

    main = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
    relation = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
    layouts = {}
    with zipfile.ZipFile(path) as archive:
        targets = {r.get("Id"): r.get("Target")
                   for r in ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))}
        for sheet in ElementTree.fromstring(archive.read("xl/workbook.xml")).iter(f"{main}sheet"):
            target = targets.get(sheet.get(relation), "")
            part = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
            if part not in archive.namelist():
                continue
            xml = archive.read(part)
            merged = re.findall(rb'<mergeCell ref="([A-Z]+[0-9]+:[A-Z]+[0-9]+)"', xml) if b"<mergeCell " in xml else []
            hidden_rows = [re.search(rb' r="([0-9]+)"', tag) for tag in re.findall(rb"<row [^>]*>", xml)
                           if re.search(rb' hidden="(1|true)"', tag)] if b' hidden="' in xml else []
            layouts[sheet.get("name")] = _Layout(
                [(min_row - 1, min_col - 1, max_row - 1, max_col - 1)
                 for min_col, min_row, max_col, max_row in (range_boundaries(ref.decode()) for ref in merged)],
                frozenset(int(found.group(1)) for found in hidden_rows if found),
                sheet.get("state") in ("hidden", "veryHidden"),
                re.search(rb"<f[ >/]", xml) is not None,
            )
    return layouts


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
