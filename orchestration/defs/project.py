"""The dbt project, as Dagster sees it."""

import os
import shutil
import sys
from pathlib import Path

from dagster_dbt import DbtProject

DBT_PROJECT_DIR = Path(__file__).resolve().parents[2] / "dbt_project"
# The locked dbt, installed beside this interpreter: the nightly run and `followup docs` run it.
DBT_EXECUTABLE = Path(sys.executable).with_name("dbt")

# A console script started without an activated virtual environment would not find dbt on
# PATH otherwise (the project's preparer runs `dbt parse` by name).
if shutil.which("dbt") is None:
    os.environ["PATH"] = f"{DBT_EXECUTABLE.parent}{os.pathsep}{os.environ.get('PATH', '')}"

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
dbt_project.prepare_if_dev()
if not dbt_project.manifest_path.exists():
    # A fresh clone has no manifest yet; `make` prepares it, this covers direct imports.
    dbt_project.preparer.prepare(dbt_project)
