"""Typed resources: where the landing folder and the warehouse are, and how DuckDB is opened.

FOLLOWUP_WAREHOUSE_DIR names the warehouse directory for Dagster and for dbt's profiles.yml
alike; the working database dbt builds into is ``<warehouse>/work/followup.duckdb``.
"""


import contextlib
import os
import secrets
from collections.abc import Iterator
from functools import cached_property
from pathlib import Path

import dagster as dg
import duckdb
from dagster_dbt import DbtCliResource
from dagster_dbt.compat import DBT_PYTHON_VERSION

from expectations.suites import DEFAULT_COUNTIES, parse_counties
from orchestration.dbt_process import end_orphaned_dbt_build
from orchestration.defs.project import DBT_EXECUTABLE, dbt_project
from orchestration.night_guard import night_locks, release_runs_of_dead_nights
from warehouse.publish import PUBLISHED_NAME, identifiers_file, published_file

WAREHOUSE_ENV = "FOLLOWUP_WAREHOUSE_DIR"
LANDING_ENV = "FOLLOWUP_LANDING_DIR"
PSEUDONYM_KEY_ENV = "FOLLOWUP_PSEUDONYM_KEY"
MAX_QUARANTINE_SHARE_ENV = "FOLLOWUP_MAX_QUARANTINE_SHARE"
# The counties the warehouse covers: "14" (Västra Götaland, the default), "12,14" or "all".
COUNTIES_ENV = "FOLLOWUP_COUNTIES"
# Read by profiles.yml too, so dbt's DuckDB and the steps' DuckDB get the same limit.
MEMORY_LIMIT_ENV = "FOLLOWUP_DUCKDB_MEMORY_LIMIT"
# Two processes hold DuckDB memory during a night (the steps' and dbt's), so each gets 3 GB:
# with Python's own memory the whole run stays under 8 GB; DuckDB spills beyond it to disk.
DEFAULT_MEMORY_LIMIT = "3GB"


def covered_counties(setting: str | None = None) -> tuple[str, ...]:
    """The counties of ``setting``, else of FOLLOWUP_COUNTIES as it is now, else Västra Götaland."""
    return parse_counties(setting or os.environ.get(COUNTIES_ENV) or ",".join(DEFAULT_COUNTIES))


