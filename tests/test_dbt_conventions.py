"""The dbt project keeps the dbt-labs conventions the team follows: models named by layer, a
description for every model and for every column it really has, a unique and not-null key on
every model, materialization set per folder, and SQL that sqlfluff passes."""

import json
import re
import subprocess
import sys

import duckdb
import pytest
import yaml

from orchestration.defs.project import DBT_PROJECT_DIR

LAYER_NAMES = {
    "staging": r"stg_[a-z0-9_]+__[a-z0-9_]+",
    "intermediate": r"int_[a-z0-9_]+__[a-z0-9_]+",
    "marts": r"(fct|dim|rpt)_[a-z0-9_]+",
    "restricted": r"[a-z0-9_]+",
}


@pytest.fixture(scope="module")
def manifest(nightly_run) -> dict:
    """The manifest of the dbt build the nightly run made."""
    return json.loads((nightly_run["warehouse"] / "work" / "dbt-target" / "manifest.json").read_text())


def _models(manifest: dict) -> dict[str, dict]:
    return {node["name"]: node for node in manifest["nodes"].values()
            if node["resource_type"] == "model" and node["package_name"] == "followup"}


def _tests_on(manifest: dict, model: dict) -> list[tuple[str, dict]]:
    return [(node["test_metadata"]["name"], node["test_metadata"]["kwargs"]) for node in manifest["nodes"].values()
            if node["resource_type"] == "test" and "test_metadata" in node
            and node.get("attached_node") == model["unique_id"]]


def test_models_are_named_by_their_layer(manifest):
    for name, model in _models(manifest).items():
        layer = model["fqn"][1]
        assert re.fullmatch(LAYER_NAMES[layer], name), f"{name} in models/{layer}/ breaks the naming convention"


def test_every_model_and_every_column_it_has_is_described(nightly_run, manifest):
    with duckdb.connect(str(nightly_run["warehouse"] / "work" / "followup.duckdb"), read_only=True) as con:
        for name, model in _models(manifest).items():
            assert model["description"].strip(), f"{name} has no description"
            built = [c for (c,) in con.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = ? AND table_name = ? "
                "ORDER BY ordinal_position", [model["schema"], model["alias"]]).fetchall()]
            documented = {c: col["description"] for c, col in model["columns"].items()}
            assert set(documented) == set(built), f"{name}: documented {sorted(documented)}, built {built}"
            assert all(text.strip() for text in documented.values()), f"{name} has a column without a description"


def test_every_model_has_a_unique_key_that_is_never_null(manifest):
    missing = []
    for name, model in _models(manifest).items():
        tests = _tests_on(manifest, model)
        # primary_key (macros/test_primary_key.sql) is unique and not null in one test.
        if any(test == "primary_key" for test, _ in tests):
            continue
        unique = {kwargs["column_name"] for test, kwargs in tests if test == "unique"}
        not_null = {kwargs["column_name"] for test, kwargs in tests if test == "not_null"}
        if not unique & not_null:
            missing.append(f"{name} (unique: {sorted(unique)}; not null: {sorted(not_null)})")
    assert not missing, "models without a unique key tested not null: " + "; ".join(missing)


def test_materialization_is_set_per_folder_and_overridden_only_with_a_reason(manifest):
    folders = yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text())["models"]["followup"]
    folder_defaults = {folder: config["+materialized"] for folder, config in folders.items()}
    for name, model in _models(manifest).items():
        if model["config"]["materialized"] != folder_defaults[model["fqn"][1]]:
            sql = (DBT_PROJECT_DIR / model["original_file_path"]).read_text()
            config_at = sql.index("{{ config(")
            assert sql[:config_at].strip().startswith("--"), f"{name} overrides its folder without a comment why"


def test_sql_passes_sqlfluff():
    lint = subprocess.run([sys.executable, "-m", "sqlfluff", "lint", "--processes", "2", "models"],
                          cwd=DBT_PROJECT_DIR, capture_output=True, text=True)
    assert lint.returncode == 0, lint.stdout[-4000:]
