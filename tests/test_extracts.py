"""The nightly Tillväxtverket extract ties out with the landing files, read back from the .xlsx."""

import shutil
import stat
import unicodedata

import duckdb
import pandas as pd
import pytest
from openpyxl import load_workbook

from orchestration.night import today
from tests.conftest import run_cli
from tests.independent import export_increase_counts, memberships, read_any, supported_enterprises

PARTICIPATING = "Antal deltagande företag"
INCREASED_EXPORT = "Antal företag som ökar sin exportomsättning"


@pytest.fixture(scope="module")
def extract(nightly_run):
    folder = nightly_run["warehouse"] / "extracts" / nightly_run["night"]
    sheet = load_workbook(folder / "tillvaxtverket_indikatorer.xlsx")["Indikatorer"]
    rows = list(sheet.iter_rows(values_only=True))
    frame = pd.DataFrame(rows[1:], columns=rows[0])
    return {"sheet": sheet, "frame": frame.set_index(["Program", "År", "Indikator"]), "folder": folder}


def test_participating_firms_by_gender(nightly_run, extract):
    landing = nightly_run["landing"]
    parts = pd.concat([read_any(p) for p in sorted((landing / "participants").iterdir()) if p.is_file()])
    parts["Kohort"] = parts["Kohort"].astype(int)
    frame = extract["frame"]
    for (program, year), group in parts.groupby(["Program", "Kohort"]):
        row = frame.loc[(program, year, PARTICIPATING)]
        assert row["Utfall totalt"] == len(group)
        assert row["Utfall kvinnor"] == (group["ledning_kon"] == "kvinna").sum()
        assert row["Utfall män"] == (group["ledning_kon"] == "man").sum()


def test_supported_enterprises_by_size_class_and_gender(nightly_run, extract):
    sheet = pd.read_excel(extract["folder"] / "tillvaxtverket_indikatorer.xlsx", sheet_name="Stödda företag")
    shown = sheet.set_index(["År", "Program", "Storleksklass (EU)"])[["Kvinnor", "Män", "Okänt", "Totalt"]]
    expected = supported_enterprises(nightly_run["landing"])
    assert len(expected) > 10 and (expected["okänd"] > 0).any()
    by_program = expected.drop(index="Alla program", level="program").groupby(level=["year", "size_class"]).sum()
    assert (by_program["total"] > expected.xs("Alla program", level="program")["total"]).any()  # a firm in two
    assert sorted(shown.index) == sorted(expected.index)
    for key, row in expected.iterrows():
        assert tuple(shown.loc[key]) == (row["kvinna"], row["man"], row["okänd"], row["total"]), key


def test_firms_increasing_export_one_year_after_intake(nightly_run, extract):
    counts = export_increase_counts(nightly_run["landing"])
    one_year_on = counts[counts["followup_year"] == counts["cohort_year"] + 1]
    frame = extract["frame"]
    assert len(one_year_on) > 5
    for _, row in one_year_on.iterrows():
        assert frame.loc[(row["program"], row["cohort_year"], INCREASED_EXPORT)]["Utfall totalt"] == row["n_increased_export"]


def test_targets_and_share_of_target(nightly_run, extract):
    targets = pd.read_csv(nightly_run["landing"] / "targets" / "targets.csv", sep=";")
    frame = extract["frame"]
    for _, target in targets.iterrows():
        row = frame.loc[(target["program"], target["ar"], target["indikator"])]
        assert (row["Mål kvinnor"], row["Mål män"], row["Mål totalt"]) == (target["mal_kvinnor"], target["mal_man"], target["mal_totalt"])
        assert row["Andel av mål (%)"] == pytest.approx(100 * row["Utfall totalt"] / target["mal_totalt"], abs=0.05)


def test_share_column_is_coloured_by_how_much_of_the_target_was_met(extract):
    rules = sorted((rule for ranges in extract["sheet"].conditional_formatting for rule in ranges.rules),
                   key=lambda rule: rule.priority)
    colours = {rule.operator: rule.dxf.fill.fgColor.rgb[-6:] for rule in rules if rule.type == "cellIs"}
    assert colours == {"lessThan": "F8CBAD", "between": "FFE699", "greaterThanOrEqual": "C6EFCE"}
    # An empty share (no outcome measured) is left uncoloured, before the rules that would paint it.
    assert rules[0].type == "containsBlanks" and rules[0].stopIfTrue and rules[0].dxf is None


