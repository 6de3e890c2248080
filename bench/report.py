"""The benchmark's table (stdout and bench/RESULTS.md) and the description of the machine measured."""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
from dataclasses import dataclass, field
from datetime import datetime
from importlib import metadata
from pathlib import Path

from bench import REPO_DIR
from bench.floor import FloorRun
from bench.nightly import STAGE_ORDER, Night
from bench.scenarios import NewParticipantsNight, QuietNight

# What issue 6 requires at 1,200,000 firms; shown at every size so the trend is visible.
PEAK_MEMORY_LIMIT_GB = 8.0
MAX_FLOOR_RATIO = 3.0
QUIET_NIGHT_LIMIT_S = 30.0
RESULTS_PATH = Path(__file__).resolve().parent / "RESULTS.md"
RESULTS_HEADER = """\
# Benchmark results

Appended by `python -m bench` (`make bench`), newest last; see `bench/__init__.py` and issue 6.
Each section describes the machine and the tree measured (git commit; "dirty" when the
working tree had changes, which were measured too).

How to read a table: one column per region size (firms; firm-years = Bisnode rows loaded).
A cell is the median over the repetitions, with min–max in brackets when there were several.
Seconds are wall time. The nightly stages come from the Dagster instance of each run (step
start/end, and the ingest assets' `seconds_read_validate` / `seconds_raw_load` metadata);
"start-up and between steps" is the subprocess's wall time that no step covers (Python,
Dagster and definitions start-up). CEM/DiD of `rpt_cohort_effects` runs inside dbt build;
"effect estimation" is the staggered-ATT step, n/a when the job has none. Peak memory is the
sampled sum of RSS over the run's whole process tree (an upper bound: shared pages count per
process). The floor is the same landing files in bare DuckDB in one process (`bench/floor.py`)
with the warehouse's memory_limit and threads, plus the cohort summary written by hand; the
ratio is nightly total / floor total (medians, same invocation); the growth ratio compares what
each size adds over the smallest one, nightly against floor, which leaves out the night's fixed
start-up cost. The incremental nights run
once per size on the first repetition's warehouse.
"""


@dataclass
class SizeResult:
    n_firms: int
    nights: list[Night] = field(default_factory=list)
    floors: list[FloorRun] = field(default_factory=list)
    quiet: QuietNight | None = None
    new_participants: NewParticipantsNight | None = None
    floor_check: str = "not compared"
    failures: list[str] = field(default_factory=list)

    @property
    def good_nights(self) -> list[Night]:
        return [n for n in self.nights if n.ok]

    @property
    def good_floors(self) -> list[FloorRun]:
        return [f for f in self.floors if f.ok]


def spread(values: list[float | None]) -> tuple[float, float, float] | None:
    """(median, min, max) of the values present, or None when there are none."""
    present = [v for v in values if v is not None]
    if not present:
        return None
    return statistics.median(present), min(present), max(present)


def cell(values: list[float | None], fmt: str) -> str:
    summary = spread(values)
    if summary is None:
        return "n/a"
    middle, low, high = summary
    if len([v for v in values if v is not None]) == 1 or low == high:
        return format(middle, fmt)
    return f"{format(middle, fmt)} ({format(low, fmt)}–{format(high, fmt)})"


def ratio(numerators: list[float], denominators: list[float]) -> float | None:
    top, bottom = spread(numerators), spread(denominators)
    if top is None or bottom is None or bottom[0] == 0:
        return None
    return top[0] / bottom[0]


def gigabytes(n_bytes: float) -> float:
    return n_bytes / 1e9


def yes_no(flag: bool | None) -> str:
    return "n/a" if flag is None else ("yes" if flag else "no")


def night_wall(night: Night | None) -> str:
    """Wall time of an incremental night, or why there is none."""
    if night is None:
        return "not run"
    if not night.ok:
        return f"FAILED (exit {night.measured.exit_code})"
    return format(night.measured.seconds, ".1f")


