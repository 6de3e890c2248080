"""One night at a time on a warehouse and on a Dagster home, whoever starts it.

A night is started by `followup run` (in its own process), by the schedule or the landing sensor
(the daemon launches a run worker), from the UI, or by `dagster job execute`. Each holds two
locks for as long as it runs: one in the Dagster home, which makes failing that home's dead runs
safe, and one in the warehouse's work folder, which keeps out a night on another Dagster home.
`followup run` takes them before it creates its run; every other run takes them as its warehouse
resource starts (orchestration/defs/resources.py), before any step.

The locks are flock(2) locks: the kernel lets go of them when the process dies, however it dies.
So while a process holds both, no other night on this home or warehouse is alive, and a run
this home still has unfinished is one whose process died: it is failed, and the "duckdb" pool
slot it claimed is freed, or every later night would wait for that slot forever.
"""

import contextlib
import fcntl
import threading
import time
from collections.abc import Iterator
from pathlib import Path

# Marks the runs `followup run` executes in its own process: it holds the locks before it creates
# its run, so a run with this tag that is unfinished while the locks are free has died.
CLI_NIGHT_TAG = "followup/cli_night"
LOCK_FILE = "followup-run.lock"
# Another process may hold a lock for a moment only (the dead-nights sensor looking whether a
# night runs): a night waits this long before it takes a held lock for a running night.
LOCK_WAIT_SECONDS = 3.0

# The lock files this process holds, and how many holders in it share each: `followup run` holds
# them around its run, and the run's warehouse resource, in the same process, takes them again
# (flock(2) would refuse a second open file of this process as it refuses another process).
_held: dict[Path, int] = {}
_held_guard = threading.Lock()


class NightAlreadyRunning(RuntimeError):
    """Another night runs on this Dagster home or warehouse."""


@contextlib.contextmanager
def night_locks(dagster_home: Path | None, work_dir: Path, wait: float = LOCK_WAIT_SECONDS) -> Iterator[None]:
    """Hold the night locks of ``dagster_home`` (None: an ephemeral instance, which has no other
    runs) and of the warehouse's ``work_dir``; raise NightAlreadyRunning when another process does."""
    with contextlib.ExitStack() as stack:
        if dagster_home is not None:
            stack.enter_context(_night_lock(dagster_home, "Dagster home", wait))
        stack.enter_context(_night_lock(work_dir, "warehouse", wait))
        yield


@contextlib.contextmanager
def _night_lock(folder: Path, kind: str, wait: float) -> Iterator[None]:
    folder.mkdir(parents=True, exist_ok=True)
    path = (folder / LOCK_FILE).resolve()
    with _held_guard:
        shared = path in _held
        if shared:
            _held[path] += 1
    if shared:
        try:
            yield
        finally:
            with _held_guard:
                _held[path] -= 1
        return
    # Opened for appending, so taking the lock leaves the file (and its mtime) as it was.
    with path.open("a") as lock:
        _take(lock, folder, kind, wait)
        with _held_guard:
            _held[path] = 1
        try:
            yield
        finally:
            with _held_guard:
                del _held[path]


def _take(lock, folder: Path, kind: str, wait: float) -> None:
    deadline = time.monotonic() + wait
    while True:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise NightAlreadyRunning(
                    f"another night is running on this {kind} ({folder}): a `followup run`, or a run the schedule, "
                    "the landing sensor or the Dagster UI started. Nothing was run, and the published warehouse is "
                    "as that night leaves it. Wait for it to finish, or stop it, and run again.") from None
            time.sleep(0.05)


def release_runs_of_dead_nights(instance, own_run_id: str | None = None, only_cli_nights: bool = False) -> list[str]:
    """Fail the unfinished runs of ``instance`` but ``own_run_id``, and free the pool slots that runs
    which have ended still hold; return the ids of the runs failed. The caller holds the night locks.

    A run STARTING is left alone: the daemon has launched it and its worker is still starting (it
    loads the definitions for seconds), so it has not reached the locks and need not have died.
    Failed here, it would be failed as dead while its worker lives; left, the worker stops before
    its first step saying another night is running. One whose worker never starts holds no pool
    slot, and the daemon's run monitoring fails it after its start timeout (3 minutes).

    ``only_cli_nights``: fail only runs `followup run` started, for a caller that holds the locks
    for a moment only: a run the daemon has launched is STARTED for up to a few seconds while its
    worker waits for the locks, and failing it would lose that night.
    """
    import dagster as dg

    unfinished = [dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.CANCELING]
    tags = {CLI_NIGHT_TAG: "yes"} if only_cli_nights else {}
    dead = [run for run in instance.get_runs(filters=dg.RunsFilter(statuses=unfinished, tags=tags))
            if run.run_id != own_run_id]
    for run in dead:
        instance.report_run_failed(run, "The process running this night ended before the night did; a later "
                                        "night marked it failed.")
    ended = [dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED]
    storage = instance.event_log_storage
    holders = storage.get_concurrency_run_ids()
    if holders:
        for run in instance.get_runs(filters=dg.RunsFilter(run_ids=list(holders), statuses=ended)):
            storage.free_concurrency_slots_for_run(run.run_id)
    return [run.run_id for run in dead]
