"""Whether a night has anything to build: its inputs and code against the last publication.

A night with no new delivery and no new code would rebuild the very tables already
published. The digest below names what the published warehouse was built from: every row
of ``audit.loads`` (a new, rejected or duplicate file each add one) and the code that turns
loads into marts (dbt project, Python packages). When the published files exist and were
built from the same digest, the night skips dbt, estimation, publication and extracts.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb

REPO_DIR = Path(__file__).resolve().parents[1]
# Everything that decides what the published tables hold, besides the deliveries.
CODE_GLOBS = (
    "dbt_project/dbt_project.yml",
    "dbt_project/models/**/*",
    "dbt_project/macros/**/*",
    "dbt_project/seeds/**/*",
    "ingest/**/*.py",
    "expectations/**/*.py",
    "orchestration/**/*.py",
    "warehouse/**/*.py",
    "uv.lock",
)
PUBLICATIONS_DDL = """
CREATE SCHEMA IF NOT EXISTS ingest_state;
CREATE TABLE IF NOT EXISTS ingest_state.publications (digest VARCHAR, published_at TIMESTAMPTZ);
ALTER TABLE ingest_state.publications ADD COLUMN IF NOT EXISTS outputs VARCHAR[];
"""


def code_digest(root: Path = REPO_DIR) -> str:
    """sha256 over the path and content of every file in ``CODE_GLOBS``."""
    digest = hashlib.sha256()
    files = sorted({p for pattern in CODE_GLOBS for p in root.glob(pattern) if p.is_file() and "__pycache__" not in p.parts})
    for path in files:
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def build_digest(con: duckdb.DuckDBPyConnection, code: str) -> str:
    """The digest of what tonight's build would start from: the load log and the code."""
    loads = con.execute(
        "SELECT coalesce(string_agg(concat_ws('|', load_id, source, path, sha256, outcome, delivery_seq), "
        "'\n' ORDER BY processed_at, path), '') FROM audit.loads"
    ).fetchone()[0]
    return hashlib.sha256(f"{code}\n{loads}".encode()).hexdigest()


def publication_is_current(con: duckdb.DuckDBPyConnection, digest: str, warehouse_dir: Path, *published: Path) -> bool:
    """True when the last publication was built from ``digest`` and every published file
    exists, and so does every output its night was to write from it (the extract, the report):
    a night that failed after publishing leaves the next one something to do."""
    con.execute(PUBLICATIONS_DDL)
    last = con.execute(
        "SELECT digest, coalesce(outputs, []) FROM ingest_state.publications ORDER BY published_at DESC LIMIT 1"
    ).fetchone()
    if last is None or last[0] != digest:
        return False
    return all(_opens(p) for p in published) and all((warehouse_dir / p).exists() for p in last[1])


def _opens(database: Path) -> bool:
    """A published file is there only if DuckDB can open it (a truncated or overwritten one is not)."""
    try:
        duckdb.connect(str(database), read_only=True).close()
    except duckdb.Error:
        return False
    return True


def record_build(con: duckdb.DuckDBPyConnection, digest: str) -> None:
    """Record the digest a dbt build starts from: the publication after it records that one,
    not the load log as it is by then (an overlapping night may have loaded a file since)."""
    con.execute(PUBLICATIONS_DDL)
    con.execute("CREATE TABLE IF NOT EXISTS ingest_state.builds (digest VARCHAR, started_at TIMESTAMPTZ)")
    con.execute("INSERT INTO ingest_state.builds VALUES (?, now())", [digest])


def last_build(con: duckdb.DuckDBPyConnection) -> str:
    return con.execute("SELECT digest FROM ingest_state.builds ORDER BY started_at DESC LIMIT 1").fetchone()[0]


def record_publication(con: duckdb.DuckDBPyConnection, digest: str, warehouse_dir: Path, outputs: list[Path]) -> None:
    """Record a publication and the outputs (paths under ``warehouse_dir``) its night is to write."""
    con.execute(PUBLICATIONS_DDL)
    relative = [str(p.relative_to(warehouse_dir)) for p in outputs]  # the warehouse folder may move
    con.execute("INSERT INTO ingest_state.publications VALUES (?, now(), ?)", [digest, relative])