class WarehouseResource(dg.ConfigurableResource):
    """The landing folder a run reads and the warehouse directory it builds and publishes in."""

    landing_dir: str
    warehouse_dir: str
    # Set deliberately: the nightly run must fit an ordinary 2-core machine.
    duckdb_memory_limit: str = DEFAULT_MEMORY_LIMIT
    duckdb_threads: int = 2
    # A delivered file with a larger share of bad rows is rejected whole.
    max_quarantine_share: float = 0.5
    # County codes (or "all") whose municipalities Bisnode and SCB rows may have (suites.py).
    # Unset: FOLLOWUP_COUNTIES as the run finds it, else Västra Götaland.
    counties: str | None = None

    @property
    def covered_counties(self) -> tuple[str, ...]:
        return covered_counties(self.counties)

    @contextlib.contextmanager
    def yield_for_execution(self, context: dg.InitResourceContext) -> Iterator["WarehouseResource"]:
        """In a run, hold the night locks from before its first step to after its last.

        Every step of every run needs this resource, so whoever started the run (the schedule,
        the sensor, the UI, `dagster job execute`) runs no night beside another. With the locks
        held, what an earlier night left behind is cleared first (orchestration/night_guard.py).
        A sensor's or schedule's evaluation has no run and takes no lock.
        """
        if context.dagster_run is None:
            yield self
            return
        root = context.instance.root_directory if context.instance else None
        work_dir = self.work_db_path.parent
        with night_locks(Path(root) if root else None, work_dir):
            orphan = end_orphaned_dbt_build(work_dir)
            if orphan is not None:
                context.log.warning(f"Ended the dbt build a killed earlier night left running (pid {orphan}).")
            dead = release_runs_of_dead_nights(context.instance, own_run_id=context.run_id)
            if dead:
                context.log.warning(f"Marked failed the runs whose process died unfinished: {', '.join(dead)}.")
            yield self

    @property
    def landing_path(self) -> Path:
        return Path(self.landing_dir).resolve()

    @property
    def warehouse_path(self) -> Path:
        return Path(self.warehouse_dir).resolve()

    @property
    def work_db_path(self) -> Path:
        return self.warehouse_path / "work" / PUBLISHED_NAME

    @property
    def dbt_target_path(self) -> Path:
        """dbt's target folder for the nightly build, kept from night to night.

        Kept, because dbt's partial parse (``partial_parse.msgpack`` there) is valid only for the
        profile it was parsed with, and this warehouse's profile is the same every night; one
        folder, because dagster-dbt would otherwise leave a new one in the dbt project per run.
        """
        return self.warehouse_path / "work" / "dbt-target"

    @property
    def published_path(self) -> Path:
        return published_file(self.warehouse_path)

    @property
    def identifiers_path(self) -> Path:
        return identifiers_file(self.warehouse_path)

    @property
    def duckdb_config(self) -> dict[str, str | int]:
        """The settings every DuckDB connection that builds or copies the warehouse opens with."""
        return {"memory_limit": self.duckdb_memory_limit, "threads": self.duckdb_threads}

    def connect_work(self) -> duckdb.DuckDBPyConnection:
        """Open the working database (never the published one) for writing.

        It holds the raw rows, organisation numbers among them, so its folder is the owner's
        alone (0700), as the restricted folder is.
        """
        self.work_db_path.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(self.work_db_path.parent, 0o700)
        return duckdb.connect(str(self.work_db_path), config=self.duckdb_config)

    @property
    def pseudonym_key_path(self) -> Path:
        """The key file ``pseudonym_secret`` reads (and creates) when the environment names no key."""
        return self.warehouse_path / "restricted" / "pseudonym.key"

    def pseudonym_key_origin(self) -> str:
        """Where ``pseudonym_secret`` takes the key from, as the operator would look for it."""
        if os.environ.get(PSEUDONYM_KEY_ENV):
            return f"The pseudonym key in {PSEUDONYM_KEY_ENV}"
        return f"The pseudonym key in {self.pseudonym_key_path}"

    def pseudonym_secret(self) -> bytes:
        """The key of the pseudonymous firm key: from the environment, or a file kept 0600.

        The same key every night keeps firm keys stable; without it they cannot be reversed.
        """
        from_env = os.environ.get(PSEUDONYM_KEY_ENV)
        if from_env:
            return from_env.encode("utf-8")
        key_file = self.pseudonym_key_path
        if not key_file.exists():
            key_file.parent.mkdir(parents=True, exist_ok=True)
            descriptor = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "w") as fh:
                fh.write(secrets.token_hex(32))
        return key_file.read_text().strip().encode("utf-8")


class NightlyDbtCliResource(DbtCliResource):
    """dagster-dbt's dbt resource without the two probes it makes before every dbt command.

    dagster-dbt 0.29 runs ``dbt --version`` in a subprocess before each command (7 s on a
    2-core machine, nearly all of it dbt's imports) and opens a dbt adapter in this process
    (4 s), which it uses only to fetch row counts and column metadata; these assets fetch
    neither. The executable is the dbt installed beside this interpreter, so its version is
    the installed dbt-core's.
    """

    @cached_property
    def _cli_version(self):
        return DBT_PYTHON_VERSION

    def _initialize_dbt_core_adapter(self, args):
        return None


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(
        resources={
            "warehouse": WarehouseResource(
                landing_dir=dg.EnvVar(LANDING_ENV),
                warehouse_dir=dg.EnvVar(WAREHOUSE_ENV),
                max_quarantine_share=float(os.environ.get(MAX_QUARANTINE_SHARE_ENV, "0.5")),
                duckdb_memory_limit=os.environ.get(MEMORY_LIMIT_ENV, DEFAULT_MEMORY_LIMIT),
            ),
            "dbt": NightlyDbtCliResource(
                project_dir=dbt_project, profiles_dir=str(dbt_project.project_dir), dbt_executable=str(DBT_EXECUTABLE)
            ),
        }
    )
