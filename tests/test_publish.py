"""Atomic publishing on real DuckDB files, with a reader connected."""

import duckdb

from warehouse.publish import publish


def _work(path, value):
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE SCHEMA IF NOT EXISTS marts; CREATE SCHEMA IF NOT EXISTS raw")
        con.execute("CREATE OR REPLACE TABLE marts.t AS SELECT ? AS v", [value])
        con.execute("CREATE OR REPLACE TABLE raw.secret AS SELECT '5566778899' AS org_nr")


def test_reader_keeps_its_snapshot_while_a_new_file_is_swapped_in(tmp_path):
    work, target = tmp_path / "work.duckdb", tmp_path / "followup.duckdb"
    _work(work, 1)
    publish(work, target)
    reader = duckdb.connect(str(target), read_only=True)
    _work(work, 2)
    publish(work, target)
    assert reader.execute("SELECT v FROM marts.t").fetchone() == (1,)
    reader.close()
    with duckdb.connect(str(target), read_only=True) as fresh:
        assert fresh.execute("SELECT v FROM marts.t").fetchone() == (2,)
        assert fresh.execute("SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'raw'").fetchone() == (0,)
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []
