"""Load the new deliveries of one source into ``raw.<source>``; account for every row.

A delivered file has exactly one of three outcomes:

1. ``loaded``: every row passed;
2. ``loaded_with_quarantine``: rows that broke a row-level rule are in ``audit.quarantine``
   with file, line, column, value, rule and a message a person can act on; the rest loaded;
3. ``rejected``: the file as a whole is unusable (unreadable, missing columns, empty,
   truncated, or too many bad rows). Nothing from it loads; a copy and a ``.reason.txt``
   go to ``landing/rejected/<source>/``.

``audit.loads`` holds one row per delivered file (rows read = loaded + quarantined). Files
are identified by name and sha256: a file already processed is not read again (even if the
landing folder has moved), and the same content under another name loads once while its
first copy is in effect. Every delivered file is archived, content-addressed, under
``landing/archive/``. Deliveries accumulate in ``raw``: a later delivery of the same
natural key supersedes the earlier rows, and a file delivered again under the same name
replaces the earlier one, withdrawing the rows it no longer has (``audit.superseded_rows``
shows which).
"""

from __future__ import annotations

import csv
import re
import time
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import pandas as pd

from expectations.suites import DEFAULT_COUNTIES, NATURAL_KEYS, county_names
from expectations.validate import failing_rows, start_importing_gx, validate_table
from ingest.contracts import Source
from ingest.delivery import Delivery, FileRejected
from ingest.landing import (
    archive,
    delivered_files,
    misplaced_files,
    set_aside,
    sha256_of,
    size_and_mtime,
    with_fallback,
)
from ingest.number_marks import NumberMarks, number_columns, number_marks, some_value_query
from ingest.orgnr import LUHN_PROBLEM, ORGNR_SQL_MACROS, firm_key, hmac_pads
from ingest.reader import drop_delivery, read_delivery, unreadable_text
from ingest.repeated_header import check_repeated_headers
from ingest.typing import (
    LINEAGE_COLUMNS,
    TYPING_MACROS,
    quarantine_message,
    raw_columns,
    redact_number_like,
    redacted_message_sql,
    sql_literal,
    typed_select,
)

AUDIT_DDL = """
CREATE SCHEMA IF NOT EXISTS audit;
CREATE SCHEMA IF NOT EXISTS raw;
CREATE TABLE IF NOT EXISTS audit.loads (
    load_id VARCHAR, source VARCHAR, path VARCHAR, sha256 VARCHAR, size_bytes BIGINT,
    received_at TIMESTAMPTZ, processed_at TIMESTAMPTZ, outcome VARCHAR, delivery_seq INTEGER,
    rows_read BIGINT, rows_loaded BIGINT, rows_quarantined BIGINT, message VARCHAR
);
CREATE TABLE IF NOT EXISTS audit.quarantine (
    load_id VARCHAR, source VARCHAR, file VARCHAR, line INTEGER, column_name VARCHAR,
    value VARCHAR, rule VARCHAR, message VARCHAR, of_a_person BOOLEAN
);
-- of_a_person: the row's organisation number is a personal identity number (a sole trader's),
-- or could not be read as one, so its values may name a person: the published file shows them
-- as '[redacted]'. (Added to warehouses made before it: their rows are taken as of a person.)
ALTER TABLE audit.quarantine ADD COLUMN IF NOT EXISTS of_a_person BOOLEAN;
CREATE TABLE IF NOT EXISTS audit.validation_results (
    load_id VARCHAR, source VARCHAR, file VARCHAR, sha256 VARCHAR, expectation VARCHAR,
    column_name VARCHAR, severity VARCHAR, success BOOLEAN, element_count BIGINT,
    unexpected_count BIGINT, advice VARCHAR
);
CREATE TABLE IF NOT EXISTS audit.superseded_rows (
    load_id VARCHAR, source VARCHAR, natural_key VARCHAR, file VARCHAR, line INTEGER,
    delivery_seq INTEGER, superseded_by_file VARCHAR, superseded_by_line INTEGER,
    superseded_by_seq INTEGER
);
-- Earlier versions cached every number's firm key here; it is computed in SQL now, and a
-- table pairing numbers with their pseudonyms is better not kept.
DROP TABLE IF EXISTS ingest_state.org_numbers;
"""