def test_identifiers_only_in_the_restricted_participant_list(nightly_run, extract):
    restricted = nightly_run["warehouse"] / "restricted" / "extracts" / nightly_run["night"]
    participant_list = restricted / "deltagarforteckning.xlsx"
    assert stat.S_IMODE(participant_list.stat().st_mode) == 0o600
    listed = pd.read_excel(participant_list, dtype=str)
    expected = memberships(nightly_run["landing"])
    assert set(listed["Organisationsnummer"]) == set(expected["org"])
    aggregate_text = "".join(p.read_text(encoding="utf-8-sig") for p in extract["folder"].glob("*.csv"))
    assert not any(org in aggregate_text for org in expected["org"])


@pytest.fixture
def warehouse_copy(nightly_run, tmp_path):
    target = tmp_path / "warehouse"
    shutil.copytree(nightly_run["warehouse"], target, ignore=shutil.ignore_patterns("work", "dagster_home"))
    return target


def test_a_selected_extract_leaves_the_nights_full_extract_alone(nightly_run, warehouse_copy):
    full = warehouse_copy / "extracts" / nightly_run["night"] / "indikatorer.csv"
    night_full = full.read_bytes()
    assert run_cli("extract", "tillvaxtverket", "--program", "Exportboost", "--year", "2019",
                   "--warehouse", str(warehouse_copy)) == 0
    (selected,) = (warehouse_copy / "extracts").glob("*/Exportboost_2019/indikatorer.csv")
    rows = pd.read_csv(selected, sep=";", encoding="utf-8-sig")
    assert len(rows) > 0 and set(zip(rows["Program"], rows["År"])) == {("Exportboost", 2019)}
    supported = pd.read_csv(selected.with_name("stodda_foretag.csv"), sep=";", encoding="utf-8-sig")
    expected = supported_enterprises(nightly_run["landing"]).xs((2019, "Exportboost"), level=["year", "program"])
    assert dict(zip(supported["Storleksklass (EU)"], supported["Totalt"])) == expected["total"].to_dict()
    assert full.read_bytes() == night_full


@pytest.mark.parametrize("selection, named", [(["--program", "Exportbost"], "Exportboost"),
                                              (["--year", "1999"], "the years are"),
                                              (["--year", "0"], "the years are"),  # not "every year"
                                              (["--program", ""], "the programs are")])
def test_a_selection_of_nothing_is_a_usage_error(warehouse_copy, capsys, selection, named):
    assert run_cli("extract", "tillvaxtverket", *selection, "--warehouse", str(warehouse_copy)) == 2
    message = capsys.readouterr().err
    assert "Nothing was written" in message and named in message
    assert not list((warehouse_copy / "extracts").glob("*/*_*/indikatorer.csv"))


def test_an_extract_to_a_file_where_its_folder_should_be_is_a_usage_error(warehouse_copy, tmp_path, capsys):
    a_file = tmp_path / "extract"
    a_file.write_text("kept")
    assert run_cli("extract", "tillvaxtverket", "--out", str(a_file), "--warehouse", str(warehouse_copy)) == 2
    err = capsys.readouterr().err
    assert str(a_file) in err and "Traceback" not in err
    assert a_file.read_text() == "kept"


def test_a_program_typed_in_other_case_spacing_or_unicode_form_selects_it(warehouse_copy):
    typed = unicodedata.normalize("NFD", "gå  GLOBALT")
    assert run_cli("extract", "tillvaxtverket", "--program", typed, "--year", "2018",
                   "--warehouse", str(warehouse_copy)) == 0
    (selected,) = (warehouse_copy / "extracts").glob("*/Gå_globalt_2018/indikatorer.csv")
    rows = pd.read_csv(selected, sep=";", encoding="utf-8-sig")
    assert len(rows) > 0 and set(rows["Program"]) == {"Gå globalt"}


def test_text_excel_cannot_hold_is_written_as_a_space_in_sheet_and_csv(warehouse_copy):
    """A company name or an indicator pasted from Word carries a vertical tab, which no .xlsx cell can hold."""
    with duckdb.connect(str(warehouse_copy / "restricted" / "identifiers.duckdb")) as con:
        (org,) = con.execute("SELECT min(org_nr) FROM restricted.participant_list").fetchone()
        con.execute("UPDATE restricted.participant_list SET company_name = 'Testbolaget\x0bVäst AB' WHERE org_nr = ?", [org])
    with duckdb.connect(str(warehouse_copy / "followup.duckdb")) as con:
        con.execute(f"UPDATE marts.rpt_tillvaxtverket_indicators SET indicator = indicator || '\x0b(exklusive avhopp)' "
                    f"WHERE indicator = '{PARTICIPATING}'")

    assert run_cli("extract", "tillvaxtverket", "--warehouse", str(warehouse_copy)) == 0
    restricted = warehouse_copy / "restricted" / "extracts" / today()
    rows = list(load_workbook(restricted / "deltagarforteckning.xlsx")["Deltagarförteckning"].iter_rows(values_only=True))
    listed = pd.DataFrame(rows[1:], columns=rows[0])
    firm = listed[listed["Organisationsnummer"] == org]
    assert len(firm) > 0 and set(firm["Företagsnamn"]) == {"Testbolaget Väst AB"}
    assert firm[["Program", "Kohort"]].notna().all().all()
    as_csv = pd.read_csv(restricted / "deltagarforteckning.csv", sep=";", encoding="utf-8-sig", dtype=str)
    assert set(as_csv.loc[as_csv["Organisationsnummer"] == org, "Företagsnamn"]) == {"Testbolaget Väst AB"}

    folder = warehouse_copy / "extracts" / today()
    shown = {row[2] for row in load_workbook(folder / "tillvaxtverket_indikatorer.xlsx")["Indikatorer"].iter_rows(
        min_row=2, values_only=True)}
    assert f"{PARTICIPATING} (exklusive avhopp)" in shown and PARTICIPATING not in shown
    assert set(pd.read_csv(folder / "indikatorer.csv", sep=";", encoding="utf-8-sig")["Indikator"]) == shown


@pytest.mark.parametrize("swapped", ["identifiers", "analyst"])
def test_published_files_of_two_nights_are_refused_and_nothing_is_written(nightly_run, warehouse_copy, tmp_path,
                                                                           capsys, swapped):
    """A night killed between the two renames leaves one published file of each night: the
    participant list would not be the one the indicators count, so the extract refuses."""
    from warehouse.publish import identifiers_file, publish_warehouse, published_file

    other_night = tmp_path / "other_night"
    publish_warehouse(nightly_run["warehouse"] / "work" / "followup.duckdb", other_night)
    pick = identifiers_file if swapped == "identifiers" else published_file
    shutil.copyfile(pick(other_night), pick(warehouse_copy))
    written = {p: p.stat().st_mtime_ns for folder in ("extracts", "restricted/extracts")
               for p in (warehouse_copy / folder).rglob("*")}
    capsys.readouterr()

    assert run_cli("extract", "tillvaxtverket", "--warehouse", str(warehouse_copy)) == 2
    message = capsys.readouterr().err
    assert "the published files are from different nights" in message and "run `followup run`" in message
    assert str(published_file(warehouse_copy)) in message and str(identifiers_file(warehouse_copy)) in message
    assert "Nothing was written" in message and "Traceback" not in message
    assert {p: p.stat().st_mtime_ns for folder in ("extracts", "restricted/extracts")
            for p in (warehouse_copy / folder).rglob("*")} == written

    # Both files of one publication, the other night's, extract as any night's do.
    other = published_file if swapped == "identifiers" else identifiers_file
    shutil.copyfile(other(other_night), other(warehouse_copy))
    assert run_cli("extract", "tillvaxtverket", "--warehouse", str(warehouse_copy)) == 0
    participant_list = warehouse_copy / "restricted" / "extracts" / today() / "deltagarforteckning.xlsx"
    assert participant_list.stat().st_mtime_ns > written.get(participant_list, 0)
    listed = pd.read_excel(participant_list, dtype=str)
    assert set(listed["Organisationsnummer"]) == set(memberships(nightly_run["landing"])["org"])
