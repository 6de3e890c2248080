"""One night at a time, whoever starts it: `followup run`, the schedule, the sensor, the UI or
`dagster job execute` (orchestration/night_guard.py)."""

import subprocess
import sys
import textwrap
from pathlib import Path

import dagster as dg
import pytest

from orchestration.dbt_process import ProcessId, record_path, write_record
from orchestration.defs.ingest_assets import DUCKDB_POOL
from orchestration.defs.resources import LANDING_ENV, WAREHOUSE_ENV, WarehouseResource
from orchestration.night_guard import (
    CLI_NIGHT_TAG,
    LOCK_FILE,
    NightAlreadyRunning,
    night_locks,
    release_runs_of_dead_nights,
)
from tests.conftest import ended_process

REPO = Path(__file__).resolve().parents[1]


class LockHolder:
    """Another process holding ``folder``'s night lock, as a running night does."""

    def __init__(self, folder: Path):
        folder.mkdir(parents=True, exist_ok=True)
        code = textwrap.dedent(f"""
            import fcntl, sys
            lock = open({str(folder / LOCK_FILE)!r}, "a")
            fcntl.flock(lock, fcntl.LOCK_EX)
            print("held", flush=True)
            sys.stdin.read()
        """)
        self.process = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        text=True)
        assert self.process.stdout.readline().strip() == "held"

    def release(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=10)


@pytest.fixture
def environment(tmp_path, monkeypatch):
    """A landing folder, a warehouse and a Dagster home of this test's own."""
    landing, warehouse, home = tmp_path / "landing", tmp_path / "warehouse", tmp_path / "dagster_home"
    (landing / "participants").mkdir(parents=True)
    home.mkdir()
    monkeypatch.setenv(LANDING_ENV, str(landing))
    monkeypatch.setenv(WAREHOUSE_ENV, str(warehouse))
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    return {"landing": landing, "warehouse": warehouse, "home": home}


def test_a_process_takes_the_locks_again_while_it_holds_them_and_another_process_waits_then_is_refused(tmp_path):
    home, work = tmp_path / "home", tmp_path / "work"
    with night_locks(home, work), night_locks(home, work, wait=0):
        pass  # `followup run` holds them, and its run's warehouse resource takes them in the same process
    holder = LockHolder(work)
    try:
        with pytest.raises(NightAlreadyRunning, match=r"another night is running on this warehouse"):
            with night_locks(home, work, wait=0.2):
                pass
    finally:
        holder.release()
    with night_locks(home, work, wait=0):
        pass  # let go of when the holder ended


def test_a_run_nobody_started_with_followup_run_does_not_run_beside_a_night(environment):
    """`dagster job execute`, the daemon's run worker or a UI launch run the job as this does;
    while another night holds the warehouse's lock, the run stops before its first step."""
    from orchestration.cli import failure_paragraph
    from orchestration.definitions import defs

    holder = LockHolder(environment["warehouse"] / "work")
    try:
        with dg.DagsterInstance.get() as instance:
            result = defs.resolve_job_def("nightly").execute_in_process(instance=instance, raise_on_error=False)
    finally:
        holder.release()
    assert not result.success
    assert not [e for e in result.all_events if e.event_type_value == "STEP_START"]
    message = failure_paragraph(result)
    assert "failed before any step ran: another night is running on this warehouse" in message
    assert not (environment["warehouse"] / "work" / "followup.duckdb").exists()


def test_a_run_the_ui_starts_ends_the_dbt_build_a_killed_night_left_and_fails_its_dead_run(environment):
    """What `followup run` clears before its night, any run clears before its first step."""
    from orchestration.definitions import defs

    work = environment["warehouse"] / "work"
    work.mkdir(parents=True)
    orphan = subprocess.Popen(["sleep", "60"])
    try:
        write_record(work, ProcessId.of(orphan.pid), ended_process())
        with dg.DagsterInstance.get() as instance:
            dead = instance.create_run_for_job(dg.GraphDefinition("killed_night").to_job(),
                                               status=dg.DagsterRunStatus.STARTED)
            # A run of the dbt models alone: on a warehouse no night has loaded, it fails at once.
            result = defs.resolve_job_def("nightly").execute_in_process(
                instance=instance, raise_on_error=False, asset_selection=[dg.AssetKey(["marts", "dim_cohort"])])
            assert instance.get_run_by_id(dead.run_id).status == dg.DagsterRunStatus.FAILURE
        assert [e for e in result.all_events if e.event_type_value == "STEP_START"]
        assert orphan.wait(timeout=10) is not None
        assert not record_path(work).exists()
    finally:
        orphan.kill()
        orphan.wait()


