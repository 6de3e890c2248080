"""One real nightly run (``followup run``) as a subprocess, and its stage times from the Dagster instance.

Step start and end come from the instance's step stats; the read + validate and raw-load
seconds are metadata the ``raw_<source>`` assets record. The subprocess's wall time also
holds Python and Dagster start-up, which no step sees: it is reported as its own line.
"""

from __future__ import annotations

import os
import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from bench.process import Measured, run_measured
from bench import REPO_DIR

INGEST_PREFIX = "raw_"
# (stage, substrings of a step key): the first match wins. The staggered-ATT asset is matched
# before "dbt" and the report before "publish" so a name holding two of them lands once;
# the CEM/DiD of rpt_cohort_effects runs inside dbt build and is counted there.
STEP_STAGES = (
    ("effect estimation", ("staggered",)),
    ("dbt build", ("dbt",)),
    ("extracts", ("extract", "report")),
    ("publish", ("publish",)),
    ("ingest", (INGEST_PREFIX,)),
)
READ_VALIDATE, RAW_LOAD = "read + validate", "raw load"
INGEST_OTHER = "ingest, other (hash, archive, checks)"
OTHER_STEPS = "other steps"
STARTUP = "start-up and between steps"
STAGE_ORDER = (READ_VALIDATE, RAW_LOAD, INGEST_OTHER, "dbt build", "effect estimation", "extracts", "publish",
               OTHER_STEPS, STARTUP)
# Stages a run may legitimately not have (they read "n/a", not 0).
OPTIONAL_STAGES = ("effect estimation", OTHER_STEPS)


@dataclass
class Night:
    measured: Measured
    run_id: str | None = None
    steps: dict[str, float] = field(default_factory=dict)
    asset_metadata: dict[str, dict] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.measured.exit_code == 0

    def metadata(self, asset: str, key: str, default=0):
        return self.asset_metadata.get(asset, {}).get(key, default)

    @property
    def firm_years(self) -> int:
        return int(self.metadata("raw_bisnode", "rows_loaded"))

    def stages(self) -> dict[str, float | None]:
        return aggregate_stages(self.steps, self.asset_metadata, self.measured.seconds)


def stage_of(step_key: str) -> str | None:
    for stage, needles in STEP_STAGES:
        if any(needle in step_key for needle in needles):
            return stage
    return None


def aggregate_stages(steps: dict[str, float], asset_metadata: dict[str, dict], total: float) -> dict[str, float | None]:
    """Seconds per stage (None when a run has no such step); the lines add up to ``total``."""
    per_stage: dict[str, float | None] = {stage: None for stage in STAGE_ORDER}
    ingest = 0.0
    for key, seconds in steps.items():
        stage = stage_of(key) or OTHER_STEPS
        if stage == "ingest":
            ingest += seconds
        else:
            per_stage[stage] = (per_stage[stage] or 0.0) + seconds
    ingest_assets = [m for asset, m in asset_metadata.items() if asset.startswith(INGEST_PREFIX)]
    per_stage[READ_VALIDATE] = sum(float(m.get("seconds_read_validate", 0)) for m in ingest_assets)
    per_stage[RAW_LOAD] = sum(float(m.get("seconds_raw_load", 0)) for m in ingest_assets)
    per_stage[INGEST_OTHER] = ingest - per_stage[READ_VALIDATE] - per_stage[RAW_LOAD]
    for stage in STAGE_ORDER:
        if per_stage[stage] is None and stage not in OPTIONAL_STAGES:
            per_stage[stage] = 0.0
    per_stage[STARTUP] = total - sum(steps.values())
    return per_stage


def nightly_command(landing: Path, warehouse: Path) -> list[str]:
    script = Path(sys.executable).with_name("followup")
    entry = [str(script)] if script.exists() else [sys.executable, "-m", "orchestration.cli"]
    return [*entry, "run", "--landing", str(landing), "--warehouse", str(warehouse)]


def run_night(landing: Path, warehouse: Path, dagster_home: Path, log_dir: Path, name: str) -> Night:
    """Run the nightly job on its own instance and read back what each step took."""
    dagster_home.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "DAGSTER_HOME": str(dagster_home)}  # the CLI points the rest at --landing/--warehouse
    measured = run_measured(nightly_command(landing, warehouse), log_dir, name, env=env, cwd=REPO_DIR)
    night = Night(measured)
    if (dagster_home / "dagster.yaml").exists():
        read_instance(night, dagster_home)
    return night


def read_instance(night: Night, dagster_home: Path) -> None:
    """Fill in the latest run's step durations and asset materialization metadata."""
    warnings.filterwarnings("ignore")
    import dagster as dg

    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        runs = instance.get_runs(limit=1)
        if not runs:
            return
        night.run_id = runs[0].run_id
        for stats in instance.get_run_step_stats(night.run_id):
            if stats.start_time is not None and stats.end_time is not None:
                night.steps[stats.step_key] = stats.end_time - stats.start_time
        records = instance.get_records_for_run(night.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION).records
        for record in records:
            materialization = record.event_log_entry.dagster_event.event_specific_data.materialization
            night.asset_metadata[materialization.asset_key.to_user_string()] = {
                key: getattr(value, "value", value) for key, value in materialization.metadata.items()
            }