def build_rows(results: list[SizeResult]) -> list[tuple[str, list[str]]]:
    """(label, one cell per size); a label with no cells is a section heading."""
    rows: list[tuple[str, list[str]]] = []

    def add(label: str, per_size) -> None:
        rows.append((label, [per_size(r) for r in results]))

    rows.append(("nightly run", []))
    add("runs ok / attempted", lambda r: f"{len(r.good_nights)} / {len(r.nights)}")
    add("firm-years (Bisnode rows loaded)", lambda r: cell([n.firm_years for n in r.good_nights], ",.0f"))
    for stage in STAGE_ORDER:
        add(f"  {stage}, s", lambda r, s=stage: cell([n.stages()[s] for n in r.good_nights], ".1f"))
    add("total, s", lambda r: cell([n.measured.seconds for n in r.good_nights], ".1f"))
    add("time per firm-year, µs", lambda r: cell([1e6 * n.measured.seconds / n.firm_years for n in r.good_nights
                                                   if n.firm_years], ".1f"))
    add("firm-years per second", lambda r: cell([n.firm_years / n.measured.seconds for n in r.good_nights], ",.0f"))
    add("peak RSS, process tree, GB", lambda r: cell([gigabytes(n.measured.peak_tree_rss_bytes) for n in r.good_nights], ".2f"))
    add("largest process peak (kernel), GB",
        lambda r: cell([gigabytes(n.measured.largest_process_rss_bytes) for n in r.good_nights], ".2f"))

    rows.append(("floor: bare DuckDB, one process", []))
    add("  load every file, s", lambda r: cell([f.result["seconds_load"] for f in r.good_floors], ".1f"))
    add("  cohort summary SQL, s", lambda r: cell([f.result["seconds_summary"] for f in r.good_floors], ".2f"))
    add("  total (process), s", lambda r: cell([f.measured.seconds for f in r.good_floors], ".1f"))
    add("  peak RSS, GB", lambda r: cell([gigabytes(f.measured.peak_tree_rss_bytes) for f in r.good_floors], ".2f"))
    add("  agrees with rpt_cohort_summary", lambda r: r.floor_check)
    add("nightly / floor (medians)", lambda r: format_ratio(nightly_floor_ratio(r)))
    smallest = results[0]
    add(f"  growth over {smallest.n_firms:,} firms: nightly / floor",
        lambda r: format_ratio(None if r is smallest else growth_floor_ratio(r, smallest)))

    rows.append(("night with no new deliveries", []))
    add("  wall, s", lambda r: night_wall(r.quiet and r.quiet.night))
    add("  republished followup.duckdb", lambda r: yes_no(r.quiet.republished) if r.quiet and r.quiet.night.ok else "n/a")
    rows.append(("night with one new 50-row participants file", []))
    participants = lambda r: r.new_participants if r.new_participants and r.new_participants.night.ok else None  # noqa: E731
    add("  wall, s", lambda r: night_wall(r.new_participants and r.new_participants.night))
    add("  participants rows read", lambda r: str(participants(r).participants_rows_read) if participants(r) else "n/a")
    add("  Bisnode files / rows re-read",
        lambda r: f"{participants(r).bisnode_files_read} / {participants(r).bisnode_rows_read:,}" if participants(r) else "n/a")
    add("  Bisnode validation results added",
        lambda r: "n/a" if not participants(r) or participants(r).bisnode_validation_rows_added is None
        else str(participants(r).bisnode_validation_rows_added))
    rows.append(("issue 6 targets (required at 1,200,000 firms)", []))
    for label, verdict in TARGETS:
        add(f"  {label}", lambda r, v=verdict: met(v(r)))
    return rows


def nightly_floor_ratio(result: SizeResult) -> float | None:
    return ratio([n.measured.seconds for n in result.good_nights], [f.measured.seconds for f in result.good_floors])


def growth_floor_ratio(result: SizeResult, smallest: SizeResult) -> float | None:
    """What the extra firm-years cost the nightly run against what they cost the floor.

    The smallest region's night is nearly all fixed cost (Python, Dagster, dbt and GX
    start-up, one dbt node after another), which the floor does not pay; this ratio leaves
    it out, so it shows how the work on the data itself compares with bare DuckDB.
    """
    nights = [spread([n.measured.seconds for n in r.good_nights]) for r in (result, smallest)]
    floors = [spread([f.measured.seconds for f in r.good_floors]) for r in (result, smallest)]
    if None in nights or None in floors or floors[0][0] <= floors[1][0]:
        return None
    return (nights[0][0] - nights[1][0]) / (floors[0][0] - floors[1][0])


def peak_memory_ok(result: SizeResult) -> bool | None:
    peak = spread([gigabytes(n.measured.peak_tree_rss_bytes) for n in result.good_nights])
    return None if peak is None else peak[2] < PEAK_MEMORY_LIMIT_GB


def floor_ratio_ok(result: SizeResult) -> bool | None:
    value = nightly_floor_ratio(result)
    return None if value is None else value <= MAX_FLOOR_RATIO


def quiet_night_ok(result: SizeResult) -> bool | None:
    if result.quiet is None or not result.quiet.night.ok:
        return None
    return result.quiet.night.measured.seconds < QUIET_NIGHT_LIMIT_S and not result.quiet.republished


def bisnode_untouched(result: SizeResult) -> bool | None:
    night = result.new_participants
    if night is None or not night.night.ok or night.bisnode_validation_rows_added is None:
        return None
    return night.bisnode_files_read == 0 and night.bisnode_rows_read == 0 and night.bisnode_validation_rows_added == 0


