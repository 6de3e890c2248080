"""Writes the bad-input catalog: one folder per case, its delivery files and expected.json.

The files are committed; run ``python -m tests.bad_inputs.build`` to regenerate them after
changing a case. Each case's files land in the named landing source folder of a small
generated region; tests/test_bad_inputs.py runs that region through ``followup run``.
"""

import codecs
import gzip
import json
import shutil
from datetime import datetime
from pathlib import Path

import pandas as pd
from openpyxl import Workbook
from stdnum import luhn

HERE = Path(__file__).parent
BIS = "Org.nr;Företagsnamn;Bokslutsår;Nettoomsättning (tkr);Exportomsättning (tkr);Antal anställda;Kommunkod;SNI-kod;Registreringsdatum;Bolagsform"
PART = "Organisationsnummer;Foretagsnamn;Program;Kohort;ledning_kon"
BASE = "kommunkod;ar;dimension;kategori;antal_foretag"
# Luhn-valid numbers the generated region does not use (its legal entities start 556/956/756).
ORG = [f"55900000{i:02d}"[:9] + luhn.calc_check_digit(f"55900000{i:02d}"[:9]) for i in range(0, 70, 10)]
ABSENT_FROM_BISNODE = ORG.pop()
SOLE_TRADER = "8112189876"
INVALID = ORG[0][:9] + str((int(ORG[0][9]) + 1) % 10)


def bis_row(org: str, year: int, turnover: str = "1200,5", employees: str = "4", kommun: str = "1480",
            sni: str = "25620") -> str:
    return f"{org};Testbolaget AB;{year};{turnover};;{employees};{kommun};{sni};2005-03-01;AB"


def part_row(org: str, program: str = "Gå globalt", cohort: str = "2016", gender: str = "kvinna") -> str:
    return f"{org};Testbolaget AB;{program};{cohort};{gender}"


def lines(*rows: str) -> bytes:
    return ("\n".join(rows) + "\n").encode("utf-8")


def xlsx_two_sheets() -> bytes:
    path = HERE / "_tmp.xlsx"
    with pd.ExcelWriter(path) as writer:
        pd.DataFrame({"Info": ["Deltagarlista från operatören", "Se nästa flik"]}).to_excel(writer, sheet_name="Info", index=False)
        pd.DataFrame({"Organisationsnummer": [ORG[3]], "Program": ["Exportboost"], "Kohort": [2018]}).to_excel(
            writer, sheet_name="Deltagare", index=False)
    data = path.read_bytes()
    path.unlink()
    return data


def saved(workbook: Workbook) -> bytes:
    """The workbook's bytes as a file of it holds them."""
    path = HERE / "_tmp.xlsx"
    workbook.save(path)
    data = path.read_bytes()
    path.unlink()
    return data


def xlsx(sheets: dict[str, list[list]]) -> bytes:
    """A workbook with the given sheets, rows as lists of cells."""
    workbook = Workbook()
    workbook.remove(workbook.active)
    for title, rows in sheets.items():
        sheet = workbook.create_sheet(title)
        for row in rows:
            sheet.append(row)
    return saved(workbook)


PART_CELLS = ["Organisationsnummer", "Program", "Kohort"]


def xlsx_merged_header() -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["Deltagare Exportboost 2019", None, None, None])
    sheet.merge_cells("A1:D1")
    sheet.append(["Organisationsnummer", "Program", "Kohort", "Deltagande"])
    sheet.append([None, None, None, "ledning_kon"])
    sheet.merge_cells("A2:A3")
    sheet.merge_cells("B2:B3")
    sheet.merge_cells("C2:C3")
    sheet.append([ORG[4], "Exportboost", 2019, "man"])
    return saved(workbook)


def xlsx_merged_block() -> bytes:
    """A program and cohort written once for a block of firms, merged down over its rows."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(PART_CELLS)
    for i, org in enumerate(ORG[:3]):
        sheet.append([org, "Exportboost" if i == 0 else None, 2019 if i == 0 else None])
    sheet.merge_cells("B2:B4")
    sheet.merge_cells("C2:C4")
    return saved(workbook)


def xlsx_hidden_row() -> bytes:
    """A participant list whose second firm's row is hidden (a filter, or a row hidden by hand)."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(PART_CELLS)
    for org in ORG[:3]:
        sheet.append([org, "Exportboost", 2019])
    sheet.row_dimensions[3].hidden = True
    return saved(workbook)


