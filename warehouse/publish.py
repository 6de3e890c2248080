"""Publish the working database: copy what analysts may see into a new file, then rename.

The new file is complete and checkpointed before ``os.replace`` swaps it in, so a reader
holding the published file open keeps its (old) snapshot and a new reader sees only the new
one; nobody sees a half-built state, and a failed run leaves the published file untouched.
Identifiers never enter the published file: the ``restricted`` schema is published into a
separate file, readable by its owner only.

The two files are one publication (``publish_warehouse``): both carry the same stamp, a
``publication`` table, so a reader of both (the extract's participant list) can tell when a
night was stopped between the two renames and left one file of each night.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import duckdb

from ingest.contracts import SOURCES
from ingest.typing import IDENTIFYING_RULES, redact_number_like_sql, redacted_message_sql, sql_literal

PUBLISHED_NAME = "followup.duckdb"
IDENTIFIERS_NAME = "identifiers.duckdb"
ANALYST_SCHEMAS = ("marts", "reference", "audit")
RESTRICTED_SCHEMAS = ("restricted",)
# The stamp of a publication, in a schema each file already has: analysts see audit.publication.
PUBLICATION_TABLE = "publication"
ANALYST_STAMP_SCHEMA, RESTRICTED_STAMP_SCHEMA = "audit", "restricted"


def published_file(warehouse_dir: Path) -> Path:
    """The file analysts query."""
    return warehouse_dir / PUBLISHED_NAME


def identifiers_file(warehouse_dir: Path) -> Path:
    """The restricted file with the organisation numbers (mode 0600)."""
    return warehouse_dir / "restricted" / IDENTIFIERS_NAME


@dataclass(frozen=True)
class Publication:
    """What one night published, stamped alike into the analyst file and the identifiers file."""

    id: str
    published_at: datetime
    run_id: str | None = None


class OnlyIdentifiersPublished(OSError):
    """The identifiers file was published and the analyst file, renamed after it, was not."""


class PublicationsDiffer(Exception):
    """The analyst file and the identifiers file are not of one publication."""


def publish_warehouse(work_db: Path, warehouse_dir: Path, run_id: str | None = None,
                      duckdb_config: dict | None = None) -> Publication:
    """Publish the analyst file and the restricted identifiers file as one publication.

    Both are staged complete, with the same stamp, before either is renamed, so the moment in
    which a killed night leaves one file of each night is only that between two renames, and a
    reader of both notices it (``check_one_publication``). The identifiers go first: the analyst
    file's rename is the moment the night is published (for analysts, `followup sql`, the
    report), so a night stopped between the two leaves the published warehouse as it was, as a
    failed night does; and a firm a corrected list withdrew loses its organisation number first.
    """
    publication = Publication(uuid.uuid4().hex, datetime.now(timezone.utc), run_id)
    identifiers, analyst = identifiers_file(warehouse_dir), published_file(warehouse_dir)
    with _staged(work_db, identifiers, RESTRICTED_SCHEMAS, 0o600, duckdb_config,
                 (RESTRICTED_STAMP_SCHEMA, publication)) as identifiers_copy, \
            _staged(work_db, analyst, ANALYST_SCHEMAS, 0o644, duckdb_config,
                    (ANALYST_STAMP_SCHEMA, publication)) as analyst_copy:
        _swap_in(identifiers_copy, identifiers)
        try:
            _swap_in(analyst_copy, analyst)
        except OSError as error:
            raise OnlyIdentifiersPublished(
                f"{analyst} could not be replaced ({error.strerror or error}): the restricted identifiers file is "
                "this night's, the analyst file the last night's, and extracts refuse the pair until a night "
                "publishes both.") from error
    return publication


def publish(work_db: Path, published: Path, schemas: tuple[str, ...] = ANALYST_SCHEMAS, mode: int = 0o644,
            duckdb_config: dict | None = None) -> Path:
    """Copy ``schemas`` of ``work_db`` into a fresh file and atomically rename it over ``published``.

    ``duckdb_config`` (memory_limit, threads) is the nightly run's, so the copy of the national
    tables stays within the same limits as every other step.
    """
    with _staged(work_db, published, schemas, mode, duckdb_config) as staging:
        _swap_in(staging, published)
    return published


@contextmanager
def _staged(work_db: Path, published: Path, schemas: tuple[str, ...], mode: int, duckdb_config: dict | None,
            stamp: tuple[str, Publication] | None = None) -> Iterator[Path]:
    """A complete, checkpointed copy of ``schemas`` beside ``published``, under a hidden name;
    removed on leaving unless renamed into place. ``stamp``: (schema, publication) to record."""
    published.parent.mkdir(parents=True, exist_ok=True)
    if not mode & 0o077:
        # The copy being written is readable by all until it is renamed (DuckDB creates it and
        # its write-ahead log): a restricted file is written in a folder of the owner's alone.
        os.chmod(published.parent, 0o700)
    # What a night killed while publishing left (one night runs at a time): never published.
    for leftover in published.parent.glob(f".{published.name}.*.tmp*"):
        leftover.unlink(missing_ok=True)
    staging = published.with_name(f".{published.name}.{uuid.uuid4().hex}.tmp")
    try:
        with duckdb.connect(str(staging), config=duckdb_config or {}) as con:
            work_path = str(work_db).replace("'", "''")
            con.execute(f"ATTACH '{work_path}' AS work (READ_ONLY)")
            tables = con.execute(
                "SELECT schema_name, table_name FROM duckdb_tables() "
                "WHERE database_name = 'work' AND schema_name IN (SELECT unnest(?)) "
                "ORDER BY schema_name, table_name",
                [list(schemas)],
            ).fetchall()
            for schema, table in tables:
                con.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
                con.execute(f'CREATE TABLE "{schema}"."{table}" AS {_select(schema, table)}')
                _copy_comments(con, schema, table)
            con.execute("DETACH work")
            if stamp is not None:
                _stamp(con, *stamp)
            con.execute("CHECKPOINT")
        os.chmod(staging, mode)
        _fsync(staging)
        yield staging
    finally:
        staging.unlink(missing_ok=True)
        staging.with_name(staging.name + ".wal").unlink(missing_ok=True)


def _swap_in(staging: Path, published: Path) -> None:
    os.replace(staging, published)
    _fsync(published.parent)


def _stamp(con: duckdb.DuckDBPyConnection, schema: str, publication: Publication) -> None:
    table = f'"{schema}".{PUBLICATION_TABLE}'
    con.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
    con.execute(f"CREATE TABLE {table} AS SELECT ?::VARCHAR AS publication_id, ?::TIMESTAMPTZ AS published_at, "
                "?::VARCHAR AS run_id", [publication.id, publication.published_at, publication.run_id])
    con.execute(f"COMMENT ON TABLE {table} IS 'The publication this file belongs to: followup.duckdb and "
                "restricted/identifiers.duckdb of one night carry the same row.'")
    for column, comment in (("publication_id", "Identifies the publication; the same in both published files."),
                            ("published_at", "When the night published the files."),
                            ("run_id", "The Dagster run that published them.")):
        con.execute(f"COMMENT ON COLUMN {table}.{column} IS {sql_literal(comment)}")


def publication_stamp(con: duckdb.DuckDBPyConnection, schema: str) -> tuple[str, str] | None:
    """(publication id, published at) of the published file ``con`` opened, or None for a file
    published before files were stamped."""
    stamped = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() "
        "AND schema_name = ? AND table_name = ?", [schema, PUBLICATION_TABLE]).fetchone()[0]
    if not stamped:
        return None
    return con.execute(
        f"SELECT publication_id, CAST(date_trunc('second', published_at) AS VARCHAR) "
        f'FROM "{schema}".{PUBLICATION_TABLE}').fetchone()


def check_stamps(published: Path, published_stamp: tuple[str, str] | None,
                 identifiers: Path, identifiers_stamp: tuple[str, str] | None) -> None:
    """Raise ``PublicationsDiffer`` unless the two files carry the same publication. Two files
    published before stamps were (the night after an upgrade stamps both) pass: nothing to compare."""
    ids = [stamp and stamp[0] for stamp in (published_stamp, identifiers_stamp)]
    if ids[0] == ids[1]:
        return

    def named(path: Path, stamp: tuple[str, str] | None) -> str:
        if stamp is None:
            return f"{path} (an older publication, not stamped)"
        return f"{path} (publication {stamp[0]}, published {stamp[1]})"

    raise PublicationsDiffer(
        f"the published files are from different nights: {named(published, published_stamp)} and "
        f"{named(identifiers, identifiers_stamp)}: a night was stopped while publishing; "
        "run `followup run` to publish them again.")


def check_one_publication(published: Path, identifiers: Path) -> None:
    """``check_stamps`` on the two published files, each opened read-only."""
    with duckdb.connect(str(published), read_only=True) as con:
        published_stamp = publication_stamp(con, ANALYST_STAMP_SCHEMA)
    with duckdb.connect(str(identifiers), read_only=True) as con:
        identifiers_stamp = publication_stamp(con, RESTRICTED_STAMP_SCHEMA)
    check_stamps(published, published_stamp, identifiers, identifiers_stamp)


# The texts that quote what was delivered, or name a delivered file: an organisation number
# can turn up in any of them, in whichever column it was delivered (not the firm keys and
# sha256 digests, whose hexadecimal digits may run ten long by chance).
_DELIVERED_TEXT_COLUMNS = {
    ("audit", "quarantine"): ("file", "value", "message"),
    ("audit", "loads"): ("path", "message"),
    ("audit", "superseded_rows"): ("file", "superseded_by_file"),
    ("audit", "validation_results"): ("file", "advice"),
    ("marts", "rpt_data_quality_warnings"): ("message",),  # some findings name the file and line
}


def _select(schema: str, table: str) -> str:
    source = f'work."{schema}"."{table}"'
    if (schema, table) not in _DELIVERED_TEXT_COLUMNS:
        return f"SELECT * FROM {source}"
    columns = {column: f"q.{column}" for column in _DELIVERED_TEXT_COLUMNS[schema, table]}
    if table == "quarantine":
        rules = ", ".join(sql_literal(r) for r in IDENTIFYING_RULES)
        # Rows quarantined before of_a_person was recorded count as a person's where the source names firms.
        firm_sources = ", ".join(sql_literal(s.name) for s in SOURCES.values() if s.names_firms)
        of_a_person = f"coalesce(q.of_a_person, q.source IN ({firm_sources}))"
        columns["value"] = f"CASE WHEN q.rule IN ({rules}) OR {of_a_person} THEN '[redacted]' ELSE q.value END"
        columns["message"] = redacted_message_sql("q", of_a_person)
    replaced = ", ".join(f"{redact_number_like_sql(expression)} AS {column}" for column, expression in columns.items())
    return f"SELECT q.* REPLACE ({replaced}) FROM {source} AS q"


def _copy_comments(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> None:
    """Carry the table's and its columns' DuckDB comments over: analysts read them in the published file."""
    target = f'"{schema}"."{table}"'
    (table_comment,) = con.execute(
        "SELECT comment FROM duckdb_tables() WHERE database_name = 'work' AND schema_name = ? AND table_name = ?",
        [schema, table],
    ).fetchone()
    if table_comment:
        con.execute(f"COMMENT ON TABLE {target} IS {sql_literal(table_comment)}")
    columns = con.execute(
        "SELECT column_name, comment FROM duckdb_columns() "
        "WHERE database_name = 'work' AND schema_name = ? AND table_name = ? AND comment IS NOT NULL",
        [schema, table],
    ).fetchall()
    for column, comment in columns:
        con.execute(f'COMMENT ON COLUMN {target}."{column}" IS {sql_literal(comment)}')


def _fsync(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
