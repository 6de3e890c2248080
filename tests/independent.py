"""Independent recomputation of the marts from the landing files, in plain pandas.

Shares nothing with the warehouse's SQL: pandas reads the files with their known dialects,
and organisation numbers go through the Python reference normaliser.
"""

import codecs
from pathlib import Path

import numpy as np
import pandas as pd

from ingest.orgnr import InvalidOrgNr, normalise


def _org(text: str) -> str | None:
    try:
        return normalise(text).digits
    except InvalidOrgNr:
        return None


def read_any(path: Path) -> pd.DataFrame:
    if path.suffix == ".xlsx":
        return pd.read_excel(path, dtype=str)
    raw = path.read_bytes()
    if raw.startswith(codecs.BOM_UTF8):
        encoding = "utf-8-sig"
    else:
        try:
            raw.decode("utf-8")
            encoding = "utf-8"
        except UnicodeDecodeError:
            encoding = "cp1252"
    first_line = raw.split(b"\n", 1)[0]
    sep = ";" if first_line.count(b";") > first_line.count(b",") else ","
    return pd.read_csv(path, sep=sep, dtype=str, encoding=encoding, keep_default_na=False)


def _participant_rows(landing: Path) -> pd.DataFrame:
    """Every delivered participant row, with its normalised number (``org``) and ``cohort_year``."""
    parts = pd.concat([read_any(p) for p in sorted((landing / "participants").iterdir())], ignore_index=True)
    parts["org"] = parts["Organisationsnummer"].map(_org)
    parts["cohort_year"] = parts["Kohort"].astype(int)
    return parts


def memberships(landing: Path) -> pd.DataFrame:
    parts = _participant_rows(landing)
    return parts.rename(columns={"Program": "program"})[["org", "program", "cohort_year"]].drop_duplicates()


def firm_years(landing: Path) -> pd.DataFrame:
    frames = [
        pd.read_csv(p, sep=";", decimal=",", encoding="utf-8-sig", dtype={"Org.nr": str, "Kommunkod": str, "SNI-kod": str})
        for p in sorted((landing / "bisnode").glob("*.csv"))
    ]
    bis = pd.concat(frames, ignore_index=True)
    bis["org"] = bis["Org.nr"].map(_org)
    bis = bis.drop_duplicates(["org", "Bokslutsår"], keep="last")
    return bis.rename(columns={"Bokslutsår": "year", "Nettoomsättning (tkr)": "turnover", "Antal anställda": "employees"})


def cohort_summary(landing: Path) -> pd.DataFrame:
    """Per cohort: n firms, follow-up-year sums, and change from the base year over firms in both."""
    members = memberships(landing)
    years = firm_years(landing)
    followup = int(years["year"].max())
    by_year = years.set_index(["org", "year"])[["turnover", "employees"]]
    rows = []
    for (program, cohort), group in members.groupby(["program", "cohort_year"]):
        base = by_year.reindex(pd.MultiIndex.from_arrays([group["org"], [cohort - 1] * len(group)]))
        late = by_year.reindex(pd.MultiIndex.from_arrays([group["org"], [followup] * len(group)]))
        both = base["turnover"].notna().to_numpy() & late["turnover"].notna().to_numpy()
        base_sum = base["turnover"].to_numpy()[both].sum()
        late_sum = late["turnover"].to_numpy()[both].sum()
        rows.append({
            "program": program, "cohort_year": cohort, "n_firms": len(group),
            "turnover_sum_tkr": late["turnover"].sum(), "employees_sum": late["employees"].sum(),
            "turnover_change_pct": 100 * (late_sum - base_sum) / base_sum, "n_firms_turnover_change": int(both.sum()),
        })
    return pd.DataFrame(rows)


def _first_cohorts(landing: Path) -> pd.DataFrame:
    members = memberships(landing)
    first = members.groupby("org", as_index=False)["cohort_year"].min()
    first["base_year"] = first["cohort_year"] - 1
    return first


def participant_kommun_counts(landing: Path) -> pd.Series:
    """All programs together: participants per municipality in the base year of their first
    cohort (one without a Bisnode row that year has none)."""
    first = _first_cohorts(landing)
    at_base = firm_years(landing).set_index(["org", "year"])["Kommunkod"]
    kommun = [at_base.get((org, base)) for org, base in zip(first["org"], first["base_year"])]
    return pd.Series(kommun).dropna().value_counts()


