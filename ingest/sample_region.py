"""A synthetic region in the landing format, with known (planted) program effects.

Deterministic for a seed. Firms are drawn with a realistic skew (most have 0-4 employees,
Göteborg dominates); participants are selected on size, youth and sector, so that a naive
before/after comparison is biased, as in real life. Each cohort gets its own effect on
turnover after intake, and one cohort gets none; ``manifest.json`` beside the files records
that truth for the tests. Firms are generated in chunks so that a whole country fits in
memory; nothing loops over firm-years in Python.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

SEEDS_DIR = Path(__file__).resolve().parents[1] / "dbt_project" / "seeds"
FIRST_YEAR, LAST_YEAR = 2010, 2023
YEARS = np.arange(FIRST_YEAR, LAST_YEAR + 1)
CHUNK_FIRMS = 100_000
DEFAULT_FIRMS = 20_000
# Fewer firms than this leave the planted cohorts too few firms to draw from.
MIN_FIRMS = 10
DEFAULT_SEED = 2020
# The planted effects, beside the source folders.
MANIFEST_NAME = "manifest.json"

# Real SNI 2007 codes with a weight in the population and whether the sector is one that
# export programs recruit from (manufacturing and trade).
SNI_CODES = {
    "01110": 3, "02100": 3, "10710": 2, "16100": 1, "22290": 1, "25110": 1, "25620": 2,
    "28290": 1, "29320": 1, "32500": 1, "41200": 6, "43210": 4, "43320": 4, "45200": 3,
    "46690": 2, "46900": 3, "47190": 5, "47910": 3, "49410": 4, "56100": 5, "58290": 1,
    "62010": 4, "62020": 4, "68201": 6, "69201": 4, "70220": 7, "71121": 4, "74100": 3,
    "81210": 3, "85600": 2, "86230": 2, "86901": 1, "93130": 2, "96021": 4,
}
COUNTRIES = ["NO", "DK", "DE", "FI", "GB", "US", "NL", "PL", "FR", "CN", "EE", "IT", "ES", "JP", "IN"]
COUNTRY_WEIGHTS = np.array([18, 15, 14, 12, 9, 7, 6, 4, 4, 3, 2, 2, 2, 1, 1], dtype=float)

# (program, intake year) -> planted relative effect on turnover at full ramp-up.
PLANTED_EFFECTS: dict[tuple[str, int], float] = {
    **{("Exportboost", y): 0.05 for y in range(2015, 2022)},
    ("Gå globalt", 2014): 0.30,
    ("Gå globalt", 2016): 0.20,
    ("Gå globalt", 2018): 0.0,  # the null cohort
    ("Exportprogrammet", 2019): 0.15,
    ("Exportprogrammet", 2020): 0.10,
    ("Exportprogrammet", 2021): 0.10,
    **{("Internationella Handelsdagen", y): 0.03 for y in range(2016, 2021)},
}
# Participants per cohort at the default size; larger regions scale proportionally.
COHORT_SIZES = {"Exportboost": 20, "Gå globalt": 24, "Exportprogrammet": 20, "Internationella Handelsdagen": 40}
RAMP_YEARS = 3
EMPLOYMENT_SHARE_OF_EFFECT = 0.5

INDICATORS = [
    "Antal deltagande företag",
    "Antal företag som går in på en exportmarknad",
    "Antal företag som växer på befintlig marknad",
    "Antal företag som ökar sin exportomsättning",
]

BISNODE_HEADER = [
    "Org.nr", "Företagsnamn", "Bokslutsår", "Nettoomsättning (tkr)", "Exportomsättning (tkr)",
    "Antal anställda", "Kommunkod", "SNI-kod", "Registreringsdatum", "Bolagsform",
]
SIZE_CLASSES = [(0, 0, "0"), (1, 4, "1-4"), (5, 9, "5-9"), (10, 19, "10-19"), (20, 49, "20-49"),
                (50, 99, "50-99"), (100, 199, "100-199"), (200, 499, "200-499"), (500, 10**9, "500+")]
AGE_BANDS = [(0, 4, "0-4"), (5, 9, "5-9"), (10, 14, "10-14"), (15, 19, "15-19"), (20, 29, "20-29"),
             (30, 39, "30-39"), (40, 50, "40-50"), (51, 10**4, ">50")]


@dataclass(frozen=True)
class Cohort:
    program: str
    year: int
    effect: float


def cohorts() -> list[Cohort]:
    return [Cohort(p, y, e) for (p, y), e in PLANTED_EFFECTS.items()]


def ramp(event_time: np.ndarray) -> np.ndarray:
    """Share of the full effect reached at event time e (0 before intake)."""
    return np.clip((event_time + 1) / RAMP_YEARS, 0, 1) * (event_time >= 0)


def luhn_digits(payload: np.ndarray) -> np.ndarray:
    """Vectorised Luhn check digit for 9-digit payloads (int64 array)."""
    digits = np.stack([(payload // 10 ** (8 - i)) % 10 for i in range(9)], axis=1)
    doubled = digits.copy()
    doubled[:, 0::2] *= 2  # positions 1,3,5,7,9 from the left carry weight 2
    doubled = np.where(doubled > 9, doubled - 9, doubled)
    return (10 - doubled.sum(axis=1) % 10) % 10


def _sections() -> list[tuple[str, int, int]]:
    with (SEEDS_DIR / "sni2007_sections.csv").open(encoding="utf-8") as fh:
        return [(r["sni_section"], int(r["division_from"]), int(r["division_to"])) for r in csv.DictReader(fh)]


def sni_section(code: str) -> str:
    division = int(code[:2])
    return next(s for s, lo, hi in _sections() if lo <= division <= hi)


def _municipalities() -> pd.DataFrame:
    """Västra Götaland's municipalities, with the population that spreads the firms over them."""
    return pd.read_csv(Path(__file__).with_name("sample_municipal_population.csv"), dtype={"municipality_code": str})


