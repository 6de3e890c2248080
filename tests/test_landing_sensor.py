"""The landing sensor in the faults a shared landing folder brings (its everyday behaviour is in
test_definitions.py)."""

import logging
from pathlib import Path

import dagster as dg
import pytest

from orchestration.defs import sensors
from orchestration.defs.resources import WarehouseResource

HEADER = "Organisationsnummer;Program;Kohort\n"


class Daemon(logging.Handler):
    """Ticks the landing sensor as the daemon does, each tick from the cursor the one before left, and keeps
    what the sensor logged."""

    def __init__(self, landing: Path, cursor: str | None = None):
        super().__init__()
        self.warehouse = WarehouseResource(warehouse_dir=str(landing.parent / "warehouse"), landing_dir=str(landing))
        self.cursor = cursor
        self.run_keys = []
        self.log = []

    def tick(self) -> dg.RunRequest | dg.SkipReason:
        context = dg.build_sensor_context(cursor=self.cursor, resources={"warehouse": self.warehouse})
        context.log.addHandler(self)
        result = sensors.landing_sensor(context)
        self.cursor = context.cursor
        if isinstance(result, dg.RunRequest):
            self.run_keys.append(result.run_key)
        return result

    def emit(self, record: logging.LogRecord) -> None:
        self.log.append(record.getMessage())

    def nights(self, ticks: int) -> int:
        return sum(isinstance(self.tick(), dg.RunRequest) for _ in range(ticks))


@pytest.fixture
def landing(tmp_path) -> Path:
    (tmp_path / "landing" / "participants").mkdir(parents=True)
    return tmp_path / "landing"


def test_an_unmounted_landing_share_is_named_and_forgets_nothing(landing):
    (landing / "participants" / "intake_2022.csv").write_text(HEADER + "5560000019;Exportboost;2022\n")
    daemon = Daemon(landing)
    assert daemon.nights(3) == 1
    seen = daemon.cursor

    landing.rename(landing.with_name("unmounted"))
    skipped = daemon.tick()
    assert isinstance(skipped, dg.SkipReason)
    assert str(landing) in skipped.skip_message and "does not exist" in skipped.skip_message
    assert "mount" in skipped.skip_message
    assert daemon.cursor == seen

    landing.with_name("unmounted").rename(landing)
    # Back as it was: nothing to wait for, nothing to read again, nothing new.
    assert daemon.tick().skip_message == "no new content in the landing folder"
    assert daemon.nights(2) == 0
