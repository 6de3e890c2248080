"""Load every delivered file of one source into ``raw.<source>``; quarantine what fails.

Every row that arrived ends up either in ``raw.<source>`` or in ``audit.quarantine`` with
file, line, column, value, rule and message. Every file gets one row in ``audit.loads``.
A file that cannot be read at all is rejected whole, with its reason in ``audit.loads``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import pandas as pd

from ingest.contracts import Kind, Source
from ingest.orgnr import LUHN_PROBLEM, ORGNR_SQL_MACROS, check_candidates
from ingest.reader import CSV_SUFFIXES, EXCEL_SUFFIXES, Delivery, FileRejected, read_delivery
from ingest.typing import LINEAGE_COLUMNS, PARSE_NUMBER_MACRO, raw_columns, sql_literal, typed_select

AUDIT_DDL = """
CREATE SCHEMA IF NOT EXISTS audit;
CREATE TABLE IF NOT EXISTS audit.loads (
    load_id VARCHAR, source VARCHAR, path VARCHAR, sha256 VARCHAR, size_bytes BIGINT,
    received_at TIMESTAMPTZ, processed_at TIMESTAMPTZ, outcome VARCHAR,
    rows_read BIGINT, rows_loaded BIGINT, rows_quarantined BIGINT, message VARCHAR
);
CREATE SCHEMA IF NOT EXISTS ingest_state;
CREATE TABLE IF NOT EXISTS ingest_state.org_numbers (
    key_id VARCHAR, org_nr VARCHAR, passes_luhn BOOLEAN, is_sole_trader BOOLEAN, firm_key VARCHAR,
    PRIMARY KEY (key_id, org_nr)
);
CREATE TABLE IF NOT EXISTS audit.quarantine (
    load_id VARCHAR, source VARCHAR, file VARCHAR, line INTEGER, column_name VARCHAR,
    value VARCHAR, rule VARCHAR, message VARCHAR
);
"""

OUTCOME_LOADED = "loaded"
OUTCOME_QUARANTINED = "loaded_with_quarantine"
OUTCOME_REJECTED = "rejected"


@dataclass(frozen=True)
class FileResult:
    path: Path
    outcome: str
    rows_read: int
    rows_loaded: int
    rows_quarantined: int
    message: str


def delivered_files(landing_dir: Path, source: Source) -> list[Path]:
    """The source's files in delivery order (name), ignoring hidden files and subfolders."""
    folder = landing_dir / source.name
    if not folder.is_dir():
        return []
    suffixes = CSV_SUFFIXES + EXCEL_SUFFIXES
    return sorted(
        p for p in folder.iterdir()
        if p.is_file() and not p.name.startswith((".", "~$")) and p.suffix.lower() in suffixes
    )


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 24):
            digest.update(chunk)
    return digest.hexdigest()


def load_source(
    con: duckdb.DuckDBPyConnection, source: Source, landing_dir: Path, load_id: str, secret: bytes
) -> list[FileResult]:
    """Replace ``raw.<source>`` with the typed rows of every delivered file."""
    con.execute(AUDIT_DDL)
    con.execute(PARSE_NUMBER_MACRO)
    con.execute(ORGNR_SQL_MACROS)
    columns = raw_columns(source) + LINEAGE_COLUMNS
    con.execute("CREATE SCHEMA IF NOT EXISTS raw")
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(f"DROP TABLE IF EXISTS raw.{source.name}")
        con.execute(
            f"CREATE TABLE raw.{source.name} ({', '.join(f'{n} {t}' for n, t in columns)})"
        )
        con.execute("DELETE FROM audit.loads WHERE source = ?", [source.name])
        con.execute("DELETE FROM audit.quarantine WHERE source = ?", [source.name])
        results = [
            _load_file(con, source, path, load_id, secret, index)
            for index, path in enumerate(delivered_files(landing_dir, source))
        ]
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return results


