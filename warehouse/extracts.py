"""The Tillväxtverket extract: indicator and supported-enterprise sheets, and the participant list.

The aggregate workbook carries no identifiers. The participant list (deltagarförteckning)
carries organisation numbers, so it is written to a restricted folder, readable by its
owner only. Every sheet is also written as CSV, ';'-separated, UTF-8 with BOM, so that
Swedish Excel opens it correctly.
"""

from __future__ import annotations

import os
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd
from openpyxl import load_workbook
from openpyxl.formatting.rule import CellIsRule, Rule
from openpyxl.styles import Font, PatternFill

from warehouse.excel_text import excel_frame
from warehouse.outputs import EXTRACT_WORKBOOK, PARTICIPANT_LIST
from warehouse.publish import ANALYST_STAMP_SCHEMA, RESTRICTED_STAMP_SCHEMA, check_stamps, publication_stamp
from warehouse.staged_files import staged_files

INDICATOR_COLUMNS = {
    "program": "Program", "year": "År", "indicator": "Indikator", "kind": "Typ",
    "target_women": "Mål kvinnor", "target_men": "Mål män", "target_total": "Mål totalt",
    "outcome_women": "Utfall kvinnor", "outcome_men": "Utfall män", "outcome_total": "Utfall totalt",
    "share_of_target_met_pct": "Andel av mål (%)",
}
SUPPORTED_COLUMNS = {
    "year": "År", "program": "Program", "size_class": "Storleksklass (EU)", "firms_led_by_women": "Kvinnor",
    "firms_led_by_men": "Män", "firms_leader_unknown": "Okänt", "firms_total": "Totalt",
}
PARTICIPANT_COLUMNS = {"org_nr": "Organisationsnummer", "company_name": "Företagsnamn", "program": "Program",
                       "cohort_year": "Kohort"}
RED, YELLOW, GREEN = "F8CBAD", "FFE699", "C6EFCE"


@dataclass(frozen=True)
class ExtractFiles:
    workbook: Path
    participant_list: Path


def _filters(program: str | None, year: int | None, year_column: str) -> tuple[str, list]:
    clauses, params = [], []
    if program is not None:
        clauses.append("program = ?")
        params.append(program)
    if year is not None:
        clauses.append(f"{year_column} = ?")
        params.append(year)
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


def published_program(published: Path, program: str) -> str:
    """The program as the indicators name it, for a name typed in other case, spacing or Unicode
    form ("gå  globalt" for "Gå globalt", as deliveries are matched); else the name as typed."""
    def key(name: str) -> str:
        return " ".join(unicodedata.normalize("NFC", name).casefold().split())

    with duckdb.connect(str(published), read_only=True) as con:
        programs = [p for (p,) in con.execute("SELECT DISTINCT program FROM marts.rpt_tillvaxtverket_indicators").fetchall()]
    matches = [p for p in programs if key(p) == key(program)]
    return matches[0] if len(matches) == 1 else program


def selection_problem(published: Path, program: str | None, year: int | None) -> str | None:
    """Why ``program`` and ``year`` select nothing in the published indicators, or None."""
    with duckdb.connect(str(published), read_only=True) as con:
        programs = [p for (p,) in con.execute(
            "SELECT DISTINCT program FROM marts.rpt_tillvaxtverket_indicators ORDER BY 1").fetchall()]
        if program is not None and program not in programs:
            return f"no program '{program}' in the indicators; the programs are: {', '.join(programs)}"
        where, params = _filters(program, None, "year")
        years = [y for (y,) in con.execute(
            f"SELECT DISTINCT year FROM marts.rpt_tillvaxtverket_indicators{where} ORDER BY 1", params).fetchall()]
    if year is not None and year not in years:
        return (f"no indicators for {year}{f' in {program}' if program is not None else ''}; "
                f"the years are: {', '.join(map(str, years))}")
    return None


