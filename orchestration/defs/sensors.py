"""Start the nightly job when a file with new content has landed and finished arriving."""


import hashlib
import json
from pathlib import Path

import dagster as dg

from ingest.contracts import SOURCES
from ingest.landing import delivered_files, sha256_of
from ingest.typing import redact_number_like
from orchestration.defs.resources import WarehouseResource
from orchestration.defs.schedules import nightly_job
from orchestration.night_guard import NightAlreadyRunning, night_locks, release_runs_of_dead_nights


def landing_state(landing_dir: Path, previous: dict[str, list]) -> tuple[dict[str, list], dict[str, OSError]]:
    """Each delivered file as [size, mtime_ns, ctime_ns, sha256], from ``previous`` (the last tick's), and
    the files that could not be read, with the error.

    A file whose size, modification or change time moved since the last tick may still be arriving
    (a large file copied to the share): it gets no digest until it has stood still for a tick. Only then
    is it read, once. The change time counts because no one can set it back: a correction written in
    place under the old size and modification time (rsync -t, touch -r) still moves it. A file that
    cannot be read gets no digest, so the next tick reads it again; one merely touched is read again
    too, and keeps the digest it had.
    """
    state, unreadable = {}, {}
    for source in SOURCES.values():
        try:
            paths = delivered_files(landing_dir, source)
        except OSError as error:
            # A folder that cannot be listed (no permission), or a file removed while it was: what
            # the last tick knew of the source stands, so nothing in it is taken for new or gone.
            if not isinstance(error, FileNotFoundError):
                unreadable[f"{source.name}/"] = error
            state.update({name: entry for name, entry in previous.items() if name.startswith(f"{source.name}/")})
            continue
        for path in paths:
            try:
                stat = path.stat()
            except FileNotFoundError:  # removed since it was listed: gone, as any removed file is
                continue
            name = f"{source.name}/{path.name}"
            now = [stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns]
            # An entry an earlier version wrote ([size, mtime, sha256]) never matches: such a file is read
            # once more, which also finds a correction in place that version missed.
            *then, sha = previous.get(name, [None])
            if then != now:
                state[name] = [*now, None]
                continue
            if sha is None:
                try:
                    sha = sha256_of(path)
                except OSError as error:
                    unreadable[name] = error
            state[name] = [*now, sha]
    return state, unreadable


def new_content(state: dict[str, list], seen: set[str], latest: dict[str, str]) -> list[str]:
    """The files that stood still and hold other content than was last seen under their name.

    A file touched holds what it held, and a removed one is nothing to load. Under a name never seen,
    only content never seen under any name is new: a renamed file, or a copy, is nothing new either.
    Under a known name, any other content is new, an earlier version sent again included: the night
    loads it over the version it replaces.
    """
    return sorted(name for name, (*_, sha) in state.items()
                  if sha and (sha != latest[name] if name in latest else sha not in seen))


def _read_cursor(text: str | None) -> dict:
    """The last tick's files, every digest seen and the one last seen under each name; an empty start
    for none, or for the plain fingerprint an earlier version kept (its first night then finds the
    files processed). A cursor from before names were kept gets them from its files."""
    try:
        cursor = json.loads(text) if text else None
    except ValueError:
        cursor = None
    if not (isinstance(cursor, dict) and "files" in cursor):
        return {"files": {}, "seen": [], "latest": {}}
    cursor.setdefault("latest", {name: entry[-1] for name, entry in cursor["files"].items() if entry[-1]})
    return cursor


def _cannot_read(unreadable: dict[str, OSError]) -> str:
    return "; ".join(f"cannot read {name} ({error.strerror or error}): give the account that runs the "
                     "Dagster daemon read access to it (it is read again each tick until then)"
                     for name, error in sorted(unreadable.items()))


@dg.sensor(job=nightly_job, minimum_interval_seconds=60, default_status=dg.DefaultSensorStatus.RUNNING)
def landing_sensor(context: dg.SensorEvaluationContext, warehouse: WarehouseResource):
    landing = warehouse.landing_path
    if not landing.is_dir():
        # The cursor is left as it is: when the share is back, the files it had seen are not news.
        return dg.SkipReason(f"the landing folder {landing} does not exist: if it is on a share, the share "
                             "is not mounted; mount it (or set FOLLOWUP_LANDING_DIR to where the files land)")
    previous = context.cursor
    cursor = _read_cursor(previous)
    state, unreadable = landing_state(landing, cursor["files"])
    arrived = new_content(state, set(cursor["seen"]), cursor["latest"])
    digests = {name: sha for name, (*_, sha) in state.items() if sha}
    context.update_cursor(json.dumps({"files": state, "seen": sorted(set(cursor["seen"]) | set(digests.values())),
                                      "latest": cursor["latest"] | digests}, sort_keys=True))
    # What the sensor says is shown to everyone with the Dagster UI: a file named after a sole
    # trader ("Anna Andersson 850312-1231.csv") is named without the personal number.
    if unreadable:
        context.log.warning(redact_number_like(_cannot_read(unreadable)))
    if not arrived:
        arriving = sorted(name for name, (*_, sha) in state.items() if sha is None and name not in unreadable)
        reasons = [f"waiting for {', '.join(arriving)} to finish arriving"] if arriving else []
        reasons += [_cannot_read(unreadable)] if unreadable else []
        if not reasons:
            return dg.SkipReason("no new content in the landing folder")
        return dg.SkipReason(redact_number_like("; ".join(reasons)))
    context.log.info(redact_number_like(f"new content in {', '.join(arrived)}"))
    # Keyed on the cursor it was found from as well as the content: an earlier version sent again gets a
    # night of its own (content alone would give it the key of the night that first loaded it, and the
    # daemon would start nothing), and a tick the daemon evaluates again starts no second night.
    run_key = hashlib.sha256(json.dumps([previous, digests], sort_keys=True).encode()).hexdigest()
    return dg.RunRequest(run_key=run_key)


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(sensors=[landing_sensor, dead_nights_sensor])


@dg.sensor(minimum_interval_seconds=60, default_status=dg.DefaultSensorStatus.RUNNING)
def dead_nights_sensor(context: dg.SensorEvaluationContext, warehouse: WarehouseResource):
    """Mark failed the runs of `followup run` nights whose process died (killed, out of memory).

    Such a run stays STARTED, and the daemon, which launches one run at a time, would hold every
    scheduled or sensed night behind it until the run monitor's 6-hour limit. Only while no night
    holds the night locks, and only `followup run`'s runs: it took the locks before it created its
    run, so one unfinished with the locks free has died (orchestration/night_guard.py).
    """
    try:
        with night_locks(Path(context.instance.root_directory), warehouse.work_db_path.parent, wait=0):
            dead = release_runs_of_dead_nights(context.instance, only_cli_nights=True)
    except NightAlreadyRunning:
        return dg.SkipReason("a night is running")
    if dead:
        context.log.warning(f"marked failed the runs whose `followup run` process died: {', '.join(dead)}")
    return dg.SkipReason(f"marked failed {len(dead)} runs whose process died" if dead else "no dead night")