def _base_year_weights(landing: Path, years: pd.DataFrame) -> pd.Series:
    """The participants' base years (of their first cohort), as shares, over those of known size."""
    first = _first_cohorts(landing)
    employees = years.set_index(["org", "year"])["employees"]
    first["employees"] = [employees.get((o, y)) for o, y in zip(first["org"], first["base_year"])]
    return first.dropna(subset=["employees"])["base_year"].value_counts(normalize=True)


def county_size_class_shares(landing: Path) -> pd.Series:
    """SCB size-class shares, weighted over the participants' base years (known size only)."""
    weights = _base_year_weights(landing, firm_years(landing))
    baselines = pd.read_csv(landing / "baselines" / "scb_foretagsregister.csv", dtype={"kategori": str})
    # Firms of 0-249 employees: SCB's 500+ class is not part of the comparison.
    sizes = baselines[(baselines["dimension"] == "storleksklass") & (baselines["kategori"] != "500+")]
    sizes = sizes.groupby(["ar", "kategori"])["antal_foretag"].sum()
    shares = sizes / sizes.groupby(level=0).transform("sum")
    categories = sizes.index.get_level_values(1).unique()
    weighted = sum(weights[year] * shares.loc[year].reindex(categories, fill_value=0) for year in weights.index)
    return weighted


def bisnode_size_class_shares(landing: Path) -> pd.Series:
    """The same shares from the Bisnode firm-years (fewer than 250 employees), weighted alike."""
    years = firm_years(landing)
    years = years[years["org"].notna()]
    weights = _base_year_weights(landing, years)
    population = years[years["employees"].fillna(0) < 250].dropna(subset=["employees"])
    rounded = np.floor(population["employees"].astype(float) + 0.5)  # SQL's round: halves away from zero
    bounds = [(0, "0"), (4, "1-4"), (9, "5-9"), (19, "10-19"), (49, "20-49"), (99, "50-99"), (199, "100-199"),
              (499, "200-499")]
    size_class = rounded.map(lambda n: next(label for bound, label in bounds if n <= bound))
    counts = size_class.groupby(population["year"]).value_counts()
    shares = counts / counts.groupby(level=0).transform("sum")
    categories = [label for _, label in bounds]
    return sum(weights[year] * shares.loc[year].reindex(categories, fill_value=0) for year in weights.index)


def export_increase_counts(landing: Path) -> pd.DataFrame:
    """Per cohort and follow-up year: firms with export known in both years, and those that rose."""
    members = memberships(landing)
    years = firm_years(landing)
    export = years.set_index(["org", "year"])["Exportomsättning (tkr)"]
    rows = []
    for (program, cohort), group in members.groupby(["program", "cohort_year"]):
        for followup in sorted(y for y in years["year"].unique() if y >= cohort):
            base = export.reindex(pd.MultiIndex.from_arrays([group["org"], [cohort - 1] * len(group)])).to_numpy()
            late = export.reindex(pd.MultiIndex.from_arrays([group["org"], [followup] * len(group)])).to_numpy()
            known = ~pd.isna(base) & ~pd.isna(late)
            rows.append({"program": program, "cohort_year": cohort, "followup_year": int(followup),
                         "n_with_export_data": int(known.sum()), "n_increased_export": int((late[known] > base[known]).sum())})
    return pd.DataFrame(rows)


def supported_enterprises(landing: Path) -> pd.DataFrame:
    """Per year, program and EU size class: firms supported by leader gender, each once in each
    program and once in "Alla program" (all the year's programs together).

    The size is the firm's employees in the year, else the year before. (The sample states one
    gender per firm; which statement wins when they differ is a dbt unit test.)
    """
    parts = _participant_rows(landing).rename(columns={"cohort_year": "year", "Program": "program"})
    parts["gender"] = parts["ledning_kon"].fillna("").str.strip().str.lower()
    parts = pd.concat([parts, parts.assign(program="Alla program")])
    firms = parts.groupby(["year", "program", "org"])["gender"].agg(
        lambda g: next((x for x in g if x), "okänd")).reset_index()
    employees = firm_years(landing).set_index(["org", "year"])["employees"]

    def size_class(org: str, year: int) -> str:
        n = employees.get((org, year), np.nan)
        n = employees.get((org, year - 1), np.nan) if pd.isna(n) else n
        if pd.isna(n):
            return "okänd"
        return "mikro" if n < 10 else "små" if n < 50 else "medelstora" if n < 250 else "stora"

    firms["size_class"] = [size_class(o, y) for o, y in zip(firms["org"], firms["year"])]
    counts = pd.crosstab([firms["year"], firms["program"], firms["size_class"]], firms["gender"])
    return counts.reindex(columns=["kvinna", "man", "okänd"], fill_value=0).assign(total=counts.sum(axis=1))