TARGETS = (
    (f"peak memory (max over runs) < {PEAK_MEMORY_LIMIT_GB:.0f} GB", peak_memory_ok),
    (f"nightly ≤ {MAX_FLOOR_RATIO:.0f}× floor", floor_ratio_ok),
    (f"no deliveries: < {QUIET_NIGHT_LIMIT_S:.0f} s, nothing republished", quiet_night_ok),
    ("new participants file: Bisnode not re-read, not re-validated", bisnode_untouched),
)


def met(flag: bool | None) -> str:
    return "n/a" if flag is None else ("met" if flag else "NOT met")


def format_ratio(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f}×"


def render_text(headers: list[str], rows: list[tuple[str, list[str]]]) -> str:
    width = max(len(label) for label, _ in rows)
    widths = [max(len(h), *(len(cells[i]) for _, cells in rows if cells)) for i, h in enumerate(headers)]
    lines = [" " * width + "  " + "  ".join(h.rjust(w) for h, w in zip(headers, widths))]
    for label, cells in rows:
        lines.append(label if not cells else label.ljust(width) + "  " + "  ".join(c.rjust(w) for c, w in zip(cells, widths)))
    return "\n".join(lines)


def render_markdown(headers: list[str], rows: list[tuple[str, list[str]]]) -> str:
    lines = ["| | " + " | ".join(headers) + " |", "|---|" + "---:|" * len(headers)]
    for label, cells in rows:
        if cells:
            lines.append(f"| {label.strip() if not label.startswith('  ') else '&nbsp;&nbsp;' + label.strip()} | "
                         + " | ".join(cells) + " |")
        else:
            lines.append(f"| **{label}** |" + " |" * len(headers))
    return "\n".join(lines)


def size_headers(results: list[SizeResult]) -> list[str]:
    return [f"{r.n_firms:,} firms" for r in results]


def git(*args: str) -> str:
    try:
        return subprocess.run(["git", *args], cwd=REPO_DIR, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def cpu_model(cpuinfo: str) -> str:
    for line in cpuinfo.splitlines():
        if line.lower().startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown"


def memory_total_gb(meminfo: str) -> float | None:
    for line in meminfo.splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) * 1024 / 1e9
    return None


def os_name() -> str:
    try:
        release = dict(line.split("=", 1) for line in Path("/etc/os-release").read_text().splitlines() if "=" in line)
        return f"{release.get('PRETTY_NAME', '').strip(chr(34))}, kernel {platform.release()}"
    except OSError:
        return platform.platform()


def version_of(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def machine_lines(duckdb_settings: str) -> list[str]:
    commit = git("rev-parse", "--short=12", "HEAD")
    changed = [line for line in git("status", "--porcelain").splitlines() if line.strip()]
    state = f"dirty ({len(changed)} paths changed or untracked)" if changed else "clean"
    ram = memory_total_gb(Path("/proc/meminfo").read_text())
    packages = ", ".join(f"{p} {version_of(p)}" for p in ("duckdb", "dagster", "dagster-dbt", "dbt-core", "dbt-duckdb"))
    return [
        f"- CPU: {cpu_model(Path('/proc/cpuinfo').read_text())}, {os.cpu_count()} cores visible",
        f"- RAM: {ram:.1f} GB" if ram else "- RAM: unknown",
        f"- OS: {os_name()}",
        f"- Python {platform.python_version()}; {packages}",
        f"- Tree: commit {commit}, {state}",
        f"- Warehouse DuckDB settings (and the floor's): {duckdb_settings}",
        f"- Load average at the start: {', '.join(f'{x:.2f}' for x in os.getloadavg())} (the machine is shared)",
    ]


def failure_lines(results: list[SizeResult]) -> list[str]:
    return [f"- {r.n_firms:,} firms: {failure}" for r in results for failure in r.failures]


def markdown_section(results: list[SizeResult], repeat: int, machine: list[str], started: datetime) -> str:
    table = render_markdown(size_headers(results), build_rows(results))
    parts = [f"## {started:%Y-%m-%d %H:%M} — sizes {', '.join(f'{r.n_firms:,}' for r in results)}, "
             f"{repeat} repetition{'s' if repeat != 1 else ''}", "", *machine, "", table, ""]
    failures = failure_lines(results)
    if failures:
        parts += ["**Failures** (not in the figures above):", "", *failures, ""]
    return "\n".join(parts) + "\n"


def append_results(section: str, path: Path = RESULTS_PATH) -> None:
    if not path.exists():
        path.write_text(RESULTS_HEADER, encoding="utf-8")
    with path.open("a", encoding="utf-8") as fh:
        fh.write("\n" + section)
