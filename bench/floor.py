"""The floor: the same landing files in bare DuckDB, one process, then the cohort summary by hand.

``python -m bench.floor --landing L --db D --memory-limit M --threads T`` loads every landing
file with ``CREATE TABLE ... AS SELECT * FROM read_csv(...)``, runs the cohort-summary SQL
written directly (what marts.rpt_cohort_summary computes, without validation, history or
pseudonyms), and prints the seconds and the summary as JSON. The benchmark runs it as a
subprocess so that it is timed and its memory sampled exactly as the nightly run is.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb

from bench.process import Measured, run_measured
from bench import REPO_DIR
from ingest.contracts import SOURCES

# The sample writes Bisnode files ';'-separated with a decimal comma (domain.md §4); other
# files are left to DuckDB's sniffer.
READ_OPTIONS = {"bisnode": {"delim": ";", "decimal_separator": ","}}
CSV_SUFFIXES = (".csv", ".txt")


def read_csv_sql(path: Path, options: dict[str, str]) -> str:
    quoted = str(path).replace("'", "''")
    arguments = "".join(f", {key} = '{value}'" for key, value in sorted(options.items()))
    return f"read_csv('{quoted}'{arguments})"


def landing_tables(landing: Path) -> list[tuple[str, str, Path]]:
    """(source, table name, file) for every delivered file, in a stable order."""
    found = []
    for source in SOURCES:
        for index, path in enumerate(sorted((landing / source).glob("*")) if (landing / source).is_dir() else []):
            if path.is_file() and path.suffix.lower() in CSV_SUFFIXES + (".xlsx",):
                found.append((source, f"{source}_{index}", path))
    return found


def sheet_as_csv(path: Path, target: Path) -> Path:
    """The first worksheet written as CSV, for read_csv.

    DuckDB's excel extension is not bundled and cannot be fetched here; openpyxl in read-only
    mode is the lightest reader at hand (pandas or an Arrow scan would add seconds of import).
    """
    import csv

    import openpyxl

    workbook = openpyxl.load_workbook(path, read_only=True)
    with target.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(workbook.worksheets[0].iter_rows(values_only=True))
    workbook.close()
    return target


def load_file(con: duckdb.DuckDBPyConnection, source: str, table: str, path: Path, scratch: Path) -> None:
    if path.suffix.lower() == ".xlsx":
        csv_path = sheet_as_csv(path, scratch / f"{table}.csv")
        con.execute(f"CREATE TABLE {table} AS SELECT * FROM {read_csv_sql(csv_path, {'all_varchar': 'true'})}")
        return
    options = READ_OPTIONS.get(source, {})
    try:
        con.execute(f"CREATE TABLE {table} AS SELECT * FROM {read_csv_sql(path, options)}")
    except duckdb.InvalidInputException as error:
        if "unicode" not in str(error).lower():
            raise
        # Windows-1252 deliveries: Latin-1 holds the Swedish letters they use.
        con.execute(f"CREATE TABLE {table} AS SELECT * FROM {read_csv_sql(path, {**options, 'encoding': 'latin-1'})}")


def firm_key_sql(column: str) -> str:
    """The 10-digit organisation number from any form of the contract (dashes, '16' prefix, spaces)."""
    return f"lpad(right(regexp_replace(cast({column} as varchar), '[^0-9]', '', 'g'), 10), 10, '0')"


def union_sql(tables: list[str]) -> str:
    return " union all by name ".join(f"select * from {t}" for t in tables)


def cohort_summary_sql(participant_tables: list[str], bisnode_tables: list[str]) -> str:
    """Per program and cohort (and all cohorts): firms, sums, means, medians in the base and follow-up year."""
    return f"""
with participants as (
    select distinct {firm_key_sql('Organisationsnummer')} as firm, Program as program, cast(Kohort as integer) as cohort_year
    from ({union_sql(participant_tables)})
),
bisnode as ({union_sql(bisnode_tables)}),
-- The follow-up year is the latest fiscal year of the whole population, as in the mart.
followup as (select max(cast("Bokslutsår" as integer)) as followup_year from bisnode),
-- Only participants' firm-years enter the summary: filter once, join small.
firm_years as (
    select firm, fiscal_year, turnover, employees
    from (
        select {firm_key_sql('"Org.nr"')} as firm, cast("Bokslutsår" as integer) as fiscal_year,
               cast("Nettoomsättning (tkr)" as double) as turnover, cast("Antal anställda" as double) as employees
        from bisnode
    )
    where firm in (select firm from participants)
),
cohort_firms as (
    -- Equality joins only (a range condition in the join makes DuckDB loop over pairs);
    -- a follow-up year not after the base year has no follow-up figures.
    select p.program, p.cohort_year, base.turnover as base_turnover, base.employees as base_employees,
           case when followup.followup_year > p.cohort_year - 1 then latest.turnover end as followup_turnover,
           case when followup.followup_year > p.cohort_year - 1 then latest.employees end as followup_employees
    from participants as p
    cross join followup
    left join firm_years as base on base.firm = p.firm and base.fiscal_year = p.cohort_year - 1
    left join firm_years as latest on latest.firm = p.firm and latest.fiscal_year = followup.followup_year
)
select
    coalesce(program, 'Samtliga insatser') as program, cohort_year,
    count(*) as n_firms,
    round(sum(followup_turnover), 0) as turnover_sum_tkr,
    round(avg(followup_turnover), 0) as turnover_mean_tkr,
    round(median(followup_turnover), 0) as turnover_median_tkr,
    round(avg(base_turnover), 0) as base_turnover_mean_tkr,
    round(median(base_turnover), 0) as base_turnover_median_tkr,
    round(avg(followup_employees), 1) as employees_mean,
    round(median(followup_employees), 1) as employees_median,
    round(avg(base_employees), 1) as base_employees_mean,
    round(median(base_employees), 1) as base_employees_median,
    round(100.0 * (sum(followup_turnover) filter (where base_turnover is not null)
                   - sum(base_turnover) filter (where followup_turnover is not null))
          / nullif(sum(base_turnover) filter (where followup_turnover is not null), 0), 1) as turnover_change_pct
from cohort_firms
group by grouping sets ((program, cohort_year), ())
order by program is null, program, cohort_year
"""


def run_floor(landing: Path, db: Path, memory_limit: str, threads: int) -> dict:
    db.parent.mkdir(parents=True, exist_ok=True)
    db.unlink(missing_ok=True)
    con = duckdb.connect(str(db), config={"memory_limit": memory_limit, "threads": threads})
    tables = landing_tables(landing)
    start = time.perf_counter()
    for source, table, path in tables:
        load_file(con, source, table, path, db.parent)
    loaded = time.perf_counter()
    by_source = {s: [t for src, t, _ in tables if src == s] for s in ("participants", "bisnode")}
    summary = con.execute(cohort_summary_sql(by_source["participants"], by_source["bisnode"]))
    columns = [d[0] for d in summary.description]
    rows = [dict(zip(columns, row)) for row in summary.fetchall()]
    done = time.perf_counter()
    bisnode_rows = con.execute(f"select count(*) from ({union_sql(by_source['bisnode'])})").fetchone()[0]
    con.close()
    return {"seconds_load": loaded - start, "seconds_summary": done - loaded, "files": len(tables),
            "bisnode_rows": bisnode_rows, "summary": rows}


@dataclass(frozen=True)
class FloorRun:
    measured: Measured
    result: dict | None  # what run_floor returned; None when the process failed

    @property
    def ok(self) -> bool:
        return self.measured.exit_code == 0 and self.result is not None


def measure_floor(landing: Path, work_dir: Path, memory_limit: str, threads: int, log_dir: Path, name: str) -> FloorRun:
    """Run the floor in its own process, timed and sampled like the nightly run."""
    work_dir.mkdir(parents=True, exist_ok=True)
    db = work_dir / "floor.duckdb"
    command = [sys.executable, "-m", "bench.floor", "--landing", str(landing), "--db", str(db),
               "--memory-limit", memory_limit, "--threads", str(threads)]
    measured = run_measured(command, log_dir, name, cwd=REPO_DIR)
    result = None
    if measured.exit_code == 0:
        result = json.loads(measured.stdout_path.read_text().strip().splitlines()[-1])
    for leftover in work_dir.glob("floor.duckdb*"):
        leftover.unlink()
    return FloorRun(measured, result)


def compare_summaries(mart_rows: list[dict], floor_rows: list[dict], tolerance_tkr: float = 1.0) -> list[str]:
    """Where the floor's cohort figures differ from the mart's (firms exactly, turnover sum within rounding)."""
    def keyed(rows):
        return {(r["program"], r["cohort_year"]): r for r in rows}

    mart, floor = keyed(mart_rows), keyed(floor_rows)
    differences = [f"{key}: only in the mart" for key in mart.keys() - floor.keys()]
    differences += [f"{key}: only in the floor" for key in floor.keys() - mart.keys()]
    for key in mart.keys() & floor.keys():
        if mart[key]["n_firms"] != floor[key]["n_firms"]:
            differences.append(f"{key}: n_firms {mart[key]['n_firms']} in the mart, {floor[key]['n_firms']} in the floor")
        a, b = mart[key]["turnover_sum_tkr"], floor[key]["turnover_sum_tkr"]
        if (a is None) != (b is None) or (a is not None and abs(float(a) - float(b)) > tolerance_tkr):
            differences.append(f"{key}: turnover_sum_tkr {a} in the mart, {b} in the floor")
    return sorted(differences, key=str)


def mart_cohort_summary(published: Path) -> list[dict]:
    with duckdb.connect(str(published), read_only=True) as con:
        cursor = con.execute("SELECT program, cohort_year, n_firms, turnover_sum_tkr FROM marts.rpt_cohort_summary")
        columns = [d[0] for d in cursor.description]
        return [dict(zip(columns, row)) for row in cursor.fetchall()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.floor", description=__doc__)
    parser.add_argument("--landing", type=Path, required=True)
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--memory-limit", required=True)
    parser.add_argument("--threads", type=int, required=True)
    args = parser.parse_args(argv)
    print(json.dumps(run_floor(args.landing, args.db, args.memory_limit, args.threads), default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
