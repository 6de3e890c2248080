"""The code location: every module under defs/ contributes its piece."""

import dagster as dg

from orchestration.defs import (
    checks,
    dbt_assets,
    extract_assets,
    ingest_assets,
    publish_assets,
    resources,
    schedules,
    sensors,
)

defs = dg.Definitions.merge(
    resources.resources(),
    ingest_assets.defs(),
    checks.defs(),
    dbt_assets.defs(),
    publish_assets.defs(),
    extract_assets.defs(),
    schedules.defs(),
    sensors.defs(),
)
