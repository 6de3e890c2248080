"""The two incremental nights of issue 6, each on the warehouse of a completed first night.

- no new deliveries: how long it takes, and whether warehouse/followup.duckdb was replaced
  (its inode and mtime before and after);
- one new participants file of 50 rows: how long it takes, and whether the unchanged
  Bisnode files were read again (raw_bisnode's files and rows_read for that run) or
  validated again (rows added to audit.validation_results for bisnode).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

from bench.nightly import Night, run_night
from bench.regions import add_participants_delivery


@dataclass(frozen=True)
class RunFolders:
    landing: Path
    warehouse: Path
    dagster_home: Path
    logs: Path

    @classmethod
    def under(cls, run_dir: Path, logs: Path) -> RunFolders:
        return cls(run_dir / "landing", run_dir / "warehouse", run_dir / "dagster_home", logs)

    @property
    def published(self) -> Path:
        return self.warehouse / "followup.duckdb"

    @property
    def work_db(self) -> Path:
        return self.warehouse / "work" / "followup.duckdb"

    def night(self, name: str) -> Night:
        return run_night(self.landing, self.warehouse, self.dagster_home, self.logs, name)


@dataclass(frozen=True)
class QuietNight:
    night: Night
    republished: bool


@dataclass(frozen=True)
class NewParticipantsNight:
    night: Night
    bisnode_files_read: int
    bisnode_rows_read: int
    bisnode_validation_rows_added: int | None
    participants_rows_read: int


def file_identity(path: Path) -> tuple[int, int] | None:
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return stat.st_ino, stat.st_mtime_ns


def bisnode_validation_rows(work_db: Path) -> int | None:
    try:
        with duckdb.connect(str(work_db), read_only=True) as con:
            return con.execute("SELECT count(*) FROM audit.validation_results WHERE source = 'bisnode'").fetchone()[0]
    except duckdb.Error:
        return None


def quiet_night(folders: RunFolders, name: str) -> QuietNight:
    before = file_identity(folders.published)
    night = folders.night(name)
    return QuietNight(night, republished=file_identity(folders.published) != before)


def new_participants_night(folders: RunFolders, name: str) -> NewParticipantsNight:
    validations_before = bisnode_validation_rows(folders.work_db)
    add_participants_delivery(folders.landing)
    night = folders.night(name)
    validations_after = bisnode_validation_rows(folders.work_db)
    added = None if validations_before is None or validations_after is None else validations_after - validations_before
    return NewParticipantsNight(
        night,
        bisnode_files_read=int(night.metadata("raw_bisnode", "files")),
        bisnode_rows_read=int(night.metadata("raw_bisnode", "rows_read")),
        bisnode_validation_rows_added=added,
        participants_rows_read=int(night.metadata("raw_participants", "rows_read")),
    )
