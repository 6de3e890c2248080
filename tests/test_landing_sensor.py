"""The landing sensor in the faults a shared landing folder brings (its everyday behaviour is in
test_definitions.py)."""

import errno
import json
import logging
import os
import stat
import time
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
        # Entered, as the daemon enters it: the warehouse resource is a context manager.
        with dg.build_sensor_context(cursor=self.cursor, resources={"warehouse": self.warehouse}) as context:
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


def test_a_correction_written_in_place_with_the_old_size_and_mtime_starts_a_night(landing):
    intake = landing / "participants" / "intake_2022.csv"
    intake.write_text(HEADER + "5560000019;Exportboost;2022\n")
    daemon = Daemon(landing)
    assert daemon.nights(3) == 1

    before = intake.stat()
    time.sleep(0.05)  # past the tick of the coarse clock the file system stamps the change time from
    intake.write_text(HEADER + "5560000027;Exportboost;2022\n")  # same size
    os.utime(intake, ns=(before.st_atime_ns, before.st_mtime_ns))  # as rsync -t, touch -r put it back
    assert (intake.stat().st_size, intake.stat().st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    assert intake.stat().st_ctime_ns != before.st_ctime_ns

    waiting = daemon.tick()  # no digest until it has stood still a tick
    assert waiting.skip_message == "waiting for participants/intake_2022.csv to finish arriving"
    assert daemon.nights(1) == 1
    assert daemon.nights(3) == 0


def test_a_cursor_an_earlier_version_wrote_starts_no_night_for_files_it_had_seen(landing):
    seen, still_arriving = landing / "participants" / "intake_2022.csv", landing / "participants" / "intake_2023.csv"
    seen.write_text(HEADER + "5560000019;Exportboost;2022\n")
    still_arriving.write_text(HEADER)
    old = [seen.stat().st_size, seen.stat().st_mtime_ns, sensors.sha256_of(seen)]
    cursor = {"files": {"participants/intake_2022.csv": old,
                        "participants/intake_2023.csv": [still_arriving.stat().st_size, 0, None]},
              "seen": [old[2]]}
    daemon = Daemon(landing, json.dumps(cursor))
    assert daemon.nights(1) == 0
    assert daemon.nights(1) == 1  # the one it had not read yet
    assert daemon.nights(3) == 0


def test_a_file_the_daemon_cannot_read_holds_up_no_other_and_is_named(landing, monkeypatch):
    readable, unreadable = landing / "participants" / "intake_2022.csv", landing / "participants" / "intake_2023.csv"
    readable.write_text(HEADER + "5560000019;Exportboost;2022\n")
    unreadable.write_text(HEADER + "5560000027;Exportboost;2023\n")
    unreadable.chmod(0)
    if os.geteuid() == 0:
        # Root reads a file whatever its mode: refuse as the kernel refuses the daemon's own account.
        def sha256_as_the_daemon(path: Path) -> str:
            if not path.stat().st_mode & stat.S_IRUSR:
                raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))
            return original(path)

        original = sensors.sha256_of
        monkeypatch.setattr(sensors, "sha256_of", sha256_as_the_daemon)
    daemon = Daemon(landing)

    assert daemon.nights(1) == 0  # both may still be arriving
    assert daemon.nights(1) == 1  # the readable one starts a night
    assert any("cannot read participants/intake_2023.csv (Permission denied)" in line for line in daemon.log)
    skipped = daemon.tick()
    assert isinstance(skipped, dg.SkipReason)
    assert "cannot read participants/intake_2023.csv" in skipped.skip_message
    assert "give the account that runs the Dagster daemon read access" in skipped.skip_message

    unreadable.chmod(0o644)  # as the operator is told to: the file was never taken for seen
    assert daemon.nights(2) == 1
    assert daemon.nights(3) == 0


def test_an_earlier_version_sent_again_under_its_name_starts_a_night(landing):
    intake = landing / "participants" / "intake_2022.csv"
    daemon = Daemon(landing)
    first, correction = HEADER + "5560000019;Exportboost;2022\n", HEADER + "5560000027;Exportboost;2022\n"
    for content in (first, correction + "5560000035;Exportboost;2022\n", first):
        intake.write_text(content)
        assert daemon.nights(3) == 1
    # The third night's run key is not the first's, or the daemon would take it for that night and start nothing.
    assert len(set(daemon.run_keys)) == 3

    # The earlier version under a name never seen is a copy, not news (as a renamed file is).
    (landing / "participants" / "intake_2022_copy.csv").write_text(first)
    assert daemon.nights(3) == 0


def test_a_source_folder_the_daemon_cannot_list_holds_up_no_other_and_is_named(landing, monkeypatch):
    """The folder of one source that cannot be listed (no permission) raised on every tick, and
    no night started for any other source; once listable again, its files seen before start nothing."""
    (landing / "targets").mkdir()
    (landing / "participants" / "intake_2022.csv").write_text(HEADER + "5560000019;Exportboost;2022\n")
    daemon = Daemon(landing)
    assert daemon.nights(3) == 1
    listable = sensors.delivered_files

    def as_the_daemon(landing_dir: Path, source):  # root lists any folder: refuse as the kernel would
        if source.name == "participants":
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(landing_dir / source.name))
        return listable(landing_dir, source)

    monkeypatch.setattr(sensors, "delivered_files", as_the_daemon)
    (landing / "targets" / "targets_2022.csv").write_text("program;ar;indikator;mal_totalt\nExportboost;2022;x;1\n")
    assert daemon.nights(3) == 1  # the other source's new file starts its night
    skipped = daemon.tick()
    assert "cannot read participants/ (Permission denied)" in skipped.skip_message

    monkeypatch.setattr(sensors, "delivered_files", listable)
    assert daemon.nights(3) == 0  # what it held was seen before it could not be listed


def test_a_file_removed_while_the_folder_is_listed_costs_no_tick(landing, monkeypatch):
    intake = landing / "participants" / "intake_2022.csv"
    intake.write_text(HEADER + "5560000019;Exportboost;2022\n")
    daemon = Daemon(landing)
    assert daemon.nights(3) == 1
    listed = sensors.delivered_files

    def listed_then_removed(landing_dir: Path, source):
        paths = listed(landing_dir, source)
        if source.name == "participants":
            intake.unlink()
        return paths

    monkeypatch.setattr(sensors, "delivered_files", listed_then_removed)
    assert isinstance(daemon.tick(), dg.SkipReason)


def test_the_sensor_names_a_file_called_after_a_sole_trader_without_the_personal_number(landing):
    """What the sensor says is shown to everyone with the Dagster UI."""
    named = landing / "participants" / "Anna Andersson 850312-1231.csv"
    named.write_text(HEADER + "5560000019;Exportboost;2022\n")
    daemon = Daemon(landing)
    waiting = daemon.tick()
    assert "Anna Andersson [redacted].csv" in waiting.skip_message
    assert daemon.nights(1) == 1
    assert daemon.log and not [line for line in daemon.log if "850312" in line]
    assert "850312" not in waiting.skip_message
