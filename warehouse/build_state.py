"""Whether a night has anything to build: its inputs and code against the last publication.

A night with no new delivery and no new code would rebuild the very tables already
published. The digest below names what the published warehouse was built from: every row
of ``audit.loads`` (a new, rejected or duplicate file each add one) and the code that turns
loads into marts (dbt project, Python packages). When the published files exist and were
built from the same digest, the night skips dbt, estimation, publication and extracts.

A night with new deliveries of some sources builds only the models downstream of those
sources (``changed_sources``); the others were built from the same inputs and code by the
last completed build and are still in the working database.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import duckdb

from warehouse.publish import PublicationsDiffer, check_one_publication

REPO_DIR = Path(__file__).resolve().parents[1]
# Everything that decides what the published tables hold, besides the deliveries.
CODE_GLOBS = (
    "dbt_project/dbt_project.yml",
    "dbt_project/models/**/*",
    "dbt_project/macros/**/*",
    "dbt_project/seeds/**/*",
    "dbt_project/tests/**/*",  # singular data tests: a new one is a reason to build and test again
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
    return files_digest(root, CODE_GLOBS)


def files_digest(root: Path, globs: tuple[str, ...], salt: str = "") -> str:
    """sha256 over ``salt`` and the path (under ``root``) and content of every file ``globs`` match."""
    digest = hashlib.sha256(salt.encode())
    files = sorted({p for pattern in globs for p in root.glob(pattern) if p.is_file() and "__pycache__" not in p.parts})
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


def publication_is_current(con: duckdb.DuckDBPyConnection, digest: str, warehouse_dir: Path,
                           published: Path, identifiers: Path) -> bool:
    """True when the last publication was built from ``digest`` and both published files
    exist, of one publication, and so does every output its night was to write from it (the
    extract, the report), written since: a night that failed after publishing leaves the next one
    something to do, also when a file of that name is an earlier run's of the same date; and a
    night stopped between the two files' renames leaves the next one both to publish again."""
    con.execute(PUBLICATIONS_DDL)
    last = con.execute(
        "SELECT digest, coalesce(outputs, []) FROM ingest_state.publications ORDER BY published_at DESC LIMIT 1"
    ).fetchone()
    if last is None or last[0] != digest:
        return False
    try:
        # Opens each file once: one DuckDB cannot open (missing, truncated, overwritten) is not there.
        check_one_publication(published, identifiers)
    except (duckdb.Error, PublicationsDiffer):
        return False
    # Against the published files' own times, not the clock: both are the file system's.
    published_at = max(p.stat().st_mtime_ns for p in (published, identifiers))
    return all(_written_since(warehouse_dir / p, published_at) for p in last[1])


def _written_since(path: Path, time_ns: int) -> bool:
    try:
        return path.stat().st_mtime_ns >= time_ns
    except FileNotFoundError:
        return False


BUILDS_DDL = """
CREATE SCHEMA IF NOT EXISTS ingest_state;
CREATE TABLE IF NOT EXISTS ingest_state.builds (digest VARCHAR, started_at TIMESTAMPTZ);
ALTER TABLE ingest_state.builds ADD COLUMN IF NOT EXISTS code VARCHAR;
ALTER TABLE ingest_state.builds ADD COLUMN IF NOT EXISTS sources VARCHAR;
ALTER TABLE ingest_state.builds ADD COLUMN IF NOT EXISTS completed_at TIMESTAMPTZ;
"""


def source_digests(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Per source (raw table), the digest of its rows in the load log: it changes when a file
    of that source is loaded, quarantined, rejected or superseded, and only then."""
    return dict(con.execute(
        "SELECT source, sha256(string_agg(concat_ws('|', load_id, path, sha256, outcome, delivery_seq), "
        "'\n' ORDER BY processed_at, path)) FROM audit.loads GROUP BY source"
    ).fetchall())


def changed_sources(con: duckdb.DuckDBPyConnection, code: str, sources: dict[str, str]) -> list[str] | None:
    """The sources whose loads changed since the last completed dbt build, or None when every
    model must be built: no build completed yet, the code changed, or the last build started
    did not complete (it may have replaced some tables and not others)."""
    con.execute(BUILDS_DDL)
    last = con.execute(
        "SELECT code, sources, completed_at FROM ingest_state.builds ORDER BY started_at DESC LIMIT 1"
    ).fetchone()
    if last is None or last[2] is None or last[0] != code:
        return None
    built_from = json.loads(last[1])
    return sorted(source for source, digest in sources.items() if built_from.get(source) != digest)


def record_build(con: duckdb.DuckDBPyConnection, digest: str, code: str, sources: dict[str, str]) -> None:
    """Record the digest a dbt build starts from: the publication after it records that one,
    not the load log as it is by then (an overlapping night may have loaded a file since).
    The code and per-source digests let the next night build only what changed."""
    con.execute(BUILDS_DDL)
    con.execute("INSERT INTO ingest_state.builds VALUES (?, now(), ?, ?, NULL)",
                [digest, code, json.dumps(sources, sort_keys=True)])


def record_build_completed(con: duckdb.DuckDBPyConnection, digest: str) -> None:
    """Mark the latest build from ``digest`` complete: every model it selected was built and tested."""
    con.execute(
        "UPDATE ingest_state.builds SET completed_at = now() WHERE started_at = "
        "(SELECT max(started_at) FROM ingest_state.builds WHERE digest = ?) AND digest = ?",
        [digest, digest],
    )


def last_completed_build(con: duckdb.DuckDBPyConnection) -> str | None:
    """The digest of the latest dbt build started, or None when it did not complete (a run of some
    models from the UI, or a build a failed test stopped): the working database may then hold
    tables of two builds, or ones no test passed."""
    con.execute(BUILDS_DDL)
    last = con.execute(
        "SELECT digest, completed_at FROM ingest_state.builds ORDER BY started_at DESC LIMIT 1").fetchone()
    return last[0] if last is not None and last[1] is not None else None


def record_publication(con: duckdb.DuckDBPyConnection, digest: str, warehouse_dir: Path, outputs: list[Path]) -> None:
    """Record a publication and the outputs (paths under ``warehouse_dir``) its night is to write."""
    con.execute(PUBLICATIONS_DDL)
    relative = [str(p.relative_to(warehouse_dir)) for p in outputs]  # the warehouse folder may move
    con.execute("INSERT INTO ingest_state.publications VALUES (?, now(), ?)", [digest, relative])
