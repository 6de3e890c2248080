"""The night's dbt build, recorded while it runs, so that a later night can end one left behind.

dagster-dbt starts ``dbt build`` as a child process (``subprocess.Popen``) that nothing ties to
the night's process: when that process is killed (SIGKILL, the out-of-memory killer), dbt lives
on, for seconds or for minutes, writing the working database and dbt's target folder, while the
night locks (flock) are released at once. A later night would run beside it, and the orphan would
then overwrite that night's tables and ``run_results.json`` with the killed night's partial build.

So the dbt asset records its dbt child in ``<warehouse>/work/`` while it runs, with the process
that started it, and every night, once it holds the night locks (orchestration/night_guard.py) and
before anything else, ends a recorded dbt whose night has died. Linux only: a process is told apart from a later one given
the same pid by its start time, field 22 of ``/proc/<pid>/stat``.
"""

import json
import os
import signal
import time
from dataclasses import asdict, dataclass
from pathlib import Path

# In the warehouse's work folder, beside the working database dbt writes.
RECORD_NAME = "dbt-build.json"
# dbt is given this long to stop on SIGTERM before it is killed.
TERM_GRACE_SECONDS = 5.0
# A process killed with SIGKILL ends once it leaves the kernel; one that has not by then is stuck
# (waiting on a hung disk, say), and no night may start beside it.
KILL_WAIT_SECONDS = 30.0


class DbtBuildStillRunning(RuntimeError):
    """A dbt build of an earlier night lives on and could not be ended."""


@dataclass(frozen=True)
class ProcessId:
    """A process as the kernel knows it: its pid, and when it started (in clock ticks after boot),
    which a later process given the same pid does not share."""

    pid: int
    start_time: int

    @classmethod
    def of(cls, pid: int) -> "ProcessId | None":
        """The process ``pid`` now, or None when it has ended."""
        started = start_time(pid)
        return None if started is None else cls(pid, started)

    def lives(self) -> bool:
        return start_time(self.pid) == self.start_time


def start_time(pid: int) -> int | None:
    """Field 22 of /proc/<pid>/stat, or None when no process has the pid or it has ended (a
    zombie its parent has not reaped yet has ended: it writes nothing more)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    # Field 2, the command name, is in parentheses and may itself hold spaces and ')': the fields
    # from 3 (the state) on follow the last ')'.
    fields = stat[stat.rindex(")") + 1:].split()
    if fields[0] in ("Z", "X"):
        return None
    return int(fields[22 - 3])


def record_path(work_dir: Path) -> Path:
    return work_dir / RECORD_NAME


def record_dbt_build(work_dir: Path, dbt_pid: int) -> ProcessId | None:
    """Record the dbt child ``dbt_pid`` of this process; None (and no record) when it has ended."""
    dbt, night = ProcessId.of(dbt_pid), ProcessId.of(os.getpid())
    if dbt is None or night is None:
        return None
    write_record(work_dir, dbt, night)
    return dbt


def write_record(work_dir: Path, dbt: ProcessId, night: ProcessId) -> None:
    """Write the record whole (under another name, then renamed), so it is never read half-written."""
    path = record_path(work_dir)
    partial = path.with_name(f".{path.name}.{os.getpid()}")
    partial.write_text(json.dumps({"dbt": asdict(dbt), "night": asdict(night)}))
    os.replace(partial, path)


def forget_dbt_build(work_dir: Path, dbt: ProcessId) -> None:
    """Remove the record of ``dbt`` (once it has ended); a record of another dbt is left."""
    path = record_path(work_dir)
    record = _read_record(path)
    if record is not None and record[0] == dbt:
        path.unlink(missing_ok=True)


def end_orphaned_dbt_build(work_dir: Path) -> int | None:
    """End the recorded dbt build if it still runs and the night that started it has died;
    return its pid, or None when there was none to end.

    The caller holds the night locks, so no other night is running on this warehouse. A recorded
    dbt whose night's process still lives is left to it all the same: that process is no night
    now, and it waits for its dbt to end (dagster-dbt interrupts dbt and waits when a step stops).
    """
    path = record_path(work_dir)
    if not path.exists():
        return None
    record = _read_record(path)
    if record is None:  # unreadable, so written by no night: it names no process to end
        path.unlink(missing_ok=True)
        return None
    dbt, night = record
    if not dbt.lives():
        # It ended by itself (or its pid now belongs to another process, which is not ours to end).
        path.unlink(missing_ok=True)
        return None
    if night.lives():
        return None
    _end(dbt)
    path.unlink(missing_ok=True)
    return dbt.pid


def _end(process: ProcessId) -> None:
    """SIGTERM, a few seconds' grace, then SIGKILL; return once the process has ended."""
    for sig, wait in ((signal.SIGTERM, TERM_GRACE_SECONDS), (signal.SIGKILL, KILL_WAIT_SECONDS)):
        if not process.lives():  # checked right before signalling, so a reused pid is not hit
            return
        try:
            os.kill(process.pid, sig)
            # A paused process (SIGSTOP) would hold SIGTERM until continued.
            os.kill(process.pid, signal.SIGCONT)
        except ProcessLookupError:
            return
        except PermissionError as error:
            raise DbtBuildStillRunning(
                f"a dbt build an earlier night left running (pid {process.pid}) cannot be ended by this account "
                f"({error.strerror}). Nothing was run. End it, and run again.") from None
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if not process.lives():
                return
            time.sleep(0.05)
    raise DbtBuildStillRunning(
        f"a dbt build an earlier night left running (pid {process.pid}) did not end when killed. Nothing was "
        "run, and the published warehouse is as it was. Wait for it to end, and run again.")


def _read_record(path: Path) -> tuple[ProcessId, ProcessId] | None:
    """The recorded dbt and night, or None when there is no record or it cannot be read."""
    try:
        data = json.loads(path.read_text())
        return ProcessId(**data["dbt"]), ProcessId(**data["night"])
    except (FileNotFoundError, ValueError, KeyError, TypeError):
        return None