def _load_file(
    con: duckdb.DuckDBPyConnection, source: Source, path: Path, load_id: str, secret: bytes, index: int
) -> FileResult:
    received = datetime.fromtimestamp(path.stat().st_mtime, tz=timezone.utc)
    table = f"delivery_{source.name}_{index}"
    label = str(path)
    try:
        delivery = read_delivery(con, path, source, table)
    except FileRejected as rejected:
        result = FileResult(path, OUTCOME_REJECTED, 0, 0, 0, str(rejected))
        _record_load(con, source, path, load_id, received, result)
        return result

    if any(c.kind is Kind.ORGNR for c in source.columns):
        _build_orgnr_lookup(con, table, secret)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {table}_typed AS "
        + typed_select(source, table, delivery.headers, delivery.delimiter, label)
    )
    names = [n for n, _ in raw_columns(source)]
    con.execute(
        f"INSERT INTO raw.{source.name} SELECT {', '.join(names)}, ?, _line, ? "
        f"FROM {table}_typed WHERE len(_errors) = 0 ORDER BY _line",
        [label, load_id],
    )
    con.execute(
        f"""
        INSERT INTO audit.quarantine
        SELECT ?, ?, ?, _line, e.column_name, e.value, e.rule, e.message
        FROM (SELECT _line, unnest(_errors) AS e FROM {table}_typed WHERE len(_errors) > 0)
        ORDER BY _line, e.column_name
        """,
        [load_id, source.name, label],
    )
    _quarantine_malformed(con, source, delivery, load_id, label)
    loaded, failed = con.execute(
        f"SELECT count(*) FILTER (len(_errors) = 0), count(*) FILTER (len(_errors) > 0) FROM {table}_typed"
    ).fetchone()
    quarantined = failed + len(delivery.malformed)
    outcome = OUTCOME_QUARANTINED if quarantined else OUTCOME_LOADED
    message = "" if not quarantined else f"{quarantined} row(s) quarantined; see audit.quarantine"
    if delivery.unknown_columns:
        message = (message + "; " if message else "") + (
            "unknown column(s) ignored: " + ", ".join(delivery.unknown_columns)
        )
    result = FileResult(path, outcome, loaded + quarantined, loaded, quarantined, message)
    _record_load(con, source, path, load_id, received, result)
    con.execute(f"DROP TABLE {table}; DROP TABLE {table}_typed")
    return result


def _build_orgnr_lookup(con: duckdb.DuckDBPyConnection, table: str, secret: bytes) -> None:
    """Map each delivered text to its firm key, or to the reason it is not a valid number.

    DuckDB normalises the texts; python-stdnum checks each distinct 10-digit number once,
    and the result is kept in ``ingest_state.org_numbers`` for later nights.
    """
    key_id = hashlib.sha256(secret).hexdigest()[:12]
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE orgnr_texts AS
        SELECT raw_value, orgnr_candidate(raw_value) AS candidate,
            orgnr_format_problem(raw_value) AS format_problem
        FROM (SELECT DISTINCT nullif(trim(organisationsnummer), '') AS raw_value FROM {table})
        WHERE raw_value IS NOT NULL
        """
    )
    unseen = con.execute(
        """
        SELECT DISTINCT t.candidate FROM orgnr_texts t
        ANTI JOIN (SELECT org_nr FROM ingest_state.org_numbers WHERE key_id = ?) r
            ON r.org_nr = t.candidate
        WHERE t.candidate IS NOT NULL
        """,
        [key_id],
    ).fetchall()
    if unseen:
        checked = pd.DataFrame(
            check_candidates([c for (c,) in unseen], secret),
            columns=["org_nr", "passes_luhn", "is_sole_trader", "firm_key"],
        )
        con.register("checked_frame", checked)
        con.execute("INSERT INTO ingest_state.org_numbers SELECT ?, * FROM checked_frame", [key_id])
        con.unregister("checked_frame")
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE orgnr_lookup AS
        SELECT t.raw_value,
            CASE WHEN r.passes_luhn THEN r.org_nr END AS org_nr,
            CASE WHEN r.passes_luhn THEN r.is_sole_trader END AS is_sole_trader,
            r.firm_key,
            'is not a valid organisation number: it ' || coalesce(
                t.format_problem,
                CASE WHEN NOT r.passes_luhn THEN {sql_literal(LUHN_PROBLEM)} END
            ) AS error
        FROM orgnr_texts t
        LEFT JOIN ingest_state.org_numbers r ON r.org_nr = t.candidate AND r.key_id = '{key_id}'
        """
    )


def _quarantine_malformed(con, source: Source, delivery: Delivery, load_id: str, label: str) -> None:
    for row in delivery.malformed:
        con.execute(
            "INSERT INTO audit.quarantine VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                load_id, source.name, label, row.line, row.column, row.value, row.rule,
                f"{label}, line {row.line}, column {row.column!r}: {row.message}",
            ],
        )


def _record_load(con, source: Source, path: Path, load_id: str, received: datetime, result: FileResult) -> None:
    con.execute(
        "INSERT INTO audit.loads VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            load_id, source.name, str(path), sha256_of(path), path.stat().st_size, received,
            datetime.now(tz=timezone.utc), result.outcome, result.rows_read, result.rows_loaded,
            result.rows_quarantined, result.message,
        ],
    )
