"""The benchmark of issue 6: the real nightly run on generated regions, against DuckDB's own floor.

Run as ``python -m bench`` (or ``make bench``); see ``bench/RESULTS.md`` for what it measured.
Nothing here is run by the test suite: speed is measured here, never in timed tests.
"""

from pathlib import Path

REPO_DIR = Path(__file__).resolve().parents[1]
