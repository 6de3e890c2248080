"""The same facts in another delivery form give the same warehouse (a metamorphic test).

The landing contract (docs/domain.md §4, README "How a night runs") admits many spellings of
one delivery: CSV with ';' or ',' between the fields, UTF-8 with or without a BOM or
Windows-1252, a decimal comma or point, or an .xlsx workbook in place of the CSV (numbers in
number cells or as text); headers in any case with spaces around them, the columns in any
order, and organisation numbers as ``5566778899``, ``556677-8899`` or ``16556677-8899`` (a
sole trader's personal number as ``YYMMDD-NNNN`` or ``YYYYMMDD-NNNN``) with stray spaces.

A small sample region is run for one night as generated. A second landing folder holds the
same rows, each file re-encoded in another admitted form: every third delivery becomes a
workbook (the workbook a CSV), the rest take the next of ``CSV_FORMS`` that differs from their
own delimiter and encoding (also: CRLF or LF, every field quoted, thousands grouped with a
space, no line end after the last row). A fixed seed (``FORM_SEED``) chooses the rest per file
and value: the header's case and the spaces around it, the column order, each organisation
number's form, and in a workbook whether a value is a number (date) cell or text. The forms
used are asserted (``FORMS_COVERED``), so a change cannot quietly drop one. Each file keeps its
name (a CSV that becomes a workbook keeps its stem and takes ``.xlsx``) and modification time,
so delivery order and redelivery logic see the same sequence. It is run for one night
into a second warehouse under the same pseudonym key. Then:

- every table of ``marts`` and ``reference`` in the two published ``followup.duckdb`` holds
  the same rows (order-insensitive; floats to a relative 1e-9). No column is excluded: the
  marts carry no load id, path or timestamp; a file name quoted in a text (a data-quality
  message) is compared with the variant's names mapped back to the originals';
- ``audit.loads`` has, per file, the same outcome, delivery order, rows read, loaded and
  quarantined, and message, and ``audit.validation_results`` the same verdicts (load ids, paths,
  sha256, sizes and times are the form's own and are not compared);
- nothing is quarantined in the variant night that was not in the original (file and line),
  and no file is rejected.

The facts are read from the original files here, independently of ``ingest/`` (Python's csv
module and openpyxl), so a reader bug cannot hide in both nights alike.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import os
import random
import shutil
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from ingest.sample_region import generate
from tests.conftest import run_cli

FIRMS = 300
REGION_SEED = 11
FORM_SEED = 2024
PSEUDONYM_KEY = "delivery-forms-test-key"
FLOAT_RELATIVE_TOLERANCE = 1e-9

# The contract's columns by kind, as normalised headers (case-folded, trimmed): how each value
# may be re-spelt. Any other column is text, written as delivered.
ORGNR = {"organisationsnummer", "org.nr"}
DECIMAL = {"nettoomsättning (tkr)", "exportomsättning (tkr)", "antal anställda", "exportvarde_tkr"}
WHOLE = {"kohort", "bokslutsår", "ar", "antal_foretag", "mal_kvinnor", "mal_man", "mal_totalt"}
CODE = {"kommunkod", "sni-kod"}  # digits with leading zeros: a workbook's number cell drops them
DATE = {"startdatum", "slutdatum", "registreringsdatum"}


# ---------------------------------------------------------------------------------------------
# The facts of a delivered file, read without ingest/.


@dataclass
class Facts:
    header: list[str]  # as delivered
    rows: list[list[object]]  # None for empty; str, Decimal, int, date or an OrgNr


@dataclass(frozen=True)
class OrgNr:
    digits: str  # the 10-digit key

    @property
    def is_person(self) -> bool:  # a personal number's 3rd-4th digits are a month
        return int(self.digits[2:4]) < 20


def _kind(header: str) -> str:
    name = header.strip().casefold()
    for kind, names in (("orgnr", ORGNR), ("decimal", DECIMAL), ("whole", WHOLE), ("code", CODE), ("date", DATE)):
        if name in names:
            return kind
    return "text"


def _fact(kind: str, value: object) -> object:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    text = str(value).strip()
    if kind == "orgnr":
        digits = "".join(c for c in text if c.isdigit())
        assert len(digits) in (10, 12), text
        return OrgNr(digits[-10:])
    if kind == "decimal":
        return Decimal(text.replace(",", "."))
    if kind == "whole":
        return int(text)
    if kind == "date":
        return dt.date.fromisoformat(text[:10])
    return text


def read_facts(path: Path) -> Facts:
    if path.suffix == ".xlsx":
        from openpyxl import load_workbook

        workbook = load_workbook(path, read_only=True)
        (sheet,) = workbook.worksheets
        table = [list(row) for row in sheet.iter_rows(values_only=True)]
        workbook.close()
    else:
        data = path.read_bytes()
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = data.decode("cp1252")
        first = text.splitlines()[0]
        delimiter = ";" if first.count(";") > first.count(",") else ","
        table = [row for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter) if row]
    header = [str(cell) for cell in table[0]]
    kinds = [_kind(h) for h in header]
    rows = [[_fact(kind, value) for kind, value in zip(kinds, row)] for row in table[1:]]
    return Facts(header, rows)


# ---------------------------------------------------------------------------------------------
# Another admitted form of the same facts.


@dataclass(frozen=True)
class _Form:
    workbook: bool
    delimiter: str = ";"
    encoding: str = "utf-8"
    decimal_comma: bool = False
    thousands_space: bool = False  # "1 234,5", as Swedish Excel writes it
    line_end: str = "\n"
    quote_all: bool = False
    final_line_end: bool = True  # False: the last row ends at the end of the file


# The CSV forms the variant cycles through, each file taking the next that differs from its own
# (delimiter and encoding); every third delivery becomes a workbook instead.
CSV_FORMS = [
    _Form(False, ";", "cp1252", decimal_comma=True, thousands_space=True, line_end="\r\n"),
    _Form(False, ",", "utf-8-sig", quote_all=True),
    _Form(False, ";", "utf-8", thousands_space=True),
    _Form(False, ",", "cp1252", decimal_comma=True, thousands_space=True, line_end="\r\n"),
    _Form(False, ";", "utf-8-sig", decimal_comma=True, quote_all=True, final_line_end=False),
    _Form(False, ",", "utf-8", line_end="\r\n", final_line_end=False),
]


def _choose_form(index: int, original: Path, facts: Facts, cycle: list[int]) -> _Form:
    """The form of the ``index``-th delivery: another than its own (``cycle`` counts CSV forms used)."""
    if original.suffix == ".csv" and index % 3 == 2:
        return _Form(workbook=True)
    own = _csv_form_of(original)
    text = "\n".join([*facts.header, *(str(v) for row in facts.rows for v in row if isinstance(v, str))])
    while True:
        form = CSV_FORMS[cycle[0] % len(CSV_FORMS)]
        cycle[0] += 1
        if form.encoding == "cp1252" and not _fits(text, "cp1252"):
            form = _Form(**{**form.__dict__, "encoding": "utf-8-sig"})
        if (form.delimiter, form.encoding) != own:
            return form


def _csv_form_of(path: Path) -> tuple[str, str] | None:
    if path.suffix != ".csv":
        return None
    data = path.read_bytes()
    first = data.splitlines()[0]
    delimiter = ";" if first.count(b";") > first.count(b",") else ","
    if data.startswith(b"\xef\xbb\xbf"):
        return delimiter, "utf-8-sig"
    try:
        data.decode("utf-8")
        return delimiter, "utf-8"
    except UnicodeDecodeError:
        return delimiter, "cp1252"


def _fits(text: str, encoding: str) -> bool:
    try:
        text.encode(encoding)
        return True
    except UnicodeEncodeError:
        return False


def _header_spelling(rng: random.Random, header: str) -> str:
    case = rng.choice([str, str.upper, str.lower, str.title, str.swapcase])
    return " " * rng.randint(0, 2) + case(header.strip()) + " " * rng.randint(0, 3)


def _orgnr_spelling(rng: random.Random, number: OrgNr, used: set[str]) -> str:
    """One of the contract's forms of the number, with stray spaces now and then."""
    d = number.digits
    if number.is_person:
        # YYYYMMDD-NNNN: the century of a birth year no later than this year's two digits is 20.
        century = "20" if int(d[:2]) <= dt.date.today().year % 100 else "19"
        forms = {"person 10": d, "person dash": f"{d[:6]}-{d[6:]}", "person 12": century + d,
                 "person 12 dash": f"{century}{d[:6]}-{d[6:]}"}
    else:
        forms = {"company 10": d, "company dash": f"{d[:6]}-{d[6:]}", "company 16": "16" + d,
                 "company 16 dash": f"16{d[:6]}-{d[6:]}"}
    name = rng.choice(sorted(forms))
    used.add(name)
    spelt = forms[name]
    if rng.random() < 0.15:
        used.add("orgnr stray spaces")
        spelt = " " * rng.randint(1, 2) + spelt + " " * rng.randint(0, 2)
    return spelt