def test_a_night_leaves_alone_a_run_the_daemon_has_launched_whose_worker_has_not_started(environment):
    """A run STARTING is one the daemon has launched and whose worker is still starting (loading the
    definitions takes seconds): it has not reached the locks, so the night holding them does not
    say it died. Its worker, once started, stops before its first step, saying another night is
    running; one that never starts is failed by the daemon's run monitoring (start timeout)."""
    with dg.DagsterInstance.get() as instance:
        killed = instance.create_run_for_job(dg.GraphDefinition("killed_night").to_job(),
                                             status=dg.DagsterRunStatus.STARTED)
        launched = instance.create_run_for_job(dg.GraphDefinition("launched_night").to_job(),
                                               status=dg.DagsterRunStatus.STARTING)
        with night_locks(environment["home"], environment["warehouse"] / "work"):
            assert release_runs_of_dead_nights(instance) == [killed.run_id]  # as `followup run` does
        assert instance.get_run_by_id(killed.run_id).status == dg.DagsterRunStatus.FAILURE
        assert instance.get_run_by_id(launched.run_id).status == dg.DagsterRunStatus.STARTING


@pytest.mark.parametrize("night_running", [False, True])
def test_the_dead_nights_sensor_fails_a_killed_followup_run_so_the_queue_moves_on(night_running, environment):
    """A `followup run` killed with SIGKILL leaves its run STARTED, holding its pool slot; the daemon
    launches one run at a time, and would hold every scheduled night behind it. The sensor fails it,
    but only while no night holds the locks, and leaves other runs (one the daemon has just launched
    is unfinished before it takes the locks) alone."""
    from orchestration.defs.sensors import dead_nights_sensor

    warehouse = WarehouseResource(landing_dir=str(environment["landing"]), warehouse_dir=str(environment["warehouse"]))
    with dg.DagsterInstance.get() as instance:
        killed = instance.create_run_for_job(dg.GraphDefinition("killed_night").to_job(),
                                             tags={CLI_NIGHT_TAG: "yes"}, status=dg.DagsterRunStatus.STARTED)
        launched = instance.create_run_for_job(dg.GraphDefinition("launched_night").to_job(),
                                               status=dg.DagsterRunStatus.STARTING)
        instance.event_log_storage.set_concurrency_slots(DUCKDB_POOL, 1)
        assert instance.event_log_storage.claim_concurrency_slot(DUCKDB_POOL, killed.run_id, "raw_bisnode").is_claimed

        holder = LockHolder(environment["warehouse"] / "work") if night_running else None
        try:
            with dg.build_sensor_context(instance=instance, resources={"warehouse": warehouse}) as context:
                dead_nights_sensor(context)
        finally:
            if holder:
                holder.release()

        expected = dg.DagsterRunStatus.STARTED if night_running else dg.DagsterRunStatus.FAILURE
        assert instance.get_run_by_id(killed.run_id).status == expected
        assert instance.get_run_by_id(launched.run_id).status == dg.DagsterRunStatus.STARTING
        assert bool(instance.event_log_storage.get_concurrency_run_ids()) == night_running


def test_every_run_executes_in_one_process_so_it_holds_the_locks_from_its_first_step_to_its_last(environment):
    """A UI launch of some assets runs the implicit asset job, multiprocess by default: each step
    would take and let go of the locks, and another night could start between two steps."""
    from orchestration.definitions import defs

    assert defs.resolve_implicit_global_asset_job_def().executor_def.name == "in_process"