OUTCOME_LOADED = "loaded"
OUTCOME_QUARANTINED = "loaded_with_quarantine"
OUTCOME_REJECTED = "rejected"
OUTCOME_DUPLICATE = "duplicate"
# Not outcomes in audit.loads: files not read tonight, and read on a night they can be. One that
# changed while it was read is still being copied to the landing folder (the next night, or the
# landing sensor, reads it once it stands still); one that cannot be opened (no read access, held
# locked by another program) waits for someone to put that right. A file in a subfolder of a
# source's folder, or in its folder spelt in other case, is named, not read (``misplaced_files``).
OUTCOME_STILL_ARRIVING = "still_arriving"
OUTCOME_NOT_READABLE = "not_readable"
OUTCOME_MISPLACED = "misplaced"
NOT_READ_OUTCOMES = (OUTCOME_STILL_ARRIVING, OUTCOME_NOT_READABLE, OUTCOME_MISPLACED)
DELIVERY_COLUMNS = [("_file_sha256", "VARCHAR"), ("_delivery_seq", "INTEGER")]


@dataclass(frozen=True)
class LoadSettings:
    # A file with a larger share of bad rows is rejected whole: it is likely the wrong file.
    max_quarantine_share: float = 0.5
    # Copy each delivery to landing/archive/ and rejected ones to landing/rejected/<source>/.
    keep_copies: bool = True
    # Where those copies go when the landing folder cannot be written (a read-only share);
    # made the owner's alone (0700), since deliveries carry personal identity numbers.
    fallback_copies_dir: Path | None = None
    # The counties whose municipality codes Bisnode and SCB rows may carry.
    counties: tuple[str, ...] = DEFAULT_COUNTIES
    # Where the pseudonym key came from, for the message when it is not the one used before.
    key_origin: str = "the pseudonym key"


@dataclass(frozen=True)
class FileResult:
    path: Path
    outcome: str
    rows_read: int
    rows_loaded: int
    rows_quarantined: int
    message: str
    # Wall time of the two phases, for the run's metadata and the benchmark's stage figures.
    seconds_read_validate: float = 0.0
    seconds_raw_load: float = 0.0


def load_source(
    con: duckdb.DuckDBPyConnection,
    source: Source,
    landing_dir: Path,
    load_id: str,
    secret: bytes,
    settings: LoadSettings = LoadSettings(),
) -> list[FileResult]:
    """Load every file of ``source`` not processed before; return what happened to each."""
    con.execute(AUDIT_DDL)
    con.execute(TYPING_MACROS)
    con.execute(ORGNR_SQL_MACROS)
    # Firms recur in every yearly file: each text is checked and hashed once per call.
    con.execute(
        "CREATE OR REPLACE TEMP TABLE orgnr_lookup (raw_value VARCHAR, org_nr VARCHAR, "
        "is_sole_trader BOOLEAN, firm_key VARCHAR, error VARCHAR)"
    )
    columns = raw_columns(source) + LINEAGE_COLUMNS + DELIVERY_COLUMNS
    con.execute(
        f"CREATE TABLE IF NOT EXISTS raw.{source.name} ({', '.join(f'{n} {t}' for n, t in columns)})"
    )
    _check_pseudonym_key(con, source, secret, settings.key_origin)
    _check_counties(con, settings.counties)
    results = [FileResult(path, OUTCOME_MISPLACED, 0, 0, 0, reason) for path, reason in misplaced_files(landing_dir, source)]
    for index, path in enumerate(delivered_files(landing_dir, source)):
        try:
            as_found = size_and_mtime(path)
            sha = sha256_of(path)
        except OSError as error:
            results.append(FileResult(
                path, OUTCOME_NOT_READABLE, 0, 0, 0,
                f"cannot be opened ({error.strerror or error}), so nothing of it was read: give the account that "
                "runs the nightly job read access to it, or close the program that holds it; a later night reads it"))
            continue
        if _latest_sha_under_name(con, source, _file_name(path)) == sha:
            continue  # processed on an earlier night (by name and content: the landing share may move)
        # A new version of a file loaded before replaces it, even when another file holds the
        # same content: its rows are loaded, and the ones it no longer has are withdrawn.
        replaces_loaded = bool(_versions_loaded(con, source, _file_name(path)))
        earlier = [] if replaces_loaded else _identical_and_in_effect(con, source, sha)
        staged = None
        try:
            if not earlier:
                start_importing_gx()
                # Read, type and validate before the transaction opens: DuckDB scans a table
                # created inside an open transaction at about half the speed.
                try:
                    staged = _stage_file(con, source, path, load_id, secret, index, settings,
                                         replaces_loaded)
                except Exception as error:
                    if size_and_mtime(path) != as_found:  # half written when it was read
                        results.append(_still_arriving(path))
                        continue
                    # Printed on the terminal and kept in the run's events: a file named after a sole trader,
                    # or an error quoting a delivered line, shows as the published file would show it.
                    raise DeliveryReadFailed(redact_number_like(
                        f"{path}: reading this delivery failed unexpectedly ({type(error).__name__}: {error}). "
                        "Nothing of it was loaded. If the file is the cause, move it out of the landing folder "
                        "and run again (the rest loads); if not, the error says what to put right."
                    )) from error
            if size_and_mtime(path) != as_found:
                results.append(_still_arriving(path))
                continue
            if settings.keep_copies:
                with_fallback(archive, landing_dir, settings.fallback_copies_dir, path, sha)
            con.execute("BEGIN TRANSACTION")
            try:
                sequence = con.execute("SELECT coalesce(max(delivery_seq), 0) + 1 FROM audit.loads").fetchone()[0]
                if staged is None:
                    result = FileResult(path, OUTCOME_DUPLICATE, 0, 0, 0,
                                        f"identical to {earlier[0][0]}, which was already processed; not loaded again")
                else:
                    result = _write_file(con, source, staged, sha, load_id, sequence)
                loaded = result.outcome in (OUTCOME_LOADED, OUTCOME_QUARANTINED)
                _record_load(con, source, path, sha, load_id, result, sequence if loaded else None)
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
        finally:
            if staged is not None:
                staged.drop(con)
        if result.outcome == OUTCOME_REJECTED and settings.keep_copies:
            with_fallback(set_aside, landing_dir, settings.fallback_copies_dir, path, result.message)
        results.append(result)
    return results


