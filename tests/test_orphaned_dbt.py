"""A night never runs beside the dbt build of an earlier night that was killed (SIGKILL, out of
memory): dbt, a child process, outlives the night and its locks, and would write the working
database and dbt's target folder beside the next night."""

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from ingest.sample_region import generate
from orchestration.dbt_process import (
    ProcessId,
    end_orphaned_dbt_build,
    record_dbt_build,
    record_path,
    write_record,
)
from orchestration.defs.resources import LANDING_ENV, WAREHOUSE_ENV
from tests.conftest import ended_process, run_cli

REPO = Path(__file__).resolve().parents[1]


def _lives(pid: int) -> bool:
    """The process runs (a zombie, ended but not yet reaped by its parent, does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat[stat.rindex(")") + 1:].split()[0] not in ("Z", "X")


def _children(pid: int) -> list[int]:
    children = []
    for entry in Path("/proc").iterdir():
        try:
            stat = (entry / "stat").read_text() if entry.name.isdigit() else ""
        except OSError:
            continue
        if stat and int(stat[stat.rindex(")") + 1:].split()[1]) == pid:
            children.append(int(entry.name))
    return children


def _cmdline(pid: int) -> str:
    try:
        return (Path(f"/proc/{pid}/cmdline").read_bytes()).replace(b"\0", b" ").decode()
    except OSError:
        return ""


def test_a_dbt_build_whose_night_was_killed_is_ended_even_when_paused(tmp_path):
    """A real night process starts a stand-in dbt and records it as the dbt asset does, and is killed."""
    night = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import subprocess, sys, time
        from pathlib import Path
        from orchestration.dbt_process import record_dbt_build
        dbt = subprocess.Popen(["sleep", "300"])
        record_dbt_build(Path({str(tmp_path)!r}), dbt.pid)
        print(dbt.pid, flush=True)
        time.sleep(300)
    """)], cwd=REPO, stdout=subprocess.PIPE, text=True)
    orphan = int(night.stdout.readline())
    try:
        os.kill(orphan, signal.SIGSTOP)  # paused, as the tester paused it: SIGTERM alone would wait
        night.kill()
        night.wait()
        assert _lives(orphan)
        assert end_orphaned_dbt_build(tmp_path) == orphan
        assert not _lives(orphan)
        assert not record_path(tmp_path).exists()
    finally:
        if _lives(orphan):
            os.kill(orphan, signal.SIGKILL)


def test_a_record_whose_pid_now_belongs_to_another_process_ends_nothing(tmp_path):
    """The pid was given to another process after the recorded dbt ended: its start time differs."""
    other = subprocess.Popen(["sleep", "60"])
    try:
        now = ProcessId.of(other.pid)
        write_record(tmp_path, ProcessId(other.pid, now.start_time - 1), ended_process())
        assert end_orphaned_dbt_build(tmp_path) is None
        assert other.poll() is None and _lives(other.pid)
        assert not record_path(tmp_path).exists()
    finally:
        other.kill()
        other.wait()


def test_a_dbt_build_whose_night_still_runs_is_left_to_it(tmp_path):
    """A run launched from the UI takes no night lock; its dbt is its own night's, not an orphan."""
    dbt = subprocess.Popen(["sleep", "60"])
    try:
        record_dbt_build(tmp_path, dbt.pid)  # this process, alive, is the night
        assert end_orphaned_dbt_build(tmp_path) is None
        assert dbt.poll() is None and record_path(tmp_path).exists()
    finally:
        dbt.kill()
        dbt.wait()


def test_the_night_after_a_night_killed_during_dbt_build_ends_its_dbt_and_succeeds(tmp_path, monkeypatch, capsys):
    """`followup run` killed with SIGKILL while dbt builds (dbt paused first, so that it cannot
    finish by itself before the next night starts); the next night ends it, then runs."""
    landing, warehouse = tmp_path / "landing", tmp_path / "warehouse"
    generate(landing, 300, 5)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    for name in (LANDING_ENV, WAREHOUSE_ENV):  # run_cli sets them; put them back afterwards
        monkeypatch.setenv(name, os.environ.get(name, ""))
    killed = subprocess.Popen([sys.executable, "-m", "orchestration.cli", "run", "--landing", str(landing),
                               "--warehouse", str(warehouse)], cwd=REPO,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    dbt = None
    try:
        deadline = time.monotonic() + 300
        while dbt is None and killed.poll() is None and time.monotonic() < deadline:
            dbt = next((pid for pid in _children(killed.pid) if " build " in _cmdline(pid)), None)
            time.sleep(0.05)
        assert dbt is not None, "the night never started dbt build"
        os.kill(dbt, signal.SIGSTOP)
        time.sleep(1)  # the night records its dbt child as soon as it has started it
        killed.kill()
        killed.wait()
        assert _lives(dbt), "dbt did not outlive its night"

        capsys.readouterr()
        assert run_cli("run", "--landing", str(landing), "--warehouse", str(warehouse)) == 0
        out = capsys.readouterr().out
        assert f"ended the dbt build a killed earlier night left running (pid {dbt})" in out
        assert not _lives(dbt)
        assert (warehouse / "followup.duckdb").exists()
        assert not record_path(warehouse / "work").exists()
    finally:
        if killed.poll() is None:
            killed.kill()
            killed.wait()
        if dbt is not None and _lives(dbt):
            os.kill(dbt, signal.SIGKILL)
