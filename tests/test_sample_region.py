"""The generated region: deterministic, realistic, and with participants selected as in life."""

import hashlib
import json
from pathlib import Path

import pandas as pd
import pytest

from ingest.sample_region import generate
from tests.independent import firm_years, memberships


def _digest(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix != ".xlsx"):
        digest.update(path.read_bytes())
    # An .xlsx zip carries a timestamp; its cell values are what must be deterministic.
    for path in sorted(folder.rglob("*.xlsx")):
        digest.update(pd.read_excel(path, dtype=str).to_csv().encode())
    return digest.hexdigest()


def test_same_seed_same_files_other_seed_other_files(tmp_path):
    generate(tmp_path / "a", 800, 3)
    generate(tmp_path / "b", 800, 3)
    generate(tmp_path / "c", 800, 4)
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")
    assert _digest(tmp_path / "a") != _digest(tmp_path / "c")


def test_region_is_realistic(small_region):
    years = firm_years(small_region)
    assert years["Kommunkod"].nunique() == 49
    assert set(years["Kommunkod"]) <= {str(c) for c in range(1401, 1500)}
    assert years["Kommunkod"].value_counts().index[0] == "1480"  # Göteborg dominates
    assert (years["employees"] <= 4).mean() > 0.6  # most firms are small
    assert years["Bolagsform"].eq("EF").any()  # sole traders
    assert (years["year"].min(), years["year"].max()) == (2010, 2023)
    raw_org = pd.concat([pd.read_csv(p, sep=";", dtype=str, encoding="utf-8-sig") for p in (small_region / "bisnode").glob("*.csv")])["Org.nr"]
    assert raw_org.str.contains("-").any() and raw_org.str.startswith("16").any()  # realistic mess
    assert (small_region / "participants" / "ga_globalt.xlsx").exists()


def test_participants_are_larger_younger_and_in_export_sectors(small_region):
    years = firm_years(small_region)
    in_2015 = years[years["year"] == 2015].set_index("org")
    members = set(memberships(small_region)["org"])
    is_member = in_2015.index.isin(members)
    participants, others = in_2015[is_member], in_2015[~is_member]
    assert participants["employees"].median() > others["employees"].median()
    registered = lambda frame: pd.to_datetime(frame["Registreringsdatum"]).median()
    assert registered(participants) > registered(others)  # younger
    sector = lambda frame: frame["SNI-kod"].str[:2].astype(int).between(10, 33) | frame["SNI-kod"].str[:2].isin(["45", "46", "47"])
    assert sector(participants).mean() > sector(others).mean()


def test_manifest_records_the_planted_truth(small_region):
    manifest = json.loads((small_region / "manifest.json").read_text(encoding="utf-8"))
    effects = {(c["program"], c["cohort_year"]): c["planted_turnover_effect"] for c in manifest["cohorts"]}
    assert 0.0 in effects.values() and len(set(effects.values())) > 3
    members = memberships(small_region).groupby(["program", "cohort_year"]).size()
    for cohort in manifest["cohorts"]:
        assert members[(cohort["program"], cohort["cohort_year"])] == cohort["n_participants"]
    assert (memberships(small_region).groupby("org").size() > 1).any()  # firms in several cohorts


@pytest.mark.parametrize("firms", ["0", "-5", "9", "many"])
def test_too_few_firms_is_a_usage_error(firms, tmp_path, capsys):
    from tests.conftest import run_cli

    with pytest.raises(SystemExit) as exit_:
        run_cli("sample", "--out", str(tmp_path / "s"), "--firms", firms)
    assert exit_.value.code == 2 and "--firms" in capsys.readouterr().err
    assert not (tmp_path / "s").exists()