def _still_arriving(path: Path) -> FileResult:
    return FileResult(path, OUTCOME_STILL_ARRIVING, 0, 0, 0,
                      "the file changed while it was read, so it is still being copied to the landing folder: "
                      "nothing of it was loaded or recorded; it is read once it stands still (the landing sensor "
                      "starts a night then, or the next night reads it)")


class DeliveryReadFailed(Exception):
    """A delivery could not be staged for a reason no check foresaw; the message names the file."""


class PseudonymKeyChanged(Exception):
    """Tonight's pseudonym key is not the one that keyed the rows already loaded."""


def _check_pseudonym_key(con, source: Source, secret: bytes, key_origin: str) -> None:
    """Every firm key in the warehouse must come from one key: rows keyed with another would
    make each firm two firms, and every metric wrong without a trace. One loaded row tells."""
    if not source.names_firms:
        return
    row = con.execute(f"SELECT org_nr, firm_key, _source_file, _line FROM raw.{source.name} "
                      "WHERE org_nr IS NOT NULL LIMIT 1").fetchone()
    if row is None or firm_key(row[0], secret) == row[1]:
        return
    _, _, file, line = row
    file = redact_number_like(file)  # the message is printed on the terminal: a file may be named after a person
    raise PseudonymKeyChanged(
        f"{key_origin} is not the key the rows already in raw.{source.name} were keyed with (e.g. {file}, "
        f"line {line}, column organisationsnummer): firm keys would no longer match across nights. Restore the "
        "key used before (the file restricted/pseudonym.key of the warehouse, or FOLLOWUP_PSEUDONYM_KEY) and run "
        "again. If that key is lost, move the warehouse's work/ folder aside and run again: every delivery in "
        "the landing folder is read anew under the new key, and the published firm keys change."
    )


class CountiesChanged(Exception):
    """Tonight's counties covered are not those the deliveries already loaded were checked against."""


def _check_counties(con, counties: tuple[str, ...]) -> None:
    """Rows were quarantined or loaded by the counties covered when their file was read, and a
    file is read once: another setting would apply to new files only, and leave rows of a county
    now covered in quarantine (or rows of one no longer covered loaded) without a word."""
    con.execute("CREATE SCHEMA IF NOT EXISTS ingest_state; "
                "CREATE TABLE IF NOT EXISTS ingest_state.counties_covered (counties VARCHAR)")
    setting = ",".join(counties)
    recorded = con.execute("SELECT any_value(counties) FROM ingest_state.counties_covered").fetchone()[0]
    if recorded == setting:
        return
    if recorded is None or not con.execute("SELECT count(*) FROM audit.loads").fetchone()[0]:
        con.execute("DELETE FROM ingest_state.counties_covered; INSERT INTO ingest_state.counties_covered VALUES (?)",
                    [setting])
        return
    names = county_names()

    def described(codes: list[str]) -> str:
        return ", ".join(f"{names.get(code, 'unknown')} ({code})" for code in codes)

    raise CountiesChanged(
        f"The counties covered (FOLLOWUP_COUNTIES) are now {described(list(counties))}, but the deliveries already "
        f"loaded were checked against {described(recorded.split(','))}: each of their rows was loaded or quarantined "
        "by its municipality's county then, and a file already processed is not read again. To keep the warehouse as it "
        f"is, set FOLLOWUP_COUNTIES={recorded} again. To cover the new counties, move the warehouse's work/ folder "
        "aside and run again: every delivery in the landing folder is read anew under the new setting (the "
        "pseudonym key stays, so the firm keys do not change)."
    )


@dataclass
class _StagedFile:
    """One delivery read, typed and validated into temporary tables, not yet written anywhere.

    ``rejection`` is set when the file as a whole is not to be loaded; ``validation`` is None
    when the file never got as far as validation.
    """

    path: Path
    table: str
    label: str
    started_at: float
    delivery: Delivery | None = None
    validation: list | None = None
    rows_read: int = 0
    quarantined: int = 0
    rejection: str | None = None
    staged_at: float = 0.0

    def drop(self, con) -> None:
        con.execute(f"DROP VIEW IF EXISTS {self.table}_clean; DROP TABLE IF EXISTS {self.table}_typed")
        if self.delivery is not None:
            drop_delivery(con, self.delivery)


def _stage_file(con, source: Source, path: Path, load_id: str, secret: bytes, index: int,
                settings: LoadSettings, replaces_loaded: bool) -> _StagedFile:
    """Read, type and validate one delivery. ``replaces_loaded``: a file of this name was loaded
    before, so this one may hold no rows (a list withdrawn whole)."""
    staged = _StagedFile(path, f"delivery_{source.name}_{index}", str(path), time.perf_counter())
    table, label = staged.table, staged.label
    try:
        delivery = staged.delivery = read_delivery(con, path, source, table)
        if source.names_firms:
            _add_to_orgnr_lookup(con, delivery.columns_view, secret)
        con.execute(f"CREATE OR REPLACE TEMP TABLE {table}_typed AS "
                    + typed_select(source, table, delivery.headers, _number_marks(con, source, delivery), label))
        _reject_if_incomplete(con, path, delivery, replaces_loaded)
        check_repeated_headers(con, source, delivery, f"{table}_typed", label)
    except FileRejected as rejected:
        staged.rejection = str(rejected)
        staged.staged_at = time.perf_counter()
        return staged
    except (UnicodeError, csv.Error) as error:
        # Text the checks above let through and a reader still could not split (a file marked
        # as UTF-8 is taken at its word until then): this file's fault, not the night's, so it is
        # rejected with its name and the rest load.
        staged.rejection = str(unreadable_text(path, error))
        staged.staged_at = time.perf_counter()
        return staged

    names = [n for n, _ in raw_columns(source)]
    # Validation reads the rows clean so far; the rule failures it finds are added to _errors after.
    con.execute(f"CREATE OR REPLACE TEMP VIEW {table}_clean AS SELECT * FROM {table}_typed WHERE len(_errors) = 0")
    staged.validation = validate_table(con, source.name, f"{table}_clean", names, settings.counties)
    failures = _as_delivered(con, table, failing_rows(staged.validation), delivery.headers)
    failures["column_name"] = [_delivered_header(c, delivery.headers) for c in failures["column_name"]]
    _flag_rule_failures(con, table, label, failures)

    rows_read, failed = con.execute(
        f"SELECT count(*), count(*) FILTER (len(_errors) > 0) FROM {table}_typed"
    ).fetchone()
    staged.rows_read = rows_read + len(delivery.malformed)
    staged.quarantined = failed + len(delivery.malformed)
    if staged.rows_read and staged.quarantined / staged.rows_read > settings.max_quarantine_share:
        examples = con.execute(
            f"SELECT {redacted_message_sql('e', '_of_a_person')} FROM (SELECT unnest(_errors) AS e, _line, "
            f"{_of_a_person_sql(source)} AS _of_a_person FROM {table}_typed) ORDER BY _line LIMIT 3"
        ).fetchall()
        detail = "; ".join(m for (m,) in examples) or "; ".join(
            f"{label}, line {m.line}, column '{m.column}': {m.message}" for m in delivery.malformed[:3]
        )
        staged.rejection = (
            f"{label}: {staged.quarantined} of {staged.rows_read} rows break the rules (more than "
            f"{settings.max_quarantine_share:.0%}), so the whole file was rejected as likely the wrong file or "
            f"format. First problems: {detail}"
        )
    staged.staged_at = time.perf_counter()
    return staged


def _write_file(con, source: Source, staged: _StagedFile, sha: str, load_id: str, sequence: int) -> FileResult:
    """Write a staged file's outcome: its validation results, and unless rejected its rows."""
    path, table, label = staged.path, staged.table, staged.label
    if staged.validation is not None:
        _record_validation(con, source, label, sha, load_id, staged.validation)
    if staged.rejection is not None:
        return FileResult(path, OUTCOME_REJECTED, 0, 0, 0, staged.rejection, staged.staged_at - staged.started_at)

    writing = time.perf_counter()
    names = [n for n, _ in raw_columns(source)]
    # In the file's order, which the typed table keeps only chunk by chunk. The sort costs
    # 0.35 s a national file, but without it every model and estimate downstream ran slower:
    # a national night took 309-325 s instead of 287 s (bench/RESULTS.md, 2026-11-28).
    con.execute(
        f"INSERT INTO raw.{source.name} SELECT {', '.join(names)}, ?, _line, ?, ?, ? "
        f"FROM {table}_typed WHERE len(_errors) = 0 ORDER BY _line",
        [label, load_id, sha, sequence],
    )
    con.execute(
        f"""
        INSERT INTO audit.quarantine
        SELECT ?, ?, ?, _line, e.column_name, e.value, e.rule, e.message, _of_a_person
        FROM (SELECT _line, unnest(_errors) AS e, {_of_a_person_sql(source)} AS _of_a_person
              FROM {table}_typed WHERE len(_errors) > 0)
        ORDER BY _line, e.column_name
        """,
        [load_id, source.name, label],
    )
    _quarantine_malformed(con, source, staged.delivery, load_id, label)
    # A source's first delivery supersedes nothing: the self-join of raw would cost a second
    # of a national file for no row.
    if _has_earlier_delivery(con, source, sequence):
        _record_superseded(con, source, load_id, sequence)
        replaced = _versions_loaded(con, source, _file_name(path))  # this delivery's own row is not recorded yet
        if replaced:
            _record_replaced(con, source, load_id, sequence, path)
            _resettle_keys(con, source, load_id, replaced, sequence)
    quarantined = staged.quarantined
    outcome = OUTCOME_QUARANTINED if quarantined else OUTCOME_LOADED
    notes = [f"{quarantined} row(s) quarantined; see audit.quarantine"] if quarantined else []
    if staged.rows_read == 0:
        notes.append(f"no rows: the rows of {path.name} delivered earlier are withdrawn (audit.superseded_rows)")
    if staged.delivery.unknown_columns:
        notes.append("unknown column(s) ignored: " + ", ".join(staged.delivery.unknown_columns))
    notes += staged.delivery.notes
    return FileResult(path, outcome, staged.rows_read, staged.rows_read - quarantined, quarantined, "; ".join(notes),
                      staged.staged_at - staged.started_at, time.perf_counter() - writing)


def _number_marks(con, source: Source, delivery: Delivery) -> dict[str, NumberMarks]:
    if not delivery.delimiter:
        return {}
    comma_delimited = str(delivery.delimiter == ",").lower()

    def some(condition: str) -> bool:
        return con.execute(some_value_query(delivery.table, condition)).fetchone()[0]

    marks = {}
    for column in number_columns(source):
        if column.name not in delivery.headers:
            continue
        # Each question stops at the first value that answers it, and only a column that writes
        # numbers the continental way is asked the next: a national file's column takes one scan.
        continental = some(f"writes_continental_number({column.name}, {comma_delimited})")
        english = continental and some(f"writes_english_number({column.name})")
        beyond_doubt = english and some(f"writes_continental_number({column.name}, true)")
        marks[column.name] = number_marks(delivery.delimiter, continental, english, beyond_doubt)
    return marks


def _reject_if_incomplete(con, path: Path, delivery: Delivery, replaces_loaded: bool) -> None:
    """A header with no rows, or a last line cut off mid-row, means the file is not whole.

    Except that a header alone under the name of a file loaded before withdraws its rows, as
    any file delivered again under its name replaces the earlier one."""
    rows = con.execute(f"SELECT count(*) FROM {delivery.table}_typed").fetchone()[0]
    if rows == 0 and not delivery.malformed and not replaces_loaded:
        raise FileRejected(path, "the file has a header but no data rows; deliver it again with its data (a header "
                                 "alone withdraws the rows of a file loaded earlier under the same name)")
    if delivery.delimiter and delivery.malformed:
        with path.open("rb") as fh:
            fh.seek(max(0, path.stat().st_size - 1))
            ends_with_newline = fh.read(1) in (b"\n", b"\r")
        last = delivery.malformed[-1]
        # Cut off mid-row: too few fields, or a quoted value the end of the file left open.
        cut = "fewer fields" in last.message or last.value.count('"') % 2 == 1
        if not ends_with_newline and last.rule == "csv_structure" and cut:
            raise FileRejected(
                path, f"the file ends in this line without a line break, and the line is not a whole row "
                f"('{_excerpt(last.value)}'): "
                "either the file is cut off in the middle of a row (deliver the complete file again), or the line "
                "is a note below the table (remove it and deliver the file again)", line=last.line,
            )


def _excerpt(text: str, limit: int = 60) -> str:
    """``text`` as a message quotes it: organisation and personal numbers redacted first (cut
    short, a number is no longer found, and '19811218-98' would publish a birth date), then
    shortened, never ending in part of a number."""
    text = redact_number_like(text)
    if len(text) <= limit:
        return text
    return re.sub(r"[0-9][0-9 +-]*$", "", text[:limit - 3]) + "..."


# Columns the rules judge that are derived from a delivered column, by that column.
_DERIVED_FROM = {"firm_key": "organisationsnummer", "registration_year": "registration_date",
                 "dimension_category": "category"}
# Of those, the ones whose failing value the quarantine shows as the delivered column's text.
# Not the firm key (its text is an organisation number), nor the baseline's dimension:category
# pair (the category's text alone would drop the dimension).
_SHOWN_AS = {c: _DERIVED_FROM[c] for c in ("registration_year",)}


def _as_delivered(con, table: str, failures: pd.DataFrame, headers: dict[str, str]) -> pd.DataFrame:
    """The failing values as the sender typed them ('-100', 'Sverige', '487'), not as typed
    for validation ('-100.0', 'SVERIGE', '0487'), so they can be found in the file.

    A key of several columns keeps its pseudonymous firm key: the organisation number is
    not repeated in the quarantine's message."""
    shown = {c: _SHOWN_AS.get(c, c) for c in failures["column_name"].unique() if _SHOWN_AS.get(c, c) in headers}
    if failures.empty or not shown:
        return failures
    texts = " ".join(f"WHEN {sql_literal(c)} THEN delivered_text(t.{text})" for c, text in shown.items())
    con.register("failures_typed", failures)
    delivered = con.execute(
        f"SELECT f.line, f.column_name, coalesce(CASE f.column_name {texts} END, f.value) AS value, f.rule, f.advice "
        f"FROM failures_typed AS f LEFT JOIN {table} AS t ON t._line = f.line ORDER BY f.line, f.rule, f.column_name"
    ).df()
    con.unregister("failures_typed")
    return delivered


def _delivered_header(column: str, headers: dict[str, str]) -> str:
    """Name a failing column as the sender wrote it (``firm_key`` is their organisation number)."""
    return "+".join(headers.get(_DERIVED_FROM.get(c, c), c) for c in column.split("+"))


def _flag_rule_failures(con, table: str, label: str, failures: pd.DataFrame) -> None:
    """Add the suite's error-level failures to the rows' ``_errors`` lists."""
    if failures.empty:
        return
    con.register("rule_failures", failures)
    con.execute(
        f"""
        UPDATE {table}_typed AS t SET _errors = list_concat(t._errors, f.errors)
        FROM (
            SELECT line, list(struct_pack(
                column_name := column_name, value := value, rule := rule,
                message := {quarantine_message(label, "line", "column_name", "value", "advice")}
            ) ORDER BY rule, column_name) AS errors
            FROM rule_failures GROUP BY line
        ) AS f
        WHERE t._line = f.line
        """
    )
    con.unregister("rule_failures")


def _record_validation(con, source: Source, label: str, sha: str, load_id: str, results) -> None:
    for result in results:
        con.execute(
            "INSERT INTO audit.validation_results VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [load_id, source.name, label, sha, result.rule.expectation, result.rule.column, result.rule.severity,
             result.success, result.element_count, result.unexpected_count, result.rule.advice],
        )


def _key_text(source: Source) -> str:
    """SQL for the natural key of the row ``old``, its values joined with '|'."""
    return " || '|' || ".join(f"coalesce(CAST(old.{k} AS VARCHAR), '')" for k in NATURAL_KEYS[source.name])


# A delivery's file name, as the versions of a file are matched: composed (NFC), since a Mac
# writes "å" as "a" and a combining ring, and the same list saved there must replace itself.
_FILE_NAME = "nfc_normalize(parse_filename(path))"


def _file_name(path: Path) -> str:
    return unicodedata.normalize("NFC", path.name)


def _latest_sha_under_name(con, source: Source, name: str) -> str | None:
    """The content last processed under this file name (any folder: the landing share may move)."""
    row = con.execute(
        f"SELECT sha256 FROM audit.loads WHERE source = ? AND {_FILE_NAME} = ? "
        "ORDER BY processed_at DESC LIMIT 1", [source.name, name],
    ).fetchone()
    return row[0] if row else None


def _identical_and_in_effect(con, source: Source, sha: str) -> list[tuple[str]]:
    """Loaded files with this content none of whose rows a later delivery has superseded.

    Loading the same content again would change nothing then. A file identical to one that
    was rejected, or to one later deliveries have since corrected, is read: the later delivery
    wins, so sending an earlier version again restores it.
    """
    return con.execute(
        f"""
        SELECT path FROM audit.loads AS l
        WHERE source = ? AND sha256 = ? AND outcome IN ('{OUTCOME_LOADED}', '{OUTCOME_QUARANTINED}')
          AND rows_read > 0  -- a list withdrawn whole is in effect under its own name only
          AND NOT EXISTS (SELECT 1 FROM audit.superseded_rows AS s
                          WHERE s.source = l.source AND s.delivery_seq = l.delivery_seq)
        ORDER BY processed_at
        """,
        [source.name, sha],
    ).fetchall()


def _versions_loaded(con, source: Source, name: str) -> list[int]:
    """The deliveries of files of this name loaded so far: a new one replaces them all."""
    return [seq for (seq,) in con.execute(
        f"SELECT delivery_seq FROM audit.loads WHERE source = ? AND {_FILE_NAME} = ? "
        f"AND outcome IN ('{OUTCOME_LOADED}', '{OUTCOME_QUARANTINED}')", [source.name, name],
    ).fetchall()]


def _has_earlier_delivery(con, source: Source, sequence: int) -> bool:
    return con.execute(
        "SELECT count(*) > 0 FROM audit.loads WHERE source = ? AND delivery_seq < ?", [source.name, sequence]
    ).fetchone()[0]