# name: (source, {file: bytes}, expectations)
CASES = {
    "windows_1252_swedish_letters": ("participants", {"p.csv": (PART + "\n" + part_row(ORG[0]).replace("Testbolaget", "Smörgåsfabriken Älvsborg") + "\n").encode("cp1252")},
                                     {"outcome": "loaded"}),
    "title_row_above_header": ("bisnode", {"b.csv": lines("Utdrag ur Bisnode 2024-01-05;;;;;;;;;", BIS, bis_row(ORG[0], 2015))}, {"outcome": "loaded"}),
    "semicolon_with_decimal_commas": ("bisnode", {"b.csv": lines(BIS, bis_row(ORG[0], 2016, "1234,75", "3,5"))}, {"outcome": "loaded"}),
    "comma_with_thousands_separator": ("bisnode", {"b.csv": lines(BIS.replace(";", ","), f'{ORG[0]},Testbolaget AB,2017,"1,234,567.5",,12,1480,25620,2005-03-01,AB')},
                                       {"outcome": "loaded"}),
    "missing_required_column": ("bisnode", {"b.csv": lines(BIS.replace(";Kommunkod", ""), f"{ORG[0]};X;2018;100;;1;25620;2005-03-01;AB")},
                                {"outcome": "rejected", "message": ["Kommunkod", "missing required column"]}),
    "extra_unknown_column": ("participants", {"p.csv": lines(PART + ";Kommentar", part_row(ORG[1]) + ";ringde två gånger")},
                             {"outcome": "loaded", "message": ["unknown column(s) ignored: Kommentar"]}),
    "header_other_case_and_spacing": ("participants", {"p.csv": lines("  ORGANISATIONSNUMMER ;foretagsNAMN;  Program;KOHORT ;Ledning_Kon", part_row(ORG[1], cohort="2018"))},
                                      {"outcome": "loaded"}),
    "invalid_luhn_digit": ("participants", {"p.csv": lines(PART, part_row(ORG[0]), f"{INVALID[:6]}-{INVALID[6:]};X;Gå globalt;2016;man", part_row(ORG[2]))},
                           {"outcome": "loaded_with_quarantine", "quarantine": [[3, "Organisationsnummer", "organisation_number", "Luhn"]]}),
    "personal_number_sole_trader": ("participants", {"p.csv": lines(PART, part_row("811218-9876", "Exportboost", "2017", "man"))},
                                    {"outcome": "loaded", "sole_trader": SOLE_TRADER}),
    "twelve_digit_form": ("participants", {"p.csv": lines(PART, part_row(f"16{ORG[1][:6]}-{ORG[1][6:]}", "Exportboost", "2018"), part_row("19811218-9876", "Exportboost", "2018"))},
                          {"outcome": "loaded"}),
    "empty_file": ("bisnode", {"b.csv": b""}, {"outcome": "rejected", "message": ["empty"]}),
    "header_only": ("bisnode", {"b.csv": lines(BIS)}, {"outcome": "rejected", "message": ["no data rows"]}),
    "truncated_mid_row": ("bisnode", {"b.csv": lines(BIS, bis_row(ORG[0], 2019), bis_row(ORG[1], 2019))[:-1] + b"\n" + f"{ORG[2]};Testbolaget AB;2019;45".encode()},
                          {"outcome": "rejected", "message": ["cut off", "line 4"]}),
    "cut_off_inside_quotes": ("bisnode", {"b.csv": lines(BIS, bis_row(ORG[0], 2019))
                                          + f'{ORG[1]};"Testbolaget'.encode()},
                              {"outcome": "rejected", "message": ["cut off", "line 3"]}),
    "note_below_the_table_without_line_break": ("bisnode", {"b.csv": lines(BIS, bis_row(ORG[0], 2019))
                                                             + "Källa: Bisnode Företagsfakta, uttag 2024-01-03".encode()},
                                                {"outcome": "rejected", "message": ["line 3", "Källa: Bisnode",
                                                                                    "note below the table", "cut off"]}),
    "ctrl_z_after_the_last_line": ("bisnode", {"b.csv": lines(BIS, bis_row(ORG[0], 2019)).replace(b"\n", b"\r\n") + b"\x1a"},
                                   {"outcome": "loaded", "rows_read": 1}),
    "line_endings_converted_twice": ("bisnode", {"b.csv": lines(BIS, bis_row(ORG[0], 2019), bis_row(ORG[1], 2019)).replace(b"\n", b"\r\r\n")},
                                     {"outcome": "rejected", "message": ["line 1", "two carriage returns"]}),
    "utf8_marked_file_with_a_windows_1252_letter": ("participants", {"p.csv": codecs.BOM_UTF8 + lines(
        PART, *[part_row(org, "Exportboost", "2019") for org in ORG[:4]])
        + part_row(ORG[4], "Exportboost", "2019").replace("Testbolaget", "F\u00f6retaget").encode("cp1252") + b"\n"},
        {"outcome": "rejected", "message": ["line 6", "byte 0xf6", "'\u00f6' in Windows-1252", "marked as UTF-8"]}),
    "two_headers_name_one_column": ("bisnode", {"b.csv": lines("Orgnr;" + BIS, f"{ORG[0]};" + bis_row(ORG[0], 2019))},
                                    {"outcome": "rejected", "message": ["line 1", "names the column Org.nr twice",
                                                                        "'Orgnr' (column 1)", "'Org.nr' (column 2)"]}),
    "compressed_file_named_csv": ("bisnode", {"b.csv": gzip.compress(lines(BIS, bis_row(ORG[0], 2019)), mtime=0)},
                                  {"outcome": "rejected", "message": ["not text", "binary data"]}),
    "unclosed_quote_runs_rows_together": ("bisnode", {"b.csv": lines(BIS, bis_row(ORG[0], 2020),
                                                                      bis_row(ORG[1], 2020).replace("Testbolaget AB", '"Testbolaget AB'),
                                                                      bis_row(ORG[2], 2020), bis_row(ORG[3], 2020))},
                                          {"outcome": "rejected", "message": ["lines 3–5 were read as one row", "Företagsnamn",
                                                                              "not closed"]}),
    "duplicate_natural_key": ("bisnode", {"b.csv": lines(BIS, bis_row(ORG[1], 2016), bis_row(ORG[2], 2016), bis_row(ORG[1], 2016, "999"))},
                              {"outcome": "loaded_with_quarantine", "quarantine": [[4, "Org.nr+Bokslutsår", "ExpectCompoundColumnsToBeUnique", "line 2"]]}),
    "negative_employees": ("bisnode", {"b.csv": lines(BIS, bis_row(ORG[2], 2017, employees="-3"), bis_row(ORG[3], 2017))},
                           {"outcome": "loaded_with_quarantine", "quarantine": [[2, "Antal anställda", "ExpectColumnValuesToBeBetween", "-3"]]}),
    "year_2099": ("bisnode", {"b.csv": lines(BIS, bis_row(ORG[3], 2099), bis_row(ORG[3], 2018))},
                  {"outcome": "loaded_with_quarantine", "quarantine": [[2, "Bokslutsår", "ExpectColumnValuesToBeBetween", "2099"]]}),
    "year_2019_20": ("bisnode", {"b.csv": lines(BIS, bis_row(ORG[4], 2018), bis_row(ORG[4], "2019/20"))},
                     {"outcome": "loaded_with_quarantine", "quarantine": [[3, "Bokslutsår", "year", "four-digit year"]]}),
    "turnover_with_space_and_decimal_comma": ("bisnode", {"b.csv": lines(BIS, bis_row(ORG[4], 2016, "1 234,5"))},
                                              {"outcome": "loaded", "turnover": [ORG[4], 2016, 1234.5]}),
    "sek_instead_of_ksek": ("bisnode", {"b.csv": lines(BIS, bis_row(ORG[5], 2019, "1000"), bis_row(ORG[5], 2020, "1100"), bis_row(ORG[5], 2021, "1150000"))},
                            {"outcome": "loaded", "warning": "turnover_unit_error"}),
    "unknown_municipality_code": ("bisnode", {"b.csv": lines(BIS, bis_row(ORG[5], 2015, kommun="0180"), bis_row(ORG[5], 2016))},
                                  {"outcome": "loaded_with_quarantine", "quarantine": [[2, "Kommunkod", "ExpectColumnValuesToBeInSet", "0180"]]}),
    "unknown_program_name": ("participants", {"p.csv": lines(PART, part_row(ORG[2], "Exportakademin"), part_row(ORG[2]), part_row(ORG[3]))},
                             {"outcome": "loaded_with_quarantine", "quarantine": [[2, "Program", "ExpectColumnValuesToBeInSet", "Exportakademin"]]}),
    "xlsx_with_two_sheets": ("participants", {"p.xlsx": xlsx_two_sheets()}, {"outcome": "loaded"}),
    "xlsx_rows_on_two_sheets": ("participants", {"p.xlsx": xlsx({"2018": [PART_CELLS, [ORG[1], "Exportboost", 2018]],
                                                                   "2019": [PART_CELLS, [ORG[2], "Exportboost", 2019]]})},
                                {"outcome": "rejected", "message": ["rows on 2 sheets", "'2018' (1 row)", "'2019' (1 row)"]}),
    "xlsx_empty_template_sheet_first": ("participants", {"p.xlsx": xlsx({"Mall": [PART_CELLS],
                                                                         "Deltagare": [PART_CELLS, [ORG[1], "Exportboost", 2018],
                                                                                       [ORG[2], "Exportboost", 2018]]})},
                                        {"outcome": "loaded", "rows_read": 2}),
    "xlsx_country_code_na_namibia": ("markets", {"m.xlsx": xlsx({"Marknader": [["organisationsnummer", "ar", "land"],
                                                                               [ORG[1], 2019, "NA"], [ORG[1], 2019, "NO"]]})},
                                     {"outcome": "loaded", "rows_read": 2}),
    "separator_only_rows_below_data": ("participants", {"p.csv": lines(PART, part_row(ORG[1], "Exportboost", "2019"),
                                                                       part_row(ORG[2], "Exportboost", "2019"),
                                                                       ";;;;", ";;;;", ";;;;", ";;")},
                                       {"outcome": "loaded", "rows_read": 2}),
    "xlsx_with_merged_header_cells": ("participants", {"p.xlsx": xlsx_merged_header()}, {"outcome": "loaded"}),
    "participant_absent_from_bisnode": ("participants", {"p.csv": lines(PART, part_row(ABSENT_FROM_BISNODE, "Exportboost", "2019"))},
                                        {"outcome": "loaded", "warning": "participants_found_in_bisnode"}),
    "same_file_twice": ("participants", {"a.csv": lines(PART, part_row(ORG[5], "Exportboost", "2016")),
                                         "a_copy.csv": lines(PART, part_row(ORG[5], "Exportboost", "2016"))},
                        {"outcome": "loaded", "second_outcome": "duplicate"}),
    "corrected_redelivery": ("bisnode", {"a_first.csv": lines(BIS, bis_row(ORG[0], 2020, "500")),
                                         "b_corrected.csv": lines(BIS, bis_row(ORG[0], 2020, "520"))},
                             {"outcome": "loaded", "second_outcome": "loaded", "turnover": [ORG[0], 2020, 520.0], "superseded": 1}),
    "row_with_missing_fields": ("bisnode", {"b.csv": lines(BIS, bis_row(ORG[1], 2016), ";".join(bis_row(ORG[2], 2016).split(";")[:7]),
                                                           bis_row(ORG[3], 2016))},
                                {"outcome": "loaded_with_quarantine", "rows_read": 3,
                                 "quarantine": [[3, "SNI-kod", "csv_structure", "none for 'SNI-kod', 'Registreringsdatum', 'Bolagsform'"]]}),
    "narrow_no_break_space_thousands": ("bisnode", {"b.csv": lines(BIS, bis_row(ORG[4], 2017, "1\u202f234,5"))},
                                        {"outcome": "loaded", "turnover": [ORG[4], 2017, 1234.5]}),
    "baseline_category_not_of_its_dimension": ("baselines", {"s.xlsx": xlsx({"SCB": [
        ["kommunkod", "år", "dimension", "kategori", "antal_företag"], ["1481", 2017, "storleksklass", "1-4", 500],
        ["1481", 2017, "storleksklass", datetime(2026, 4, 1), 400], ["1481", 2017, "sni_avdelning", "c", 30],
        ["1481", 2017, "sni_avdelning", "C", 30], ["1481", 2017, "alder", ">50", 20]]})},
        {"outcome": "loaded_with_quarantine", "rows_read": 5,
         "quarantine": [[3, "kategori", "ExpectColumnValuesToBeInSet", "turned a class such as 1-4 into a date"],
                        [4, "kategori", "ExpectColumnValuesToBeInSet", "sni_avdelning: a section letter A-U"]]}),
    "target_for_misspelt_indicator": ("targets", {"t.csv": lines("program;ar;indikator;mal_kvinnor;mal_man;mal_totalt",
                                                                 "Exportboost;2019;Antal deltagande foretag;5;5;10")},
                                      {"outcome": "loaded", "warning": "target_for_unmeasured_indicator",
                                       "no_outcome": ["Exportboost", 2019, "Antal deltagande foretag"]}),
    "target_parts_do_not_add_up": ("targets", {"t.csv": lines("program;ar;indikator;mal_kvinnor;mal_man;mal_totalt",
                                                              "Gå globalt;2019;Antal deltagande företag;5;5;12")},
                                   {"outcome": "loaded", "warning": "target_parts_do_not_add_up"}),
    # An organisation number outside its column is quoted in no published text (see
    # test_published_file_quotes_no_delivered_number).
    "number_in_the_cohort_column": ("participants", {"p.csv": lines(PART, part_row(ORG[5], cohort=ORG[4]),
                                                                    part_row(ORG[5]), part_row(ORG[4]))},
                                    {"outcome": "loaded_with_quarantine", "rows_read": 3}),
    "header_names_the_columns_in_the_wrong_order": ("participants", {"p.csv": lines(
        "Kohort;Program;Organisationsnummer", f"{ORG[2]};Gå globalt;2016", f"{ORG[3]};Gå globalt;2016",
        f"{ORG[4]};Gå globalt;2016")}, {"outcome": "rejected", "rows_read": 0}),
    "rejected_for_bad_personal_numbers": ("participants", {"p.csv": lines(PART, part_row("410820-0008"), part_row("880316-0005"),
                                                                          part_row(ORG[1]))},
                                          {"outcome": "rejected", "message": ["2 of 3 rows", "[redacted]"],
                                           "message_lacks": ["410820", "880316"]}),
    "size_class_with_an_en_dash": ("baselines", {"s.csv": lines(BASE, "1482;2018;storleksklass;10\u201319;77",
                                                                 "1482;2018;storleksklass;20\u221249;33")},
                                   {"outcome": "loaded", "baseline": ["1482", 2018, "storleksklass", "10-19", 77]}),
    "revised_baseline_count": ("baselines", {"a_first.csv": lines(BASE, "1480;2019;storleksklass;1-4;100"),
                                             "b_revised.csv": lines(BASE, "1480;2019;storleksklass;1-4;120")},
                               {"outcome": "loaded", "second_outcome": "loaded", "superseded": 1,
                                "baseline": ["1480", 2019, "storleksklass", "1-4", 120]}),
    "mostly_bad_rows": ("participants", {"p.csv": lines(PART, "x;X;Gå globalt;2016;", "y;Y;Gå globalt;2016;", part_row(ORG[0]))},
                        {"outcome": "rejected", "message": ["2 of 3 rows"]}),
    "wrong_delimiter_one_column": ("participants", {"p.csv": lines(PART.replace(";", "|"), part_row(ORG[0]).replace(";", "|"))},
                                   {"outcome": "rejected", "message": ["no header row found"]}),
    "utf16_unreadable_encoding": ("participants", {"p.csv": (PART + "\n" + part_row(ORG[0]) + "\n").encode("utf-16")},
                                  {"outcome": "rejected", "message": ["UTF-16", "CSV UTF-8"]}),
    "excel_97_workbook": ("participants", {"p.xls": bytes.fromhex("d0cf11e0a1b11ae1") + bytes(504)},
                          {"outcome": "rejected", "message": ["'.xls' file cannot be read", ".xlsx"]}),
    # Curly quotes saved as UTF-8, one name typed in Windows-1252 further down: neither encoding reads it all.
    "two_encodings_mixed": ("participants", {"p.csv": lines(PART, part_row(ORG[1]).replace("Testbolaget AB", "AB ”Sjöfart”"))
                            + part_row(ORG[2]).replace("Testbolaget AB", "Göteborgs Bygg AB").encode("cp1252") + b"\n"},
                            {"outcome": "rejected", "message": ["neither UTF-8 text (line 3 is not) nor Windows-1252 (line 2 is not: byte 0x9d)", "CSV UTF-8"]}),
    "workbook_named_csv": ("participants", {"p.csv": xlsx({"Deltagare": [["Organisationsnummer", "Program", "Kohort"],
                                                                         [ORG[1], "Exportboost", 2019]]})},
                           {"outcome": "rejected", "message": ["Excel workbook", "name it .xlsx"]}),
    "carriage_returns_alone": ("participants", {"p.csv": (PART + "\r" + part_row(ORG[1]) + "\r").encode("utf-8")},
                               {"outcome": "rejected", "message": ["carriage return alone", "CSV UTF-8"]}),
    "carriage_return_inside_a_row": ("participants", {"p.csv": lines(PART, part_row(ORG[1]), part_row(ORG[2]).replace(
        "Testbolaget AB", "Testbolaget\rVäst AB"), part_row(ORG[3]))},
        {"outcome": "rejected", "message": ["line 3", "carriage return alone inside a row"]}),
    "long_note_after_a_quoted_line_break": ("participants", {"p.csv": lines(
        PART + ";Anteckning", part_row(ORG[1]).replace("Testbolaget AB", '"Testbolaget\nVäst AB"') + ";kort",
        part_row(ORG[2]) + ";" + "lång anteckning " * 10000)},
        {"outcome": "loaded", "rows_read": 2}),
    "header_ends_in_a_delimiter": ("participants", {"p.csv": lines(PART + ";", part_row(ORG[1]), part_row(ORG[2]))},
                                   {"outcome": "loaded", "rows_read": 2}),
    # Error cells of broken formulas: pandas' reader made them empty, i.e. "unknown", silently.
    "xlsx_formula_error_cells": ("bisnode", {"b.xlsx": xlsx({"Bisnode": [
        BIS.split(";"), [ORG[2], "Testbolaget AB", 2001, "#DIV/0!", None, 4, "1480", "25620", "2005-03-01", "AB"],
        [ORG[2], "Testbolaget AB", 2002, 1200, "#N/A", 4, "1480", "25620", "2005-03-01", "AB"],
        *[[ORG[2], "Testbolaget AB", year, 1300, None, 4, "1480", "25620", "2005-03-01", "AB"] for year in (2003, 2004, 2005)]]})},
        {"outcome": "loaded_with_quarantine", "rows_read": 5,
         "quarantine": [[2, "Nettoomsättning (tkr)", "number", "#DIV/0!"], [3, "Exportomsättning (tkr)", "number", "#N/A"]]}),
    # Written by a program that does not calculate: the formula's result was never saved.
    "xlsx_formulas_never_calculated": ("participants", {"p.xlsx": xlsx({"Deltagare": [
        PART_CELLS, [ORG[3], "Exportboost", "=2017+1"], [ORG[4], "Exportboost", 2018]]})},
        {"outcome": "rejected", "message": ["formula whose result was never saved", "C2 (line 2, column 'Kohort')",
                                            "open it in Excel"]}),
    # Two exports pasted into one file.
    "header_repeated_below_the_rows": ("participants", {"p.csv": lines(PART, part_row(ORG[1], "Exportboost", "2019"),
                                                                       part_row(ORG[2], "Exportboost", "2019"), PART,
                                                                       part_row(ORG[3], "Exportboost", "2019"))},
                                       {"outcome": "loaded_with_quarantine", "rows_read": 4,
                                        "quarantine": [[4, "Organisationsnummer", "repeated_header", "repeats the header"]]}),
    "header_repeated_in_another_order": ("targets", {"t.csv": lines(
        "program;ar;indikator;mal_kvinnor;mal_man;mal_totalt", "Exportboost;2015;Antal deltagande företag;2;3;5",
        "\ufeffprogram;ar;indikator;mal_man;mal_kvinnor;mal_totalt", "Exportboost;2016;Antal deltagande företag;10;2;12")},
        {"outcome": "rejected", "message": ["line 3", "repeats the header with the columns in another order",
                                            "'mal_kvinnor'", "'mal_man'"]}),
    "xlsx_program_merged_over_a_block_of_rows": ("participants", {"p.xlsx": xlsx_merged_block()},
                                                 {"outcome": "loaded", "rows_read": 3}),
    "xlsx_with_a_hidden_row": ("participants", {"p.xlsx": xlsx_hidden_row()},
                               {"outcome": "loaded", "rows_read": 3, "message": ["1 row(s) hidden in Excel were read too",
                                                                                 "lines 3"]}),
    "line_break_inside_quoted_name": ("participants", {"p.csv": lines(PART, part_row(ORG[1], "Exportboost", "2019").replace("Testbolaget AB", '"Testbolaget\nVäst AB"'),
                                                                      part_row(ORG[2], "Exportboost", "2019/20"))},
                                      {"outcome": "loaded_with_quarantine", "quarantine": [[4, "Kohort", "year", "line 4"]]}),
}


def build() -> None:
    for name, (source, files, expected) in CASES.items():
        folder = HERE / name
        shutil.rmtree(folder, ignore_errors=True)
        (folder / source).mkdir(parents=True)
        for file_name, content in files.items():
            (folder / source / file_name).write_bytes(content)
        expected = {"source": source, "files": list(files), **expected}
        (folder / "expected.json").write_text(json.dumps(expected, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    build()
