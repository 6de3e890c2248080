"""Start the nightly job when a new or changed file lands."""


import hashlib
from pathlib import Path

import dagster as dg

from ingest.contracts import SOURCES
from ingest.load import delivered_files
from orchestration.defs.resources import WarehouseResource
from orchestration.defs.schedules import nightly_job


def landing_fingerprint(landing_dir: Path) -> str:
    """A digest of every delivered file's name, size and modification time."""
    digest = hashlib.sha256()
    for source in SOURCES.values():
        for path in delivered_files(landing_dir, source):
            stat = path.stat()
            digest.update(f"{source.name}/{path.name}|{stat.st_size}|{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


@dg.sensor(job=nightly_job, minimum_interval_seconds=60, default_status=dg.DefaultSensorStatus.RUNNING)
def landing_sensor(context: dg.SensorEvaluationContext, warehouse: WarehouseResource):
    fingerprint = landing_fingerprint(warehouse.landing_path)
    if fingerprint == context.cursor:
        return dg.SkipReason("no new or changed files in the landing folder")
    context.update_cursor(fingerprint)
    return dg.RunRequest(run_key=fingerprint)


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(sensors=[landing_sensor])