class Region:
    """Firm-level attributes for the whole region (cheap: one value per firm)."""

    def __init__(self, n_firms: int, seed: int):
        self.n = n_firms
        rng = np.random.default_rng(seed)
        self.rng = rng
        idx = np.arange(n_firms)
        munis = _municipalities()
        weights = munis["population_2020"].to_numpy(float)
        weights[munis["municipality_code"].to_numpy() == "1480"] *= 1.6  # firms cluster in Göteborg
        self.municipality = munis["municipality_code"].to_numpy()[rng.choice(len(munis), n_firms, p=weights / weights.sum())]
        codes = np.array(list(SNI_CODES))
        sni_w = np.array(list(SNI_CODES.values()), dtype=float)
        self.sni = codes[rng.choice(len(codes), n_firms, p=sni_w / sni_w.sum())]
        self.export_sector = np.isin(np.array([c[:2] for c in self.sni]).astype(int), np.r_[10:34, 45:48])
        self.is_sole_trader = rng.random(n_firms) < 0.12
        legal = rng.choice(np.array(["AB", "HB", "KB", "EK"]), n_firms, p=[0.90, 0.06, 0.03, 0.01])
        self.legal_form = np.where(self.is_sole_trader, "EF", legal)
        self.org_nr = self._org_numbers(idx)
        age_2010 = np.minimum(rng.exponential(11.0, n_firms), 60)
        reg_year = np.floor(2010 - age_2010 + rng.uniform(-3, 13, n_firms)).astype(int)
        self.registration_year = np.clip(reg_year, 1950, LAST_YEAR)
        day = rng.integers(0, 365, n_firms)
        self.registration_date = (
            pd.to_datetime(self.registration_year.astype(str) + "-01-01") + pd.to_timedelta(day, unit="D")
        ).strftime("%Y-%m-%d").to_numpy()
        self.exit_year = np.where(rng.random(n_firms) < 0.35, rng.integers(2011, LAST_YEAR + 1, n_firms), 9999)
        log_emp = rng.normal(0.2, 1.35, n_firms) + 0.6 * self.export_sector
        self.employees_0 = np.clip(np.floor(np.exp(log_emp)) - 1, 0, 3000)
        self.productivity = np.exp(rng.normal(np.log(1400), 0.45, n_firms))
        age = np.maximum(2010 - self.registration_year, 0)
        self.growth = 0.01 + 0.08 * np.exp(-age / 6) + rng.normal(0, 0.02, n_firms)
        self.names = np.char.add("Företag ", idx.astype(str))
        self.gender = rng.choice(np.array(["kvinna", "man", ""]), n_firms, p=[0.3, 0.6, 0.1])
        self.exporter = rng.random(n_firms) < 1 / (1 + np.exp(-(-2.2 + 1.6 * self.export_sector + 0.5 * np.log1p(self.employees_0))))
        self.export_share = rng.uniform(0.05, 0.6, n_firms)
        self.country_rank = rng.random((n_firms, len(COUNTRIES))) ** (1 / COUNTRY_WEIGHTS)
        self.base_markets = 1 + rng.poisson(0.4 + 0.3 * np.log1p(self.employees_0))
        self.participation = self._select_participants(age)

    def _org_numbers(self, idx: np.ndarray) -> np.ndarray:
        kind_digit = np.select([self.legal_form == "HB", self.legal_form == "KB", self.legal_form == "EK"], [9, 9, 7], 5)
        payload = kind_digit.astype(np.int64) * 10**8 + 56 * 10**6 + idx  # digits 3-4 >= 20: a legal entity
        # Sole traders: the owner's personal number YYMMDD-NNN + check digit, unique per firm.
        birth = pd.to_datetime("1940-01-01") + pd.to_timedelta(idx % 20000, unit="D")
        yymmdd = birth.strftime("%y%m%d").astype(int).to_numpy().astype(np.int64)
        personal = yymmdd * 1000 + (idx // 20000) % 1000
        payload = np.where(self.is_sole_trader, personal, payload)
        return payload * 10 + luhn_digits(payload)

    def _select_participants(self, age: np.ndarray) -> list[tuple[Cohort, np.ndarray]]:
        """Participants are larger, younger and more often in manufacturing and trade."""
        score = 0.9 * np.log1p(self.employees_0) - 0.06 * age + 1.2 * self.export_sector + 0.8 * self.exporter
        selected = {}
        scale = self.n / DEFAULT_FIRMS
        taken = np.zeros(self.n, dtype=bool)
        # The null cohort draws last, from firms in no other cohort, so that no other
        # cohort's effect leaks into its truth of zero.
        for cohort in sorted(cohorts(), key=lambda c: c.effect == 0):
            alive = (self.registration_year <= cohort.year) & (self.exit_year > cohort.year)
            if cohort.effect == 0:
                alive &= ~taken
            size = max(5, round(COHORT_SIZES[cohort.program] * scale))
            gumbel = -np.log(-np.log(self.rng.random(self.n)))
            keyed = np.where(alive, score + gumbel, -np.inf)
            members = np.argpartition(-keyed, size)[:size]
            taken[members] = True
            selected[cohort] = members
        return [(cohort, selected[cohort]) for cohort in cohorts()]

    def effect_multiplier(self, firms: np.ndarray, year: np.ndarray, share: float = 1.0) -> np.ndarray:
        """Planted multiplicative effect for firm-years (firms x years grid)."""
        mult = np.ones((len(firms), len(year)))
        for cohort, members in self.participation:
            in_cohort = np.isin(firms, members)
            if not in_cohort.any() or cohort.effect == 0:
                continue
            lift = 1 + share * cohort.effect * ramp(year - cohort.year)
            mult[in_cohort] *= lift[None, :]
        return mult


def _org_text(org: np.ndarray) -> np.ndarray:
    return np.char.zfill(org.astype(str), 10)


def _org_display(org: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Realistic mess: dashes, the 12-digit '16' form, stray spaces (``org`` as integers)."""
    style = rng.random(len(org))
    plain = _org_text(org)
    dashed = np.char.add(np.char.add(np.char.zfill((org // 10000).astype(str), 6), "-"),
                         np.char.zfill((org % 10000).astype(str), 4))
    out = np.where(style < 0.35, dashed, plain)
    out = np.where((style >= 0.35) & (style < 0.42), np.char.add("16", dashed), out)
    return np.where((style >= 0.42) & (style < 0.45), np.char.add(" ", np.char.add(plain, " ")), out)


def _decimal_comma(values: np.ndarray, decimals: int) -> np.ndarray:
    text = np.char.mod(f"%.{decimals}f", values)
    return np.char.replace(text, ".", ",")


def generate(out: Path, n_firms: int = DEFAULT_FIRMS, seed: int = DEFAULT_SEED) -> dict:
    """Write the landing folders under ``out`` and return the manifest."""
    region = Region(n_firms, seed)
    for sub in ("participants", "bisnode", "baselines", "markets", "targets"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    baseline_counts = _write_panel(out, region, seed)
    _write_baselines(out, baseline_counts, seed)
    _write_participants(out, region, seed)
    _write_targets(out, region)
    manifest = {
        "seed": seed,
        "n_firms": n_firms,
        "fiscal_years": [FIRST_YEAR, LAST_YEAR],
        "effect_model": (
            "turnover = counterfactual x product over the firm's cohorts of (1 + effect x ramp(e)), "
            f"ramp(e) = min((e+1)/{RAMP_YEARS}, 1) for e = year - intake year >= 0, else 0; "
            f"employees get {EMPLOYMENT_SHARE_OF_EFFECT} of the effect"
        ),
        "selection": "participants are larger, younger and more often in manufacturing and trade; "
        "younger firms grow faster, so a naive before/after change overstates the effect",
        "cohorts": [
            {"program": c.program, "cohort_year": c.year, "planted_turnover_effect": c.effect,
             "planted_employment_effect": c.effect * EMPLOYMENT_SHARE_OF_EFFECT, "n_participants": int(len(m))}
            for c, m in region.participation
        ],
    }
    (out / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2, ensure_ascii=False), encoding="utf-8")
    return manifest


def _write_panel(out: Path, region: Region, seed: int) -> pd.DataFrame:
    """Bisnode financials (one file per fiscal year) and export markets, chunk by chunk."""
    rng = np.random.default_rng(seed + 1)
    bisnode_files = {
        int(y): (out / "bisnode" / f"bisnode_{y}.csv").open("w", encoding="utf-8-sig", newline="") for y in YEARS
    }
    markets_file = (out / "markets" / "export_markets.csv").open("w", encoding="utf-8", newline="")
    try:
        for fh in bisnode_files.values():
            fh.write(";".join(BISNODE_HEADER) + "\n")
        markets_file.write("organisationsnummer,ar,land,exportvarde_tkr\n")
        counts = []
        for start in range(0, region.n, CHUNK_FIRMS):
            firms = np.arange(start, min(start + CHUNK_FIRMS, region.n))
            frame, markets, chunk_counts = _panel_chunk(region, firms, rng)
            for year, part in frame.groupby("year", sort=True):
                part.drop(columns="year").to_csv(bisnode_files[int(year)], sep=";", header=False, index=False)
            markets.to_csv(markets_file, header=False, index=False)
            counts.append(chunk_counts)
    finally:
        for fh in bisnode_files.values():
            fh.close()
        markets_file.close()
    return pd.concat(counts).groupby(["kommunkod", "ar", "dimension", "kategori"], as_index=False)["n"].sum()


def _panel_chunk(region: Region, firms: np.ndarray, rng: np.random.Generator):
    n, t = len(firms), len(YEARS)
    years = np.broadcast_to(YEARS, (n, t))
    shocks = rng.normal(0, 0.07, (n, t))
    log_path = np.cumsum(region.growth[firms, None] + shocks, axis=1) - region.growth[firms, None]
    effect = region.effect_multiplier(firms, YEARS)
    emp_effect = region.effect_multiplier(firms, YEARS, EMPLOYMENT_SHARE_OF_EFFECT)
    employees = np.round(region.employees_0[firms, None] * np.exp(0.6 * log_path) * emp_effect, 1)
    turnover = (region.employees_0[firms, None] + 0.6) * region.productivity[firms, None] * np.exp(log_path) * effect
    active = (years >= region.registration_year[firms, None]) & (years <= region.exit_year[firms, None])
    exporter = region.exporter[firms, None] & active
    export = np.where(exporter, turnover * np.minimum(region.export_share[firms, None] * effect, 0.95), 0.0)
    unknown_export = rng.random((n, t)) < np.where(exporter, 0.05, 0.3)
    missing_turnover = rng.random((n, t)) < 0.01

    row, col = np.nonzero(active)
    firm = firms[row]
    org = _org_display(region.org_nr[firm], rng)
    turnover_text = np.where(missing_turnover[row, col], "", _decimal_comma(turnover[row, col], 1))
    export_text = np.where(unknown_export[row, col], "", _decimal_comma(export[row, col], 1))
    frame = pd.DataFrame({
        "org": org, "name": region.names[firm], "fiscal_year": YEARS[col], "turnover": turnover_text,
        "export": export_text, "employees": _decimal_comma(employees[row, col], 1),
        "kommun": region.municipality[firm], "sni": region.sni[firm],
        "registered": region.registration_date[firm], "legal_form": region.legal_form[firm],
        "year": YEARS[col],
    })
    markets = _markets(region, firms, row, col, exporter, export, effect, rng)
    counts = _baseline_counts(region, firm, YEARS[col], employees[row, col])
    return frame, markets, counts


def _markets(region, firms, row, col, exporter, export, effect, rng) -> pd.DataFrame:
    """Each exporter serves its top-k countries; treatment effects open new markets."""
    sel = exporter[row, col]
    r, c = row[sel], col[sel]
    firm = firms[r]
    extra = np.floor(np.log(effect[r, c]) * 8).astype(int)  # more markets after a program
    k = np.clip(region.base_markets[firm] + extra + (rng.random(len(r)) < 0.15), 1, 8)
    order = np.argsort(-region.country_rank[firm], axis=1)[:, :8]
    rep = np.repeat(np.arange(len(r)), k)
    rank = np.arange(len(rep)) - np.repeat(np.cumsum(k) - k, k)
    share = 0.6 ** rank
    share = share / np.repeat(np.bincount(rep, weights=share, minlength=len(r)), k)
    values = export[r, c][rep] * share
    value_text = np.where(rng.random(len(rep)) < 0.1, "", np.char.mod("%.1f", values))
    return pd.DataFrame({
        "org": _org_text(region.org_nr[firm][rep]), "ar": YEARS[c][rep],
        "land": np.array(COUNTRIES)[order[rep, rank]], "value": value_text,
    })


def _classify(values: np.ndarray, bands) -> np.ndarray:
    conditions = [(values >= lo) & (values <= hi) for lo, hi, _ in bands]
    return np.select(conditions, [label for *_, label in bands], default="")


def _baseline_counts(region, firm, year, employees) -> pd.DataFrame:
    """Active firms with 0-249 employees per municipality, year and category."""
    small = employees < 250
    firm, year, employees = firm[small], year[small], employees[small]
    sections = {code: sni_section(code) for code in SNI_CODES}
    frames = []
    for dimension, category in (
        ("storleksklass", _classify(np.round(employees), SIZE_CLASSES)),
        ("sni_avdelning", np.vectorize(sections.get)(region.sni[firm]) if len(firm) else np.array([], dtype=str)),
        ("alder", _classify(year - region.registration_year[firm], AGE_BANDS)),
    ):
        frames.append(pd.DataFrame({
            "kommunkod": region.municipality[firm], "ar": year, "dimension": dimension, "kategori": category, "n": 1,
        }).groupby(["kommunkod", "ar", "dimension", "kategori"], as_index=False)["n"].sum())
    return pd.concat(frames)


def _write_baselines(out: Path, counts: pd.DataFrame, seed: int) -> None:
    """SCB counts a few percent above what Bisnode covers, as in the real registers."""
    rng = np.random.default_rng(seed + 2)
    counts = counts.sort_values(["kommunkod", "ar", "dimension", "kategori"])
    coverage = rng.uniform(0.93, 0.99, len(counts))
    counts["antal_foretag"] = np.maximum(counts["n"], np.round(counts["n"] / coverage)).astype(int)
    counts.drop(columns="n").to_csv(out / "baselines" / "scb_foretagsregister.csv", index=False)


def _write_participants(out: Path, region: Region, seed: int) -> None:
    """One list per program, each in the format its operator happens to use."""
    rng = np.random.default_rng(seed + 3)
    rows = []
    for cohort, members in region.participation:
        members = np.sort(members)
        start = pd.Timestamp(f"{cohort.year}-03-01") + pd.to_timedelta(rng.integers(0, 120, len(members)), unit="D")
        rows.append(pd.DataFrame({
            "Organisationsnummer": _org_display(region.org_nr[members], rng),
            "Foretagsnamn": region.names[members], "Program": cohort.program, "Kohort": cohort.year,
            "Startdatum": start.strftime("%Y-%m-%d"),
            "Slutdatum": (start + pd.Timedelta(days=180)).strftime("%Y-%m-%d"),
            "ledning_kon": region.gender[members],
        }))
    frame = pd.concat(rows, ignore_index=True)
    by_program = dict(tuple(frame.groupby("Program", sort=False)))
    folder = out / "participants"
    by_program["Exportboost"].to_csv(folder / "exportboost.csv", index=False, encoding="utf-8")
    by_program["Exportprogrammet"].to_csv(folder / "exportprogrammet.csv", sep=";", index=False, encoding="cp1252")
    by_program["Internationella Handelsdagen"].to_csv(folder / "handelsdagen.csv", sep=";", index=False, encoding="utf-8-sig")
    # Imported here: openpyxl takes a while to load, and every night imports this module.
    from warehouse.excel_text import excel_frame

    with pd.ExcelWriter(folder / "ga_globalt.xlsx") as writer:
        excel_frame(by_program["Gå globalt"]).to_excel(writer, sheet_name="Deltagare", index=False)


def _write_targets(out: Path, region: Region) -> None:
    rows = []
    for cohort, members in region.participation:
        total = len(members)
        for indicator, share in zip(INDICATORS, (1.0, 0.25, 0.3, 0.35)):
            target = max(1, round(total * share))
            women = round(target * 0.4)
            rows.append((cohort.program, cohort.year, indicator, women, target - women, target))
    frame = pd.DataFrame(rows, columns=["program", "ar", "indikator", "mal_kvinnor", "mal_man", "mal_totalt"])
    frame.groupby(["program", "ar", "indikator"], as_index=False, sort=True).first().to_csv(
        out / "targets" / "targets.csv", sep=";", index=False
    )
