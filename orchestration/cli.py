"""The ``followup`` command line: run the nightly job, make a sample region, query the warehouse.

Exit codes:
  0  success
  1  the run failed (the message says whether anything was published), or another night is running;
     or the dbt run of `followup docs` failed
  2  bad invocation or missing input (landing folder, published warehouse, published files of two
     nights, an output folder that cannot be written)
  3  the run completed, but a delivered file was rejected whole (REJECTED), or could not be opened or
     lies where no source reads it (NOT READ); a file still being copied (STILL ARRIVING) is no reason
  4  the SQL query failed
"""

import argparse
import contextlib
import logging
import os
import re
import sys
import warnings
from pathlib import Path

from orchestration.night_guard import CLI_NIGHT_TAG, NightAlreadyRunning, night_locks, release_runs_of_dead_nights
from warehouse.publish import identifiers_file, published_file

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_REJECTIONS, EXIT_QUERY = 0, 1, 2, 3, 4
DEFAULT_LANDING = Path("data/sample/landing")
DEFAULT_WAREHOUSE = Path("warehouse")
# The step after which a failed night has published (orchestration/defs/publish_assets.py).
PUBLISH_STEP = "published_warehouse"

DAGSTER_YAML_HEADER = "# Written by `followup run`"
DAGSTER_YAML = f"""\
{DAGSTER_YAML_HEADER}: a local instance with SQLite storage in this folder.
# One night at a time: runs the schedule, the sensor or the UI launch wait in the queue.
# DuckDB-writing assets share the pool "duckdb": one writer at a time, across runs
# (`followup run` executes in-process, outside the queue, so the pool is what serialises it).
concurrency:
  runs:
    max_concurrent_runs: 1
  pools:
    default_limit: 1
# A run whose process died (out of memory, killed) keeps its pool slot, and every later night
# would wait for it. The daemon (`make dev`) frees the slots of runs that ended a minute ago
# (the code server marks a dead run worker's run failed), and ends a run still going after
# 6 hours (a national night takes minutes; one whose `dagster dev` died never ends by itself).
run_monitoring:
  enabled: true
  poll_interval_seconds: 60
  free_slots_after_run_end_seconds: 60
  max_runtime_seconds: 21600
telemetry:
  enabled: false
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="followup", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="one full nightly run through the Dagster job, in-process")
    run.add_argument("--landing", type=Path, default=DEFAULT_LANDING, help="landing folder (default: %(default)s)")
    run.add_argument("--warehouse", type=Path, default=DEFAULT_WAREHOUSE, help="warehouse folder (default: %(default)s)")
    run.add_argument("--rebuild", action="store_true",
                     help="build and publish even when nothing was delivered and no code changed since the last night")

    sample = commands.add_parser("sample", help="write a synthetic region in the landing format")
    sample.add_argument("--out", type=Path, required=True, help="landing folder to write")
    sample.add_argument("--firms", type=firm_count, default=None, help="number of firms (default 20000, at least 10)")
    sample.add_argument("--seed", type=seed_value, default=None, help="random seed (default 2020)")

    sql = commands.add_parser("sql", help="query the published warehouse, read-only")
    sql.add_argument("query", help="a SQL query, e.g. \"select * from marts.rpt_cohort_summary\"")
    sql.add_argument("--warehouse", type=Path, default=DEFAULT_WAREHOUSE, help="warehouse folder (default: %(default)s)")
    docs = commands.add_parser("docs", help="build the dbt docs site, catalog included, from the published warehouse")
    docs.add_argument("--warehouse", type=Path, default=DEFAULT_WAREHOUSE, help="warehouse folder (default: %(default)s)")

    report = commands.add_parser("report", help="write the cohort report (one offline HTML page, charts as PNG)")
    report.add_argument("--out", type=Path, default=None, help="folder (default: <warehouse>/report/<today>)")
    report.add_argument("--warehouse", type=Path, default=DEFAULT_WAREHOUSE, help="warehouse folder (default: %(default)s)")

    extract = commands.add_parser("extract", help="write an extract from the published warehouse")
    kinds = extract.add_subparsers(dest="kind", required=True)
    tva = kinds.add_parser("tillvaxtverket", help="indicator report, supported enterprises, participant list")
    tva.add_argument("--program", default=None, help="only this program (default: all)")
    tva.add_argument("--year", type=int, default=None, help="only this year (default: all)")
    tva.add_argument("--out", type=Path, default=None,
                     help="folder (default: <warehouse>/extracts/<today>, a selection in a subfolder such as "
                          "Exportboost_2019)")
    tva.add_argument("--warehouse", type=Path, default=DEFAULT_WAREHOUSE, help="warehouse folder (default: %(default)s)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler = {"run": run_command, "sample": sample_command, "sql": sql_command, "extract": extract_command,
               "docs": docs_command, "report": report_command}[args.command]
    try:
        return handler(args)
    except BrokenPipeError:
        # Whoever read the output stopped reading (`| head`): what was asked is done.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except OSError as error:  # a folder that cannot be written, a file where a folder should be
        print(f"error: {error.filename or ''}: {error.strerror or error}; give a folder that can be written to "
              "(see --out, --warehouse)", file=sys.stderr)
        return EXIT_USAGE


def seed_value(text: str) -> int:
    """``--seed``: a whole number from 0 (numpy's generators take no other)."""
    return _whole_number(text, 0, "the seed is a whole number from 0, not {n}")


def firm_count(text: str) -> int:
    """``--firms``: a whole number of at least MIN_FIRMS (argparse makes anything else exit 2)."""
    from ingest.sample_region import MIN_FIRMS

    return _whole_number(text, MIN_FIRMS, f"a sample region needs at least {MIN_FIRMS} firms, not {{n}}")


def _whole_number(text: str, least: int, too_small: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
    if n < least:
        raise argparse.ArgumentTypeError(too_small.format(n=n))
    return n


def sample_command(args: argparse.Namespace) -> int:
    from ingest.sample_region import DEFAULT_FIRMS, DEFAULT_SEED, MANIFEST_NAME, generate

    # A sample written over real deliveries would mix the two, and a night would take its files
    # for redeliveries: only an empty folder or an earlier sample region is written to.
    if args.out.is_dir() and any(args.out.iterdir()):
        if (args.out / "archive").exists() or not (args.out / MANIFEST_NAME).exists():
            what = ("a warehouse has read it (archive/), so a new sample would be taken for redeliveries"
                    if (args.out / "archive").exists() else "it holds files that are no sample region's")
            print(f"error: {args.out}: {what}; give an empty folder, or one an earlier `followup sample` wrote "
                  "that no night has read", file=sys.stderr)
            return EXIT_USAGE
    firms = DEFAULT_FIRMS if args.firms is None else args.firms
    manifest = generate(args.out, firms, DEFAULT_SEED if args.seed is None else args.seed)
    print(f"wrote a sample region of {manifest['n_firms']} firms (seed {manifest['seed']}) to {args.out}")
    return EXIT_OK


def sql_command(args: argparse.Namespace) -> int:
    import duckdb

    path = published_file(args.warehouse)
    if not published_files_exist(path):
        return EXIT_USAGE
    try:
        # Read-only, and no files outside it: a COPY ... TO could otherwise write anywhere,
        # the published file itself included.
        con = duckdb.connect(str(path), read_only=True, config={"enable_external_access": False})
    except duckdb.Error as exc:
        print(_cannot_open(path, exc), file=sys.stderr)
        return EXIT_USAGE
    with con:
        try:
            print_table(con.sql(args.query))
        except duckdb.Error as exc:
            print(f"error: the query failed: {exc}", file=sys.stderr)
            return EXIT_QUERY
    return EXIT_OK


def extract_command(args: argparse.Namespace) -> int:
    from orchestration.night import today
    from warehouse.extracts import published_program, selection_problem, write_tillvaxtverket_extract
    from warehouse.outputs import extract_dir, restricted_extract_dir
    from warehouse.publish import PublicationsDiffer

    if not published_files_exist(published_file(args.warehouse), identifiers_file(args.warehouse)):
        return EXIT_USAGE
    if args.program is not None:
        args.program = published_program(published_file(args.warehouse), args.program)
    problem = selection_problem(published_file(args.warehouse), args.program, args.year)
    if problem:
        print(f"error: {problem}. Nothing was written.", file=sys.stderr)
        return EXIT_USAGE
    date = today()
    extracts, restricted = extract_dir(args.warehouse, date), restricted_extract_dir(args.warehouse, date)
    if args.program is not None or args.year is not None:  # a selection never overwrites the night's full extract
        selection = "_".join("alla" if v is None else str(v) for v in (args.program, args.year)).replace(" ", "_")
        extracts, restricted = extracts / selection, restricted / selection
    try:
        files = write_tillvaxtverket_extract(
            published_file(args.warehouse), identifiers_file(args.warehouse), args.out or extracts,
            restricted, args.program, args.year,
        )
    except PublicationsDiffer as error:
        # A usage error, as a published warehouse that does not open is: the input is not
        # usable as it stands, nothing failed, and `followup run` makes it so.
        print(f"error: {error} Nothing was written.", file=sys.stderr)
        return EXIT_USAGE
    print(f"wrote {files.workbook} (and CSVs beside it)")
    print(f"participant list, with identifiers (restricted, mode 0600): {files.participant_list}")
    return EXIT_OK


def report_command(args: argparse.Namespace) -> int:
    from orchestration.night import today
    from warehouse.cohort_report import write_cohort_report

    if not published_files_exist(published_file(args.warehouse)):
        return EXIT_USAGE
    date = today()
    reports = args.warehouse / "report"
    files = write_cohort_report(published_file(args.warehouse), args.out or reports / date, date,
                                bundle_cache=reports / ".cache")
    print(f"wrote {files.page} (opens offline) and {len(files.charts)} charts as PNG beside it")
    return EXIT_OK


def docs_command(args: argparse.Namespace) -> int:
    import subprocess

    from orchestration.defs.project import DBT_EXECUTABLE, DBT_PROJECT_DIR
    from orchestration.defs.resources import WAREHOUSE_ENV

    warehouse = args.warehouse.resolve()
    if not published_files_exist(published_file(warehouse)):
        return EXIT_USAGE
    target = warehouse / "docs"
    completed = subprocess.run(
        [str(DBT_EXECUTABLE), "docs", "generate", "--profiles-dir", ".", "--target", "published",
         "--target-path", str(target), "--quiet"],
        cwd=DBT_PROJECT_DIR, env={**os.environ, WAREHOUSE_ENV: str(warehouse)},
    )
    if completed.returncode != 0:
        print("error: dbt docs generate failed; see its output above.", file=sys.stderr)
        return EXIT_FAILED
    print(f"dbt docs: {target / 'index.html'} (serve the folder, e.g. `python -m http.server -d {target}`)")
    return EXIT_OK


def published_files_exist(*paths: Path) -> bool:
    """True when a nightly run has published these files and they open; else say what is wrong on stderr."""
    import duckdb

    problems = []
    for path in paths:
        if path.parent.is_file():
            problems.append(f"error: {path.parent} is a file; --warehouse takes the warehouse folder, the one that "
                            "holds it")
        elif not path.exists():
            problems.append(f"error: {path} does not exist; run `followup run` first.")
        else:
            try:
                duckdb.connect(str(path), read_only=True).close()
            except duckdb.Error as exc:
                problems.append(_cannot_open(path, exc))
    for problem in problems:
        print(problem, file=sys.stderr)
    return not problems


def _cannot_open(path: Path, error: Exception) -> str:
    return (f"error: {path} cannot be opened as a DuckDB database ({error}); run `followup run --rebuild` to "
            "publish it again")


# Rows `followup sql` prints; a query for more says so, and narrowing it is the analyst's.
MAX_ROWS_SHOWN = 500


def print_table(relation) -> None:
    """The result as a table: every value as DuckDB holds it (no rounding), NULL as NULL, and at
    most MAX_ROWS_SHOWN rows (only those are fetched, so a huge result cannot fill the memory)."""
    if relation is None:  # a statement without a result
        return
    import pandas as pd

    rows = relation.fetchmany(MAX_ROWS_SHOWN + 1)
    shown = [["NULL" if value is None else value for value in row] for row in rows[:MAX_ROWS_SHOWN]]
    if not shown:
        print("  ".join(relation.columns) + "\n(no rows)")
        return
    frame = pd.DataFrame(shown, columns=relation.columns, dtype=object)
    # Text reads from the left, as a message or a name is read: pandas aligns every value right.
    text = {column: _left_aligned(frame[column]) for column in frame.columns
            if all(isinstance(value, str) for value in frame[column])}
    # repr: a double in full (0.3333333333333333, 1e-10), not pandas' six decimals (0.333333, 0.0).
    with pd.option_context("display.max_rows", None, "display.max_columns", 50, "display.width", 250,
                           "display.float_format", repr):
        print(frame.to_string(index=False, formatters=text, justify="left"))
    if len(rows) > MAX_ROWS_SHOWN:
        print(f"(only the first {MAX_ROWS_SHOWN} rows are shown; narrow the query, e.g. with WHERE or LIMIT)")


def _left_aligned(column):
    """A formatter that pads each text value of ``column`` on the right to the column's width."""
    width = max(len(str(value)) for value in column)
    return lambda value: str(value).ljust(width)


def prepare_environment(landing: Path, warehouse: Path) -> None:
    """Point Dagster, the resources and dbt at the same folders before definitions load."""
    from orchestration.defs.resources import LANDING_ENV, WAREHOUSE_ENV

    os.environ[LANDING_ENV] = str(landing.resolve())
    os.environ[WAREHOUSE_ENV] = str(warehouse.resolve())
    home = Path(os.environ.get("DAGSTER_HOME") or warehouse.resolve() / ".dagster")
    ours = not home.exists() or home.resolve() == warehouse.resolve() / ".dagster"
    home.mkdir(parents=True, exist_ok=True)
    if ours:  # a Dagster home named in the environment that existed before is its owner's to set
        _owner_only(home)
    os.environ["DAGSTER_HOME"] = str(home)
    write_dagster_yaml(home)


def _owner_only(folder: Path) -> None:
    """Run records and logs name the delivered files, and a file's name may hold a personal
    identity number ("Anna Andersson 850312-1231.csv"): they are the owner's alone."""
    os.chmod(folder, 0o700)


def write_dagster_yaml(home: Path) -> None:
    """Write the instance's settings, or bring ones we wrote earlier up to date; a
    dagster.yaml written by someone else is theirs and left as it is."""
    config = home / "dagster.yaml"
    if not config.exists() or (config.read_text().startswith(DAGSTER_YAML_HEADER) and config.read_text() != DAGSTER_YAML):
        config.write_text(DAGSTER_YAML)


def landing_problem(landing: Path) -> str | None:
    """Why ``landing`` is no landing folder, or None: it must be a folder holding a source's folder."""
    from ingest.contracts import SOURCES

    folders = ", ".join(f"{name}/" for name in SOURCES)
    if landing.is_file():
        return f"{landing} is a file; --landing takes the landing folder, the one with {folders}"
    if not landing.is_dir():
        return (f"the landing folder {landing} does not exist. Point --landing at the folder with {folders} or "
                f"create a sample region with `followup sample --out {landing}`.")
    if landing.name in SOURCES:
        return (f"{landing} is the folder of the source {landing.name}; --landing takes the folder that holds it "
                f"(and the other sources' folders: {folders})")
    if not any((landing / name).is_dir() for name in SOURCES):
        return (f"the landing folder {landing} holds none of the sources' folders ({folders}); point --landing at "
                "the folder that holds them, or create them and deliver the files into them")
    return None


def run_command(args: argparse.Namespace) -> int:
    from orchestration.dbt_process import DbtBuildStillRunning
    from orchestration.defs.resources import COUNTIES_ENV, covered_counties

    try:
        covered_counties()
    except ValueError as error:
        print(f"error: {COUNTIES_ENV}={error}", file=sys.stderr)
        return EXIT_USAGE
    problem = landing_problem(args.landing)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return EXIT_USAGE
    prepare_environment(args.landing, args.warehouse)
    try:
        result = execute_nightly(rebuild=args.rebuild)
    except (NightAlreadyRunning, DbtBuildStillRunning) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_FAILED
    if not result.success:
        print(failure_paragraph(result), file=sys.stderr)
        return EXIT_FAILED
    from ingest.contracts import SOURCES
    from ingest.landing import OUTCOME_OUTSIDE_SOURCES, outside_source_folders
    from ingest.typing import redact_number_like
    from orchestration.run_summary import print_summary

    reports = result.asset_materializations_for_node("cohort_report")
    report_page = Path(reports[0].metadata["page"].path) if reports else None
    not_read = [(entry["file"], entry["outcome"], entry["reason"]) for source in SOURCES
                for m in result.asset_materializations_for_node(f"raw_{source}")
                for entry in m.metadata["files_not_read"].data]
    not_read += [(redact_number_like(str(path)), OUTCOME_OUTSIDE_SOURCES, reason)
                 for path, reason in outside_source_folders(args.landing)]
    attention = print_summary(result.run_id, args.warehouse, report_page, not_read)
    return EXIT_REJECTIONS if attention else EXIT_OK


def execute_nightly(rebuild: bool = False):
    """Execute the scheduled nightly job in-process, on the instance under DAGSTER_HOME."""
    warnings.filterwarnings("ignore")
    import dagster as dg

    from orchestration.dbt_process import end_orphaned_dbt_build
    from orchestration.defs.resources import WAREHOUSE_ENV

    # Step output (dbt's log lines among it) goes to a log file; the terminal gets the summary.
    log_dir = Path(os.environ[WAREHOUSE_ENV]) / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    _owner_only(log_dir)
    # Taken before the run is created (orchestration/night_guard.py), so that this night's run is
    # never unfinished without them.
    work_dir = Path(os.environ[WAREHOUSE_ENV]) / "work"
    with dg.DagsterInstance.get() as instance, night_locks(Path(instance.root_directory), work_dir):
        # A killed night's dbt build outlives it (the locks do not), and would write the working
        # database and dbt's target folder beside this night: it ends before anything else runs.
        orphan = end_orphaned_dbt_build(work_dir)
        if orphan is not None:
            print(f"ended the dbt build a killed earlier night left running (pid {orphan})")
        with (log_dir / "last_run.log").open("w") as log, contextlib.redirect_stdout(log), \
                _execution_plan_warnings_to(log), _standard_error_to(log):
            return _execute_night(instance, rebuild)


def _execute_night(instance, rebuild: bool):
    """The nightly job, in this process; the caller holds the night locks."""
    from orchestration.definitions import defs
    from orchestration.defs.dbt_assets import REBUILD_TAG

    release_runs_of_dead_nights(instance)
    return defs.resolve_job_def("nightly").execute_in_process(
        instance=instance,
        raise_on_error=False,
        tags={CLI_NIGHT_TAG: "yes", **({REBUILD_TAG: "always"} if rebuild else {})},
        run_config={"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}},
    )


# Warns, for each dbt test of a model a partial night leaves alone, that the test "emitted no
# result" (48 lines on a night with one new participant list): true, expected (the table the
# test passed on stands), and no news for the terminal.
EXECUTION_PLAN_LOGGER = "dagster._core.execution.plan.active"


@contextlib.contextmanager
def _execution_plan_warnings_to(log):
    """Dagster's execution-plan warnings go to the night's log file, not to the terminal."""
    logger = logging.getLogger(EXECUTION_PLAN_LOGGER)
    handler = logging.StreamHandler(log)
    logger.addHandler(handler)
    logger.propagate = False
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.propagate = True


@contextlib.contextmanager
def _standard_error_to(log):
    """The processes the night starts write their standard error to the night's log file.

    Dagster's helpers that mirror a step's output (watch_orphans) share the terminal's process
    group, so Ctrl-C reaches them too, and each would print a KeyboardInterrupt traceback over the
    message that says the night was stopped. Redirected at the file descriptor, which they inherit.
    """
    sys.stderr.flush()
    terminal = os.dup(2)
    os.dup2(log.fileno(), 2)
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(terminal, 2)
        os.close(terminal)


def failure_paragraph(result) -> str:
    failures = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    if not failures:
        # Its resources did not start: another night holds the night locks, say.
        starts = [e.event_specific_data.error for e in result.all_events
                  if e.event_type_value == "RESOURCE_INIT_FAILURE" and e.event_specific_data.error]
        why = f": {_innermost_message(starts[0])}" if starts else "; see `make dev` for its log."
        return f"The nightly run {result.run_id} failed before any step ran{why}"
    event = failures[0]
    error = event.step_failure_data.error
    cause = error.cause.message.strip() if error and error.cause else ""
    message = (error.message.strip() if error else "unknown error") + (f" Caused by: {cause}" if cause else "")
    # A blocking check that failed says why in its description.
    message += "".join(f" {check.description}" for check in result.get_asset_check_evaluations()
                       if not check.passed and check.severity.value == "ERROR" and check.description)
    message = re.sub(r"\x1b\[[0-9;]*m", "", message)
    published = any(e.event_type_value == "STEP_SUCCESS" and e.step_key == PUBLISH_STEP for e in result.all_events)
    if published:
        outcome = ("The warehouse was published before the failure; what this step writes was not, and the next "
                   "night writes it (even with nothing new delivered).")
    elif any(e.cls_name == "OnlyIdentifiersPublished" for e in _error_chain(error)):
        outcome = "The analyst file was left unchanged; the next night publishes both files again."
    else:
        outcome = "The published warehouse was left unchanged."
    if error is not None and error.cls_name == "DagsterExecutionInterruptedError":
        # Ctrl-C, or a scheduler ending the job: nothing is wrong with any file or model.
        return (f"The nightly run was stopped during step '{event.step_key}' (Ctrl-C, or a scheduler ending the job). "
                f"{outcome} Nothing needs correcting: run it again.")
    advice = ("Give the account that runs the night access to the path named above" if "Permission denied" in message
              else "Correct the file or model named above")
    return (
        f"The nightly run failed at step '{event.step_key}': {message} {outcome} {advice} and run again; the full "
        f"log is run {result.run_id} in the Dagster UI (`make dev DAGSTER_HOME={os.environ.get('DAGSTER_HOME', '')}`)."
    )


def _error_chain(error) -> list:
    """``error`` and the errors it was raised from, outermost first: Dagster wraps what a step or a
    resource raised."""
    chain = []
    while error is not None:
        chain.append(error)
        error = error.cause
    return chain


def _innermost_message(error) -> str:
    """The message of the error at the root of ``error``; ours say what to do in words, without
    their class's name."""
    root = _error_chain(error)[-1]
    message = root.message.strip()
    return message.split(": ", 1)[-1] if root.cls_name in ("NightAlreadyRunning", "DbtBuildStillRunning") else message


if __name__ == "__main__":
    sys.exit(main())