def write_tillvaxtverket_extract(published: Path, identifiers: Path, out_dir: Path, restricted_dir: Path,
                                 program: str | None = None, year: int | None = None) -> ExtractFiles:
    """Write the extract for ``program`` and ``year`` (all when None) from the published files.

    Raises ``publish.PublicationsDiffer``, writing nothing, when the two files are of different
    nights: the participant list would not be the one the indicators count."""
    where, params = _filters(program, year, "year")
    with duckdb.connect(str(published), read_only=True) as con:
        # Read in the same snapshot as the rows, so a night publishing meanwhile cannot slip between.
        published_stamp = publication_stamp(con, ANALYST_STAMP_SCHEMA)
        indicators = con.execute(
            f"SELECT {', '.join(INDICATOR_COLUMNS)} FROM marts.rpt_tillvaxtverket_indicators{where} "
            "ORDER BY program, year, indicator", params).df()
        supported = con.execute(
            f"SELECT {', '.join(SUPPORTED_COLUMNS)} FROM marts.rpt_supported_enterprises{where} "
            "ORDER BY year, program, size_class", params).df()
    part_where, part_params = _filters(program, year, "cohort_year")
    with duckdb.connect(str(identifiers), read_only=True) as con:
        identifiers_stamp = publication_stamp(con, RESTRICTED_STAMP_SCHEMA)
        participants = con.execute(
            f"SELECT {', '.join(PARTICIPANT_COLUMNS)} FROM restricted.participant_list{part_where} "
            "ORDER BY program, cohort_year, org_nr", part_params).df()
    check_stamps(published, published_stamp, identifiers, identifiers_stamp)

    out_dir.mkdir(parents=True, exist_ok=True)
    restricted_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(restricted_dir, 0o700)
    workbook = out_dir / EXTRACT_WORKBOOK
    participant_list = restricted_dir / PARTICIPANT_LIST
    # The workbooks and CSVs get the same text, cleaned of what Excel cannot hold, so they agree.
    sheets = {"Indikatorer": excel_frame(indicators.rename(columns=INDICATOR_COLUMNS)),
              "Stödda företag": excel_frame(supported.rename(columns=SUPPORTED_COLUMNS))}
    participant_sheet = {"Deltagarförteckning": excel_frame(participants.rename(columns=PARTICIPANT_COLUMNS))}
    # Nothing is renamed into place until every file is written; each workbook goes after its
    # CSVs, since the next night looks for the workbooks to know whether this extract is complete.
    with staged_files() as staged:
        for name, frame in sheets.items():
            _write_csv(frame, staged.path(out_dir / f"{_file_stem(name)}.csv"))
        partial_workbook = staged.path(workbook)
        _write_workbook(partial_workbook, sheets)
        _colour_target_share(partial_workbook)
        partial_csv, partial_list = staged.path(participant_list.with_suffix(".csv")), staged.path(participant_list)
        _write_csv(participant_sheet["Deltagarförteckning"], partial_csv)
        _write_workbook(partial_list, participant_sheet)
        for path in (partial_csv, partial_list):  # before the rename, so no name of it is ever readable by others
            os.chmod(path, 0o600)
    return ExtractFiles(workbook, participant_list)


def _file_stem(sheet: str) -> str:
    return sheet.lower().replace(" ", "_").replace("ö", "o").replace("ä", "a").replace("å", "a")


def _write_workbook(path: Path, sheets: dict[str, pd.DataFrame]) -> None:
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        for name, frame in sheets.items():
            frame.to_excel(writer, sheet_name=name, index=False)
            sheet = writer.sheets[name]
            for cell in sheet[1]:
                cell.font = Font(bold=True)
            for column in sheet.columns:
                width = max(len(str(c.value or "")) for c in column)
                sheet.column_dimensions[column[0].column_letter].width = min(max(10, width + 2), 60)


def _colour_target_share(path: Path) -> None:
    """Red: target not met (< 50 %); yellow: partly met (50-99 %); green: met (>= 100 %); no colour: no outcome."""
    workbook = load_workbook(path)
    sheet = workbook["Indikatorer"]
    column = sheet.cell(row=1, column=sheet.max_column).column_letter
    cells = f"{column}2:{column}{max(sheet.max_row, 2)}"
    # An empty share (an indicator the warehouse does not measure) stays uncoloured: Excel
    # compares an empty cell as 0, which the first rule would paint red.
    sheet.conditional_formatting.add(
        cells, Rule(type="containsBlanks", formula=[f"LEN(TRIM({column}2))=0"], stopIfTrue=True)
    )
    for operator, formula, colour in (("lessThan", ["50"], RED), ("between", ["50", "99.999"], YELLOW),
                                      ("greaterThanOrEqual", ["100"], GREEN)):
        fill = PatternFill(start_color=colour, end_color=colour, fill_type="solid")
        sheet.conditional_formatting.add(cells, CellIsRule(operator=operator, formula=formula, fill=fill))
    workbook.save(path)


def _write_csv(frame: pd.DataFrame, path: Path) -> None:
    frame.to_csv(path, sep=";", index=False, encoding="utf-8-sig", decimal=",")