def _decimal_text(value: Decimal, comma: bool, thousands_space: bool) -> str:
    text = format(value, "f")
    whole, _, fraction = text.partition(".")
    if thousands_space:
        sign, digits = ("-", whole[1:]) if whole.startswith("-") else ("", whole)
        groups = []
        while len(digits) > 3:
            digits, groups = digits[:-3], [digits[-3:], *groups]
        whole = sign + " ".join([digits, *groups])
    return whole + ((("," if comma else ".") + fraction) if fraction else "")


def _csv_cell(rng: random.Random, value: object, form: _Form, used: set[str]) -> str:
    if value is None:
        return ""
    if isinstance(value, OrgNr):
        return _orgnr_spelling(rng, value, used)
    if isinstance(value, Decimal):
        used.add("decimal comma" if form.decimal_comma else "decimal point")
        if form.thousands_space and abs(value) >= 1000:
            used.add("thousands space")
        return _decimal_text(value, form.decimal_comma, form.thousands_space)
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _excel_cell(rng: random.Random, value: object, used: set[str]) -> object:
    """A number cell or text, as a sender's workbook may hold the value."""
    as_number = rng.random() < 0.6
    if value is None:
        return None
    if isinstance(value, OrgNr):
        spelt = _orgnr_spelling(rng, value, used)
        if as_number and spelt.strip().isdigit():
            used.add("orgnr number cell")
            return int(spelt)
        return spelt
    if isinstance(value, Decimal):
        if as_number:
            used.add("decimal number cell")
            return float(value)
        comma, grouped = rng.random() < 0.5, rng.random() < 0.3
        used.add("decimal text cell" + (" grouped" if grouped and abs(value) >= 1000 else ""))
        return _decimal_text(value, comma, grouped)
    if isinstance(value, int):
        return value if as_number else str(value)
    if isinstance(value, dt.date):
        if as_number:
            used.add("date cell")
            return value
        return value.isoformat()
    return value


