"""Shared fixtures: a small generated region and one full nightly run over it."""

import os
import shutil
from pathlib import Path

import pytest

from ingest.sample_region import generate

SMALL_FIRMS = 3000
SMALL_SEED = 7


@pytest.fixture(scope="session")
def small_region(tmp_path_factory) -> Path:
    landing = tmp_path_factory.mktemp("region") / "landing"
    generate(landing, SMALL_FIRMS, SMALL_SEED)
    return landing


def ended_process():
    """A process that ran and has ended (its pid free, or given to another process since)."""
    import subprocess

    from orchestration.dbt_process import ProcessId

    process = subprocess.Popen(["sleep", "60"])
    ended = ProcessId.of(process.pid)
    process.kill()
    process.wait()
    return ended


def run_cli(*args: str) -> int:
    from orchestration.cli import main

    return main(list(args))


@pytest.fixture(scope="session")
def nightly_run(small_region, tmp_path_factory):
    """One `followup run` on the small region, with its own warehouse and Dagster home."""
    warehouse = tmp_path_factory.mktemp("warehouse")
    saved = {k: os.environ.get(k) for k in ("DAGSTER_HOME", "FOLLOWUP_WAREHOUSE_DIR", "FOLLOWUP_LANDING_DIR")}
    # As `make run` does: DAGSTER_HOME named in the environment but not yet created.
    os.environ["DAGSTER_HOME"] = str(warehouse / "dagster_home")
    exit_code = run_cli("run", "--landing", str(small_region), "--warehouse", str(warehouse))
    yield {"exit_code": exit_code, "warehouse": warehouse, "landing": small_region, "night": _night_of_last_run()}
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def _night_of_last_run() -> str:
    """The Stockholm date on which the last run in DAGSTER_HOME started, as its record says."""
    import dagster as dg

    from orchestration.night import stockholm_date

    with dg.DagsterInstance.get() as instance:
        (record,) = instance.get_run_records(limit=1)
        return stockholm_date(record.start_time)


@pytest.fixture
def landing_copy(small_region, tmp_path) -> Path:
    target = tmp_path / "landing"
    shutil.copytree(small_region, target)
    return target


@pytest.fixture(scope="session")
def default_region_run(tmp_path_factory):
    """The bundled sample region (default size and seed), run once through `followup run`."""
    landing = tmp_path_factory.mktemp("default_region") / "landing"
    manifest = generate(landing)
    warehouse = tmp_path_factory.mktemp("default_warehouse")
    os.environ.pop("DAGSTER_HOME", None)
    exit_code = run_cli("run", "--landing", str(landing), "--warehouse", str(warehouse))
    return {"exit_code": exit_code, "landing": landing, "warehouse": warehouse, "manifest": manifest}
