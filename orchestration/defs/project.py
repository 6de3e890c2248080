"""The dbt project, as Dagster sees it."""

import os
import shutil
import sys
from importlib.metadata import version
from pathlib import Path

from dagster_dbt import DbtProject

from warehouse.build_state import files_digest

DBT_PROJECT_DIR = Path(__file__).resolve().parents[2] / "dbt_project"
# The locked dbt, installed beside this interpreter: the nightly run and `followup docs` run it.
DBT_EXECUTABLE = Path(sys.executable).with_name("dbt")
# What dbt parses the manifest from (the project's own files; target/, logs/ and dbt_packages/ are its output).
PROJECT_GLOBS = ("dbt_project.yml", "packages.yml", "dependencies.yml", "models/**/*", "macros/**/*",
                 "seeds/**/*", "tests/**/*", "snapshots/**/*", "analyses/**/*")
# Beside the manifest: the digest of the project files it was parsed from.
PARSED_FROM_NAME = "followup_parsed_from.txt"

# A console script started without an activated virtual environment would not find dbt on
# PATH otherwise (the project's preparer runs `dbt parse` by name).
if shutil.which("dbt") is None:
    os.environ["PATH"] = f"{DBT_EXECUTABLE.parent}{os.pathsep}{os.environ.get('PATH', '')}"


def project_digest(project_dir: Path) -> str:
    """sha256 over the dbt and dagster-dbt versions and the path and content of every project file."""
    return files_digest(project_dir, PROJECT_GLOBS, f"dbt-core {version('dbt-core')}, dagster-dbt {version('dagster-dbt')}")


def prepare_manifest(project: DbtProject, always: bool = False) -> None:
    """Parse the project (``dbt parse``) unless its manifest was parsed from the files it holds now.

    The definitions are built from the manifest, and the nightly build fails on the first node it does
    not name: a manifest an earlier version of the code left in ``target/`` (a `git pull` in this
    checkout, then `followup run` without `make`) failed every night with a KeyError on a new test.
    """
    parsed_from = project.manifest_path.with_name(PARSED_FROM_NAME)
    current = project_digest(Path(project.project_dir))
    if not always and project.manifest_path.exists() and parsed_from.exists() and parsed_from.read_text() == current:
        return
    project.preparer.prepare(project)
    # Written whole, under another name first: another process loading the definitions may read it.
    partial = parsed_from.with_name(f".{PARSED_FROM_NAME}.{os.getpid()}")
    partial.write_text(current)
    os.replace(partial, parsed_from)


dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
# `dagster dev` parses on every load, as dagster-dbt does; otherwise only a changed project is parsed again.
prepare_manifest(dbt_project, always=dbt_project.preparer.using_dagster_dev())