def write_in_form(facts: Facts, form: _Form, target: Path, rng: random.Random, used: set[str]) -> Path:
    """``facts`` in ``form`` at ``target`` (its suffix set by the form); columns in another order."""
    order = list(range(len(facts.header)))
    while order == list(range(len(facts.header))):
        rng.shuffle(order)
    header = [_header_spelling(rng, facts.header[i]) for i in order]
    kinds = [_kind(facts.header[i]) for i in order]
    if form.workbook:
        from openpyxl import Workbook

        target = target.with_suffix(".xlsx")
        workbook = Workbook()
        sheet = workbook.active
        sheet.title = "Blad1"
        sheet.append(header)
        for row in facts.rows:
            cells = []
            for i, kind in zip(order, kinds):
                value = row[i]
                if kind == "code" and value is not None and rng.random() < 0.6:
                    used.add("code number cell" + (" losing zeros" if value.startswith("0") else ""))
                    cells.append(int(value))
                else:
                    cells.append(_excel_cell(rng, value, used))
            sheet.append(cells)
        for cell in sheet.iter_rows(min_row=2):
            for c in cell:
                if isinstance(c.value, dt.date):
                    c.number_format = "yyyy-mm-dd"
        workbook.save(target)
        used.add("xlsx")
        return target
    target = target.with_suffix(".csv")
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=form.delimiter, lineterminator=form.line_end,
                        quoting=csv.QUOTE_ALL if form.quote_all else csv.QUOTE_MINIMAL)
    writer.writerow(header)
    for row in facts.rows:
        writer.writerow([_csv_cell(rng, row[i], form, used) for i in order])
    text = buffer.getvalue()
    if not form.final_line_end:
        text = text.removesuffix(form.line_end)
        used.add("no final line end")
    target.write_bytes(text.encode(form.encoding))
    used.update({f"delimiter {form.delimiter}", f"encoding {form.encoding}", f"line end {form.line_end!r}"})
    if form.quote_all:
        used.add("quote all")
    if form.delimiter == "," and form.decimal_comma:
        used.add("quoted decimal comma")
    return target


# Each admitted spelling the variant landing must use somewhere (the seed chooses where).
FORMS_COVERED = {
    "xlsx", "csv from xlsx", "delimiter ;", "delimiter ,", "encoding utf-8", "encoding utf-8-sig",
    "encoding cp1252", "line end '\\n'", "line end '\\r\\n'", "quote all", "decimal comma", "decimal point",
    "quoted decimal comma", "thousands space", "no final line end", "decimal number cell", "decimal text cell",
    "decimal text cell grouped", "date cell",
    "orgnr number cell", "code number cell losing zeros", "orgnr stray spaces",
    "company 10", "company dash", "company 16", "company 16 dash",
    "person 10", "person dash", "person 12", "person 12 dash",
}


def write_variant_landing(original: Path, variant: Path) -> dict[str, str]:
    """Every delivery of ``original`` in another form under ``variant``; returns variant file name -> original's."""
    rng = random.Random(FORM_SEED)
    used: set[str] = set()
    names = {}
    cycle = [0]
    deliveries = 0
    for path in sorted(original.rglob("*")):
        relative = path.relative_to(original)
        if path.is_dir() or relative.parts[0] in ("archive", "rejected"):
            continue
        target = variant / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        if len(relative.parts) == 1:  # the manifest beside the folders: no delivery
            shutil.copy2(path, target)
            continue
        facts = read_facts(path)
        form = _choose_form(deliveries, path, facts, cycle)
        deliveries += 1
        if path.suffix == ".xlsx":
            used.add("csv from xlsx")
        written = write_in_form(facts, form, target, rng, used)
        stat = path.stat()
        os.utime(written, ns=(stat.st_atime_ns, stat.st_mtime_ns))
        names[written.name] = path.name
    missing = FORMS_COVERED - used
    assert not missing, f"FORM_SEED {FORM_SEED} leaves these forms uncovered: {sorted(missing)}"
    return names


# ---------------------------------------------------------------------------------------------
# The two warehouses compared.


def _night(landing: Path, warehouse: Path, monkeypatch) -> None:
    monkeypatch.setenv("DAGSTER_HOME", str(warehouse / "dagster_home"))
    assert run_cli("run", "--landing", str(landing), "--warehouse", str(warehouse)) == 0


def _tables(con: duckdb.DuckDBPyConnection, db: str) -> list[str]:
    return [f"{schema}.{table}" for schema, table in con.execute(
        "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = ? "
        "AND schema_name IN ('marts', 'reference') ORDER BY ALL", [db]).fetchall()]


def _renamed(value: object, names: dict[str, str]) -> object:
    if isinstance(value, str):
        for variant_name, original_name in names.items():
            value = value.replace(variant_name, original_name)
    return value


def _sort_key(row: tuple) -> tuple:
    """Exact columns first, floats rounded: rows pair up though floats differ in the last bits."""
    exact = tuple((v is None, "" if v is None else str(v)) for v in row if not isinstance(v, float))
    rounded = tuple((v is None, 0.0 if v is None or math.isnan(v) else float(f"{v:.6g}"))
                    for v in row if isinstance(v, float))
    return exact + rounded


def _same(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=FLOAT_RELATIVE_TOLERANCE, abs_tol=1e-12)
    return a == b


