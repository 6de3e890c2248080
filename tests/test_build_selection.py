"""Which dbt nodes a night builds: what reads a new delivery, and everything after a code
change or a build that did not complete."""

import json

import duckdb

from orchestration.dbt_selection import node_selectors, unaffected_nodes
from orchestration.defs.dbt_assets import dbt_build_args
from orchestration.defs.project import dbt_project
from warehouse.build_state import changed_sources, record_build, record_build_completed, source_digests

TOY_MANIFEST = {
    "sources": {
        "source.p.raw.a": {"schema": "raw", "identifier": "a"},
        "source.p.raw.b": {"schema": "raw", "identifier": "b"},
        "source.p.audit.loads": {"schema": "audit", "identifier": "loads"},
    },
    "child_map": {
        "source.p.raw.a": ["model.p.stg_a"],
        "source.p.raw.b": ["model.p.stg_b"],
        "source.p.audit.loads": ["model.p.quality"],
        "model.p.stg_a": ["model.p.joined", "test.p.unique_stg_a"],
        "model.p.stg_b": ["model.p.joined", "test.p.unique_stg_b"],
        "model.p.joined": ["unit_test.p.joined.case"],
        "seed.p.codes": ["model.p.stg_b"],
    },
    "nodes": {
        uid: {"fqn": ["p", uid.split(".")[-1]]}
        for uid in ("model.p.stg_a", "model.p.stg_b", "model.p.joined", "model.p.quality",
                    "test.p.unique_stg_a", "test.p.unique_stg_b", "seed.p.codes")
    },
    "unit_tests": {"unit_test.p.joined.case": {"fqn": ["p", "joined", "case"]}},
}


def test_a_delivery_of_one_source_leaves_what_does_not_read_it():
    assert unaffected_nodes(TOY_MANIFEST, ["a"]) == ["model.p.stg_b", "seed.p.codes", "test.p.unique_stg_b"]
    # The load log's readers are built on every night that builds at all.
    assert "model.p.quality" not in unaffected_nodes(TOY_MANIFEST, [])
    assert unaffected_nodes(TOY_MANIFEST, ["a", "b"]) == ["seed.p.codes"]


def test_nodes_left_alone_are_excluded_by_their_full_name():
    selectors = node_selectors(TOY_MANIFEST, ["model.p.stg_b", "unit_test.p.joined.case"])
    assert selectors == ["fqn:p.stg_b", "fqn:p.joined.case"]
    assert dbt_build_args(selectors) == ["build", "--fail-fast", "--exclude", "fqn:p.stg_b fqn:p.joined.case"]


def test_in_the_project_a_participant_list_leaves_the_firm_years_alone():
    manifest = json.loads(dbt_project.manifest_path.read_text())
    left = set(unaffected_nodes(manifest, ["participants"]))
    assert {"model.followup.fct_firm_year", "model.followup.int_bisnode__firm_years_deduplicated"} <= left
    assert not left & {"model.followup.fct_cohort_membership", "model.followup.rpt_cohort_effects",
                       "model.followup.rpt_data_quality_warnings"}
    # dbt's fqn: selector also takes every node whose full name begins with the one given: no
    # node's full name may begin with another's, but a unit test's with its model's.
    names = {uid: node["fqn"] for uid, node in [*manifest["nodes"].items(), *manifest["unit_tests"].items()]}
    for uid, fqn in names.items():
        for other, other_fqn in names.items():
            if other != uid and other_fqn[:len(fqn)] == fqn:
                assert other.startswith("unit_test.") and manifest["unit_tests"][other]["depends_on"]["nodes"] == [uid]


def _loads(con, *rows):
    con.execute("CREATE SCHEMA IF NOT EXISTS audit")
    con.execute("CREATE OR REPLACE TABLE audit.loads (load_id VARCHAR, source VARCHAR, path VARCHAR, sha256 VARCHAR, "
                "outcome VARCHAR, delivery_seq INTEGER, processed_at TIMESTAMPTZ)")
    for n, (source, sha) in enumerate(rows, start=1):
        con.execute("INSERT INTO audit.loads VALUES ('l', ?, ?, ?, 'loaded', ?, now())", [source, f"{sha}.csv", sha, n])


def test_changed_sources_against_the_last_completed_build(tmp_path):
    con = duckdb.connect(str(tmp_path / "work.duckdb"))
    _loads(con, ("bisnode", "b1"), ("participants", "p1"))
    sources = source_digests(con)
    assert changed_sources(con, "code1", sources) is None  # nothing built yet: everything

    record_build(con, "d1", "code1", sources)
    assert changed_sources(con, "code1", sources) is None  # started, not completed
    record_build_completed(con, "d1")
    assert changed_sources(con, "code1", sources) == []
    assert changed_sources(con, "code2", sources) is None  # new code: everything

    _loads(con, ("bisnode", "b1"), ("participants", "p1"), ("participants", "p2"))
    assert changed_sources(con, "code1", source_digests(con)) == ["participants"]
    _loads(con, ("bisnode", "b1"), ("participants", "p1"), ("participants", "p2"), ("markets", "m1"))
    assert changed_sources(con, "code1", source_digests(con)) == ["markets", "participants"]
