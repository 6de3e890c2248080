"""Generated regions, cached outside git, and the per-run landing folders made from them.

A region is written once per size by the real ``followup sample`` and reused while its
manifest still names the same size and seed. Each run gets its own landing folder of hard
links to the cached files: a night writes ``landing/archive/`` (and ``rejected/``), and a
shared folder would spare later repetitions the archive copy a real first night pays.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from bench import REPO_DIR
from ingest.contracts import SOURCES
from ingest.sample_region import DEFAULT_SEED

CACHE_ENV = "FOLLOWUP_BENCH_CACHE"
NEW_PARTICIPANTS_ROWS = 50
# The new delivery is a later Exportboost intake than any the sample plants (2015-2021).
NEW_COHORT_PROGRAM, NEW_COHORT_YEAR = "Exportboost", 2022


def default_cache_dir(environ: dict[str, str] = os.environ) -> Path:
    if environ.get(CACHE_ENV):
        return Path(environ[CACHE_ENV])
    base = Path(environ["XDG_CACHE_HOME"]) if environ.get("XDG_CACHE_HOME") else Path.home() / ".cache"
    return base / "followup-bench"


def region_is_current(landing: Path, n_firms: int, seed: int = DEFAULT_SEED) -> bool:
    try:
        manifest = json.loads((landing / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return manifest.get("n_firms") == n_firms and manifest.get("seed") == seed


def ensure_region(cache: Path, n_firms: int) -> Path:
    """The cached landing folder of ``n_firms`` firms, generated with the real CLI if missing or stale."""
    landing = cache / "regions" / str(n_firms) / "landing"
    if region_is_current(landing, n_firms):
        return landing
    partial = landing.with_name("landing.partial")
    shutil.rmtree(partial, ignore_errors=True)
    print(f"generating a region of {n_firms:,} firms in {landing} ...", flush=True)
    subprocess.run(
        [sys.executable, "-m", "orchestration.cli", "sample", "--firms", str(n_firms), "--seed", str(DEFAULT_SEED),
         "--out", str(partial)],
        cwd=REPO_DIR, check=True,
    )
    shutil.rmtree(landing, ignore_errors=True)
    partial.rename(landing)
    return landing


def link_landing(region: Path, target: Path) -> Path:
    """A fresh landing folder of hard links to the region's delivered files (same inodes and mtimes)."""
    shutil.rmtree(target, ignore_errors=True)
    for source in SOURCES:
        if not (region / source).is_dir():
            continue
        (target / source).mkdir(parents=True)
        for path in sorted((region / source).iterdir()):
            if path.is_file():
                try:
                    os.link(path, target / source / path.name)
                except OSError:  # another file system: copy, keeping the mtime (delivery order)
                    shutil.copy2(path, target / source / path.name)
    return target


def add_participants_delivery(landing: Path, rows: int = NEW_PARTICIPANTS_ROWS) -> Path:
    """A new participants file: ``rows`` firms of an existing Exportboost list, as a new intake year."""
    source = landing / "participants" / "exportboost.csv"
    with source.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        header, firms, seen = reader.fieldnames, [], set()
        for row in reader:
            digits = "".join(ch for ch in row["Organisationsnummer"] if ch.isdigit())[-10:]
            if digits not in seen:  # the natural key (firm, program, cohort) must stay unique
                seen.add(digits)
                firms.append(row)
    if len(firms) < rows:
        raise ValueError(f"{source} has {len(firms)} distinct firms; the new delivery needs {rows}")
    target = landing / "participants" / f"exportboost_{NEW_COHORT_YEAR}.csv"
    with target.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=header)
        writer.writeheader()
        for row in firms[:rows]:
            writer.writerow({**row, "Program": NEW_COHORT_PROGRAM, "Kohort": NEW_COHORT_YEAR,
                             "Startdatum": f"{NEW_COHORT_YEAR}-03-01", "Slutdatum": f"{NEW_COHORT_YEAR}-08-28"})
    return target