def _resettle_keys(con, source: Source, load_id: str, replaced: list[int], sequence: int) -> None:
    """Settle anew which row is in effect for every key the replaced versions or this delivery hold.

    A row another file's row superseded is back in effect once that file is delivered again
    without it (withdrawn): of the rows of files as last delivered, the latest delivery of each
    key wins, and every other is superseded by it. The rows of versions since replaced stay
    superseded by their replacement (``_record_replaced``).
    """
    names = NATURAL_KEYS[source.name]
    keys = ", ".join(names)
    joined = " AND ".join(f"r.{k} IS NOT DISTINCT FROM k.{k}" for k in names)
    seqs = ", ".join(str(int(seq)) for seq in [*replaced, sequence])
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE resettled AS
        WITH replaced_versions AS (
            SELECT delivery_seq FROM (
                SELECT delivery_seq, max(delivery_seq) OVER (PARTITION BY {_FILE_NAME}) AS latest
                FROM audit.loads WHERE source = ? AND outcome IN ('{OUTCOME_LOADED}', '{OUTCOME_QUARANTINED}')
            ) WHERE delivery_seq < latest
            UNION ALL SELECT unnest(?::INTEGER[])
        ),
        affected_keys AS (SELECT DISTINCT {keys} FROM raw.{source.name} WHERE _delivery_seq IN ({seqs})),
        in_files_as_delivered AS (
            SELECT r.{', r.'.join(names)}, r._source_file, r._line, r._delivery_seq
            FROM raw.{source.name} AS r SEMI JOIN affected_keys AS k ON {joined}
            WHERE r._delivery_seq NOT IN (SELECT delivery_seq FROM replaced_versions)
        )
        SELECT *,
            arg_max(_source_file, _delivery_seq) OVER by_key AS winner_file,
            arg_max(_line, _delivery_seq) OVER by_key AS winner_line,
            max(_delivery_seq) OVER by_key AS winner_seq
        FROM in_files_as_delivered
        WINDOW by_key AS (PARTITION BY {keys})
        """,
        [source.name, replaced],
    )
    con.execute(
        "DELETE FROM audit.superseded_rows AS s USING resettled AS r "
        "WHERE s.source = ? AND s.delivery_seq = r._delivery_seq AND s.line = r._line",
        [source.name],
    )
    con.execute(
        f"""
        INSERT INTO audit.superseded_rows
        SELECT ?, ?, {_key_text(source)}, old._source_file, old._line, old._delivery_seq,
            old.winner_file, old.winner_line, old.winner_seq
        FROM resettled AS old
        WHERE old._delivery_seq < old.winner_seq
        """,
        [load_id, source.name],
    )
    con.execute("DROP TABLE resettled")


def _record_replaced(con, source: Source, load_id: str, sequence: int, path: Path) -> None:
    """A file delivered again under the same name replaces the earlier one: its rows that this
    delivery does not repeat are superseded too (with no line), so a corrected list can
    withdraw a row or move it to another cohort."""
    con.execute(
        f"""
        INSERT INTO audit.superseded_rows
        SELECT ?, ?, {_key_text(source)}, old._source_file, old._line, old._delivery_seq, ?, NULL, ?
        FROM raw.{source.name} AS old
        WHERE old._delivery_seq IN (
                SELECT delivery_seq FROM audit.loads
                WHERE source = ? AND {_FILE_NAME} = ? AND delivery_seq < ?
            )
          AND NOT EXISTS (
              SELECT 1 FROM audit.superseded_rows s
              WHERE s.source = ? AND s.file = old._source_file AND s.line = old._line
                AND s.delivery_seq = old._delivery_seq
          )
        """,
        [load_id, source.name, str(path), sequence, source.name, _file_name(path), sequence, source.name],
    )


def _record_superseded(con, source: Source, load_id: str, sequence: int) -> None:
    """Rows of earlier deliveries whose natural key this delivery repeats are superseded."""
    joined = " AND ".join(f"old.{k} IS NOT DISTINCT FROM new.{k}" for k in NATURAL_KEYS[source.name])
    con.execute(
        f"""
        INSERT INTO audit.superseded_rows
        SELECT ?, ?, {_key_text(source)}, old._source_file, old._line, old._delivery_seq,
            new._source_file, new._line, new._delivery_seq
        FROM raw.{source.name} old
        JOIN raw.{source.name} new ON {joined}
        WHERE new._delivery_seq = ? AND old._delivery_seq < ?
          AND NOT EXISTS (
              SELECT 1 FROM audit.superseded_rows s
              WHERE s.source = ? AND s.file = old._source_file AND s.line = old._line
                AND s.delivery_seq = old._delivery_seq
          )
        """,
        [load_id, source.name, sequence, sequence, source.name],
    )


def _add_to_orgnr_lookup(con: duckdb.DuckDBPyConnection, table: str, secret: bytes) -> None:
    """Add each delivered text not seen before in this run to ``orgnr_lookup``: its firm key,
    or the reason it is not a valid organisation number."""
    inner_pad, outer_pad = hmac_pads(secret)
    con.execute(
        f"""
        INSERT INTO orgnr_lookup
        SELECT raw_value,
            CASE WHEN valid THEN candidate END AS org_nr,
            CASE WHEN valid THEN orgnr_is_personal_number(candidate) END AS is_sole_trader,
            CASE WHEN valid THEN orgnr_firm_key(candidate, ?, ?) END AS firm_key,
            'is not a valid organisation number: it ' || coalesce(
                format_problem, CASE WHEN NOT valid THEN {sql_literal(LUHN_PROBLEM)} END
            ) AS error
        FROM (
            SELECT raw_value, candidate, format_problem, orgnr_passes_luhn(candidate) AS valid
            FROM (
                SELECT raw_value, orgnr_candidate(compact) AS candidate, orgnr_format_problem(compact) AS format_problem
                FROM (
                    SELECT raw_value, orgnr_compact(raw_value) AS compact
                    FROM (SELECT DISTINCT delivered_text(organisationsnummer) AS raw_value FROM {table})
                    ANTI JOIN orgnr_lookup USING (raw_value)
                    WHERE raw_value IS NOT NULL
                )
            )
        )
        """,
        [inner_pad, outer_pad],
    )


def _quarantine_malformed(con, source: Source, delivery: Delivery, load_id: str, label: str) -> None:
    for row in delivery.malformed:
        con.execute(
            "INSERT INTO audit.quarantine VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                load_id, source.name, label, row.line, row.column, row.value, row.rule,
                f"{label}, line {row.line}, column {row.column!r}: {row.message}",
                source.names_firms,  # a row that could not be split: whose it is, is unknown
            ],
        )


def _of_a_person_sql(source: Source) -> str:
    """SQL, over a typed delivery, for whether a row may be a person's: its number is a sole
    trader's, or was not read (empty or invalid). Sources without organisation numbers name no one."""
    return "coalesce(is_sole_trader, true)" if source.names_firms else "false"


def _record_load(con, source: Source, path: Path, sha: str, load_id: str, result: FileResult,
                 sequence: int | None) -> None:
    stat = path.stat()
    con.execute(
        "INSERT INTO audit.loads VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            load_id, source.name, str(path), sha, stat.st_size,
            datetime.fromtimestamp(stat.st_mtime, tz=timezone.utc), datetime.now(tz=timezone.utc),
            result.outcome, sequence, result.rows_read, result.rows_loaded, result.rows_quarantined, result.message,
        ],
    )



