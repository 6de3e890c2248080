"""The bad-input catalog (tests/bad_inputs/): every malformed delivery gets its outcome.

All cases land in one small generated region and go through one `followup run`; each case
then checks its own files' outcome, messages (file, line, column), accounting and effects.
"""

import contextlib
import io
import json
import os
import re
import shutil
from pathlib import Path

import duckdb
import pytest

from ingest.sample_region import generate
from tests.conftest import run_cli

CATALOG = Path(__file__).parent / "bad_inputs"
CASES = sorted(p.name for p in CATALOG.iterdir() if (p / "expected.json").exists())
BASE_MTIME = 1_700_000_000


def landed_name(case: str, file_name: str) -> str:
    return f"{case}__{file_name}"


@pytest.fixture(scope="module")
def catalog_run(tmp_path_factory):
    landing = tmp_path_factory.mktemp("catalog") / "landing"
    generate(landing, 300, 11)
    for path in landing.rglob("*"):
        os.utime(path, (BASE_MTIME, BASE_MTIME))
    # Cases land after the region; within a case, files land in the order listed.
    for index, case in enumerate(CASES):
        expected = json.loads((CATALOG / case / "expected.json").read_text(encoding="utf-8"))
        for order, file_name in enumerate(expected["files"]):
            target = landing / expected["source"] / landed_name(case, file_name)
            shutil.copyfile(CATALOG / case / expected["source"] / file_name, target)
            stamp = BASE_MTIME + 1000 * (order + 1) + index
            os.utime(target, (stamp, stamp))
    warehouse = tmp_path_factory.mktemp("catalog_warehouse")
    os.environ.pop("DAGSTER_HOME", None)
    with contextlib.redirect_stdout(io.StringIO()) as summary:
        code = run_cli("run", "--landing", str(landing), "--warehouse", str(warehouse))
    work = duckdb.connect(str(warehouse / "work" / "followup.duckdb"), read_only=True)
    yield {"code": code, "landing": landing, "warehouse": warehouse, "con": work, "summary": summary.getvalue()}
    work.close()


def test_catalog_has_at_least_25_cases():
    assert len(CASES) >= 25


def test_run_completes_with_rejections(catalog_run):
    assert catalog_run["code"] == 3


def test_the_summary_names_each_rejected_file_once(catalog_run):
    rejected = [line for line in catalog_run["summary"].splitlines() if line.startswith("REJECTED ")]
    assert len(rejected) == catalog_run["con"].execute(
        "SELECT count(*) FROM audit.loads WHERE outcome = 'rejected'").fetchone()[0]
    assert [line for line in rejected if re.match(r"REJECTED (/.+?): \1\b", line)] == []


def _load(con, path: Path):
    return con.execute(
        "SELECT outcome, message, rows_read, rows_loaded, rows_quarantined FROM audit.loads WHERE path = ?",
        [str(path)],
    ).fetchone()


def _firm_key(con, org_nr: str) -> str:
    return con.execute("SELECT firm_key FROM restricted.firm_identity WHERE org_nr = ?", [org_nr]).fetchone()[0]


@pytest.mark.parametrize("case", CASES)
def test_case_outcome(case, catalog_run):
    con, landing = catalog_run["con"], catalog_run["landing"]
    expected = json.loads((CATALOG / case / "expected.json").read_text(encoding="utf-8"))
    paths = [landing / expected["source"] / landed_name(case, f) for f in expected["files"]]
    outcome, message, read, loaded, quarantined = _load(con, paths[0])
    assert outcome == expected["outcome"], message
    assert read == loaded + quarantined
    if "rows_read" in expected:
        assert read == expected["rows_read"], message
    for fragment in expected.get("message", []):
        assert fragment in message
    for fragment in expected.get("message_lacks", []):  # a personal number, say
        assert fragment not in message
    if outcome == "rejected":
        assert str(paths[0]) in message
        assert (landing / "rejected" / expected["source"] / paths[0].name).exists()
        assert (landing / "rejected" / expected["source"] / f"{paths[0].name}.reason.txt").read_text(encoding="utf-8").strip() == message
        assert con.execute("SELECT count(*) FROM raw.{} WHERE _source_file = ?".format(expected["source"]),
                           [str(paths[0])]).fetchone() == (0,)
    if "second_outcome" in expected:
        assert _load(con, paths[1])[0] == expected["second_outcome"]
    for line, column, rule, fragment in expected.get("quarantine", []):
        rows = con.execute(
            "SELECT message FROM audit.quarantine WHERE file = ? AND line = ? AND column_name = ? AND rule = ?",
            [str(paths[0]), line, column, rule],
        ).fetchall()
        assert len(rows) == 1, (line, column, rule)
        quarantine_message = rows[0][0]
        assert str(paths[0]) in quarantine_message and f"line {line}" in quarantine_message
        assert column in quarantine_message and fragment in quarantine_message
    if "warning" in expected:
        assert con.execute(
            "SELECT count(*) FROM marts.rpt_data_quality_warnings WHERE check_name = ? AND is_warning",
            [expected["warning"]],
        ).fetchone()[0] >= 1
    if "turnover" in expected:
        org_nr, year, value = expected["turnover"]
        assert con.execute(
            "SELECT net_turnover_tkr FROM marts.fct_firm_year WHERE firm_key = ? AND fiscal_year = ?",
            [_firm_key(con, org_nr), year],
        ).fetchone() == (value,)
    if "superseded" in expected:
        assert con.execute("SELECT count(*) FROM audit.superseded_rows WHERE file = ?", [str(paths[0])]).fetchone() == (
            expected["superseded"],
        )
    if "baseline" in expected:  # a revised count replaces the earlier one, it is not added to it
        *key, count = expected["baseline"]
        assert con.execute(
            "SELECT list(firm_count) FROM intermediate.int_scb__municipal_baselines_deduplicated "
            "WHERE municipality_code = ? AND baseline_year = ? AND dimension = ? AND category = ?", key,
        ).fetchone() == ([count],)
    if "no_outcome" in expected:  # an indicator the warehouse does not measure: no outcome, not 0
        assert con.execute(
            "SELECT outcome_total, share_of_target_met_pct FROM marts.rpt_tillvaxtverket_indicators "
            "WHERE program = ? AND year = ? AND indicator = ?", expected["no_outcome"],
        ).fetchall() == [(None, None)]
    if "sole_trader" in expected:
        assert con.execute(
            "SELECT is_sole_trader FROM restricted.firm_identity WHERE org_nr = ?", [expected["sole_trader"]]
        ).fetchone() == (True,)


def test_every_case_row_is_accounted_for(catalog_run):
    con = catalog_run["con"]
    assert con.execute(
        "SELECT count(*) FROM audit.loads WHERE rows_read <> rows_loaded + rows_quarantined"
    ).fetchone() == (0,)
    quarantined_rows = con.execute("SELECT count(DISTINCT (file, line)) FROM audit.quarantine").fetchone()[0]
    assert quarantined_rows == con.execute("SELECT sum(rows_quarantined) FROM audit.loads").fetchone()[0]


def test_published_file_quotes_no_delivered_number(catalog_run):
    """No organisation number, of a firm or in a case file, wherever it was delivered, is in any
    text of the published file."""
    import re

    from stdnum import luhn

    con = catalog_run["con"]
    numbers = {r[0] for r in con.execute("SELECT org_nr FROM restricted.firm_identity").fetchall()}
    for path in CATALOG.glob("*/*/*.csv"):
        numbers |= {n for n in re.findall(r"(?<![0-9])[0-9]{10}(?![0-9])", path.read_text(errors="replace"))
                    if luhn.is_valid(n)}
    assert len(numbers) > 100
    with duckdb.connect(str(catalog_run["warehouse"] / "followup.duckdb"), read_only=True) as published:
        published.execute("CREATE TEMP TABLE numbers AS SELECT unnest(?) AS n", [sorted(numbers)])
        text_columns = published.execute("SELECT schema_name, table_name, column_name FROM duckdb_columns() "
                                         "WHERE data_type = 'VARCHAR' AND database_name <> 'temp'").fetchall()
        leaked = [(schema, table, column) for schema, table, column in text_columns if published.execute(
            f'SELECT count(*) FROM "{schema}"."{table}" AS t, numbers WHERE contains(t."{column}", numbers.n)'
        ).fetchone()[0]]
    assert leaked == []