def _table_differences(con, table: str, names: dict[str, str]) -> list[str]:
    columns = [c for c, in con.execute(
        "SELECT column_name FROM duckdb_columns() WHERE database_name = 'original' AND schema_name = ? "
        "AND table_name = ? ORDER BY column_index", table.split(".")).fetchall()]
    variant_columns = [c for c, in con.execute(
        "SELECT column_name FROM duckdb_columns() WHERE database_name = 'variant' AND schema_name = ? "
        "AND table_name = ? ORDER BY column_index", table.split(".")).fetchall()]
    if columns != variant_columns:
        return [f"{table}: columns {columns} != {variant_columns}"]
    original = sorted(con.execute(f"SELECT * FROM original.{table}").fetchall(), key=_sort_key)
    variant = sorted((tuple(_renamed(v, names) for v in row)
                      for row in con.execute(f"SELECT * FROM variant.{table}").fetchall()), key=_sort_key)
    if len(original) != len(variant):
        return [f"{table}: {len(original)} rows, variant {len(variant)}"]
    differences = []
    for a, b in zip(original, variant):
        unequal = [c for c, x, y in zip(columns, a, b) if not _same(x, y)]
        if unequal:
            differences.append(f"{table}: {dict(zip(columns, a))}\n  variant differs in {unequal}: "
                               f"{ {c: y for c, y in zip(columns, b) if c in unequal} }")
    return differences[:5]


def _loads(con, db: str, names: dict[str, str]) -> dict[tuple[str, str], tuple]:
    rows = con.execute(f"SELECT source, path, outcome, delivery_seq, rows_read, rows_loaded, rows_quarantined, "
                       f"message FROM {db}.audit.loads").fetchall()
    return {(source, names.get(Path(path).name, Path(path).name)): tuple(_renamed(v, names) for v in rest)
            for source, path, *rest in rows}


def _validations(con, db: str, names: dict[str, str]) -> list[tuple]:
    """The expectations' verdicts per file (load id, path and sha256 are the form's own)."""
    rows = con.execute(f"SELECT * EXCLUDE (load_id, file, sha256), file FROM {db}.audit.validation_results").fetchall()
    return sorted((tuple(_renamed(v, names) for v in rest) + (names.get(Path(file).name, Path(file).name),)
                   for *rest, file in rows), key=str)


def _quarantined(con, db: str, names: dict[str, str]) -> set[tuple[str, str, int]]:
    rows = con.execute(f"SELECT source, file, line FROM {db}.audit.quarantine").fetchall()
    return {(source, names.get(Path(file).name, Path(file).name), line) for source, file, line in rows}


@pytest.fixture
def warehouses(tmp_path, monkeypatch):
    for name in ("FOLLOWUP_WAREHOUSE_DIR", "FOLLOWUP_LANDING_DIR", "FOLLOWUP_COUNTIES"):
        monkeypatch.delenv(name, raising=False)  # run_cli sets the first two; restored after the test
    monkeypatch.setenv("FOLLOWUP_PSEUDONYM_KEY", PSEUDONYM_KEY)  # one key: the same firms, the same firm keys
    original, variant = tmp_path / "original" / "landing", tmp_path / "variant" / "landing"
    generate(original, FIRMS, REGION_SEED)
    names = write_variant_landing(original, variant)
    _night(original, tmp_path / "original" / "warehouse", monkeypatch)
    _night(variant, tmp_path / "variant" / "warehouse", monkeypatch)
    con = duckdb.connect()
    for db in ("original", "variant"):
        con.execute(f"ATTACH '{tmp_path / db / 'warehouse' / 'followup.duckdb'}' AS {db} (READ_ONLY)")
    yield con, names
    con.close()


def test_the_same_facts_in_another_admitted_form_give_the_same_warehouse(warehouses):
    con, names = warehouses

    original_loads, variant_loads = _loads(con, "original", names), _loads(con, "variant", names)
    assert variant_loads == original_loads
    assert {outcome for outcome, *_ in variant_loads.values()} <= {"loaded", "loaded_with_quarantine"}
    assert _quarantined(con, "variant", names) <= _quarantined(con, "original", names)
    assert _validations(con, "variant", names) == _validations(con, "original", names)

    tables = _tables(con, "original")
    assert tables == _tables(con, "variant")
    assert {"marts.fct_firm_year", "marts.rpt_cohort_effects", "reference.programs"} <= set(tables)
    differences = [d for table in tables for d in _table_differences(con, table, names)]
    assert not differences, "\n".join(differences)
