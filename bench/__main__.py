"""python -m bench [--sizes 20000,200000,1200000] [--repeat 3] [--cache DIR] [--no-append]

For each size: generate (or reuse) the region, then per repetition run the floor and the
real nightly job on a fresh landing folder, warehouse and DAGSTER_HOME; after the first
repetition, a night with no new deliveries and a night with one new participants file.
Prints the table and appends it to bench/RESULTS.md. Exit code 1 if any run failed.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from datetime import datetime
from pathlib import Path

from bench.floor import compare_summaries, mart_cohort_summary, measure_floor
from bench.nightly import Night
from bench.regions import default_cache_dir, ensure_region, link_landing
from bench.report import (
    RESULTS_PATH,
    SizeResult,
    append_results,
    build_rows,
    failure_lines,
    machine_lines,
    markdown_section,
    render_text,
    size_headers,
)
from bench.scenarios import RunFolders, new_participants_night, quiet_night

DEFAULT_SIZES = (20_000, 200_000, 1_200_000)
DEFAULT_REPEAT = 3


def positive_int(text: str) -> int:
    value = int(text.replace("_", ""))
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text} is not a positive number")
    return value


def size_list(text: str) -> list[int]:
    try:
        return [positive_int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--sizes takes firm counts separated by commas, e.g. 20000,200000; got {text!r}")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=size_list, default=",".join(map(str, DEFAULT_SIZES)),
                        help="region sizes in firms, comma-separated (default: %(default)s)")
    parser.add_argument("--repeat", type=positive_int, default=DEFAULT_REPEAT,
                        help="full nightly runs per size; figures are medians (default: %(default)s)")
    parser.add_argument("--cache", type=Path, default=None,
                        help="regions and run folders (default: $FOLLOWUP_BENCH_CACHE, else "
                        "$XDG_CACHE_HOME or ~/.cache, /followup-bench)")
    parser.add_argument("--no-append", action="store_true", help=f"print only; do not append to {RESULTS_PATH.name}")
    args = parser.parse_args(argv)
    if not args.sizes:
        parser.error("--sizes names no size")
    args.cache = (args.cache or default_cache_dir()).resolve()
    return args


def warehouse_duckdb_settings() -> tuple[str, int]:
    """The memory_limit and threads the nightly run's WarehouseResource opens DuckDB with."""
    from orchestration.defs.resources import WarehouseResource

    fields = WarehouseResource.model_fields
    return fields["duckdb_memory_limit"].default, fields["duckdb_threads"].default


def warm_page_cache(landing: Path) -> None:
    """Read every file once, so the first repetition does not pay for a cold disk alone."""
    for path in landing.rglob("*"):
        if path.is_file():
            with path.open("rb") as fh:
                while fh.read(1 << 24):
                    pass


def say(message: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {message}", flush=True)


def report_failure(result: SizeResult, what: str, exit_code: int, stderr_tail: str, logs: Path) -> None:
    message = f"{what} FAILED with exit code {exit_code}; logs in {logs}"
    result.failures.append(message)
    print(f"\n!!! {message}\n{stderr_tail}\n", file=sys.stderr, flush=True)


def check_night(result: SizeResult, night: Night, what: str, logs: Path) -> bool:
    if not night.ok:
        report_failure(result, what, night.measured.exit_code, night.measured.stderr_tail(), logs)
    return night.ok


def run_size(n_firms: int, repeat: int, cache: Path, duckdb_settings: tuple[str, int]) -> SizeResult:
    result = SizeResult(n_firms)
    region = ensure_region(cache, n_firms)
    warm_page_cache(region)
    size_dir = cache / "runs" / str(n_firms)
    logs = size_dir / "logs"
    for rep in range(1, repeat + 1):
        run_dir = size_dir / f"rep{rep}"
        shutil.rmtree(run_dir, ignore_errors=True)
        say(f"{n_firms:,} firms, repetition {rep}/{repeat}: floor")
        floor = measure_floor(region, run_dir / "floor", *duckdb_settings, logs, f"rep{rep}-floor")
        result.floors.append(floor)
        if not floor.ok:
            report_failure(result, f"floor, repetition {rep}", floor.measured.exit_code, floor.measured.stderr_tail(), logs)
        folders = RunFolders.under(run_dir, logs)
        link_landing(region, folders.landing)
        say(f"{n_firms:,} firms, repetition {rep}/{repeat}: nightly run")
        night = folders.night(f"rep{rep}-nightly")
        result.nights.append(night)
        say(f"  exit {night.measured.exit_code}, {night.measured.seconds:.1f} s")
        if not check_night(result, night, f"nightly run, repetition {rep}", logs):
            continue  # keep the folder for a look
        if rep == 1:
            if floor.ok:
                result.floor_check = floor_agreement(folders.published, floor.result["summary"])
            run_incremental_nights(result, folders, logs)
        shutil.rmtree(run_dir, ignore_errors=True)
    return result


def floor_agreement(published: Path, floor_summary: list[dict]) -> str:
    try:
        differences = compare_summaries(mart_cohort_summary(published), floor_summary)
    except Exception as error:  # the mart is being changed by others; say so rather than stop
        return f"not compared: {error}"
    return "yes" if not differences else f"NO: {'; '.join(differences[:3])}"


def run_incremental_nights(result: SizeResult, folders: RunFolders, logs: Path) -> None:
    say("  night with no new deliveries")
    result.quiet = quiet_night(folders, "rep1-quiet")
    if check_night(result, result.quiet.night, "night with no new deliveries", logs):
        say(f"  {result.quiet.night.measured.seconds:.1f} s, republished: {result.quiet.republished}")
    say("  night with one new 50-row participants file")
    result.new_participants = new_participants_night(folders, "rep1-new-participants")
    if check_night(result, result.new_participants.night, "night with a new participants file", logs):
        say(f"  {result.new_participants.night.measured.seconds:.1f} s, "
            f"Bisnode rows re-read: {result.new_participants.bisnode_rows_read}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = datetime.now()
    memory_limit, threads = warehouse_duckdb_settings()
    machine = machine_lines(f"memory_limit={memory_limit}, threads={threads}")
    say(f"cache: {args.cache}")
    results = [run_size(n, args.repeat, args.cache, (memory_limit, threads)) for n in args.sizes]
    print()
    print("\n".join(machine))
    print()
    print(render_text(size_headers(results), build_rows(results)))
    failures = failure_lines(results)
    if failures:
        print("\nFAILURES (not in the figures above):\n" + "\n".join(failures), file=sys.stderr)
    if not args.no_append:
        append_results(markdown_section(results, args.repeat, machine, started))
        print(f"\nappended to {RESULTS_PATH}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
