"""Publish the working database: copy what analysts may see into a new file, then rename.

The new file is complete and checkpointed before ``os.replace`` swaps it in, so a reader
holding the published file open keeps its (old) snapshot and a new reader sees only the new
one; nobody sees a half-built state, and a failed run leaves the published file untouched.
Identifiers never enter the published file: the ``restricted`` schema is published into a
separate file, readable by its owner only.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import duckdb

from ingest.contracts import SOURCES
from ingest.typing import IDENTIFYING_RULES, redact_number_like_sql, redacted_message_sql, sql_literal

PUBLISHED_NAME = "followup.duckdb"
IDENTIFIERS_NAME = "identifiers.duckdb"
ANALYST_SCHEMAS = ("marts", "reference", "audit")
RESTRICTED_SCHEMAS = ("restricted",)


def published_file(warehouse_dir: Path) -> Path:
    """The file analysts query."""
    return warehouse_dir / PUBLISHED_NAME


def identifiers_file(warehouse_dir: Path) -> Path:
    """The restricted file with the organisation numbers (mode 0600)."""
    return warehouse_dir / "restricted" / IDENTIFIERS_NAME


def publish(work_db: Path, published: Path, schemas: tuple[str, ...] = ANALYST_SCHEMAS, mode: int = 0o644,
            duckdb_config: dict | None = None) -> Path:
    """Copy ``schemas`` of ``work_db`` into a fresh file and atomically rename it over ``published``.

    ``duckdb_config`` (memory_limit, threads) is the nightly run's, so the copy of the national
    tables stays within the same limits as every other step.
    """
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
            con.execute("CHECKPOINT")
        os.chmod(staging, mode)
        _fsync(staging)
        os.replace(staging, published)
        _fsync(published.parent)
    finally:
        staging.unlink(missing_ok=True)
        staging.with_name(staging.name + ".wal").unlink(missing_ok=True)
    return published


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
