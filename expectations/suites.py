"""One Great Expectations suite per landing source, written as code and reviewed like code.

Each expectation runs on the typed rows of one delivered file (after ``ingest.typing`` has
parsed them). Its ``meta`` says how severe a failure is and what a person should do:

- ``error``: the failing rows go to ``audit.quarantine``; the rest of the file loads.
- ``warn``: the rows load; the failure is reported in ``audit.validation_results``.

Code lists are maintained data: municipalities, SNI sections and programs are the dbt seeds;
ISO country codes come from pycountry.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from pathlib import Path

SEEDS_DIR = Path(__file__).resolve().parents[1] / "dbt_project" / "seeds"
FIRST_YEAR = 1990
MAX_EMPLOYEES = 100_000
# The largest Swedish groups turn over a few hundred billion SEK; above this is a unit error.
MAX_TURNOVER_TKR = 500_000_000

ERROR, WARN = "error", "warn"

# Natural key of a row within one delivery, per source (domain.md §4).
NATURAL_KEYS: dict[str, tuple[str, ...]] = {
    "participants": ("firm_key", "program", "cohort_year"),
    "bisnode": ("firm_key", "fiscal_year"),
    "baselines": ("municipality_code", "year", "dimension", "category"),
    "markets": ("firm_key", "year", "country_code"),
    "targets": ("program", "year", "indicator"),
}


@dataclass(frozen=True)
class Rule:
    """One expectation: the GX class name, its arguments, severity and advice."""

    expectation: str
    kwargs: dict
    severity: str
    advice: str
    # What a failing value most likely means, when that can be told ("did you mean GB?"), or None.
    hint: Callable[[str], str | None] | None = field(default=None, compare=False)

    @property
    def column(self) -> str:
        return self.kwargs.get("column") or "+".join(self.kwargs.get("column_list", []))


def _seed_column(name: str, column: str) -> list[str]:
    with (SEEDS_DIR / f"{name}.csv").open(encoding="utf-8") as fh:
        return [row[column] for row in csv.DictReader(fh)]


# The counties a warehouse covers: its Bisnode population, the control pool and the SCB
# baselines come from their municipalities. Västra Götaland by default (domain.md); a national
# agency covers every county, and each participant is matched within its own county.
DEFAULT_COUNTIES = ("14",)
ALL_COUNTIES = "all"


@cache
def _municipalities() -> tuple[dict[str, str], ...]:
    with (SEEDS_DIR / "municipalities.csv").open(encoding="utf-8") as fh:
        return tuple(csv.DictReader(fh))


def county_names() -> dict[str, str]:
    """County code -> name, in code order."""
    return {row["county_code"]: row["county_name"] for row in _municipalities()}


def parse_counties(text: str) -> tuple[str, ...]:
    """The counties named by a setting such as ``14``, ``12,14`` or ``all``.

    Raises ValueError naming what is not a county code, with the codes there are.
    """
    known = county_names()
    if text.strip().casefold() == ALL_COUNTIES:
        return tuple(known)
    codes = [code.strip().zfill(2) for code in text.split(",") if code.strip()]
    unknown = [code for code in codes if code not in known]
    if not codes or unknown:
        raise ValueError(
            f"{text!r} does not name the counties to cover: {', '.join(unknown) or 'no code given'} "
            f"is not a county code. Give two-digit county codes separated by commas, or '{ALL_COUNTIES}'; "
            f"the codes are {', '.join(f'{c} ({n})' for c, n in known.items())}"
        )
    return tuple(sorted(set(codes)))


def municipality_codes(counties: tuple[str, ...] = DEFAULT_COUNTIES) -> tuple[str, ...]:
    return tuple(row["municipality_code"] for row in _municipalities() if row["county_code"] in counties)


def _municipality_rule(counties: tuple[str, ...]) -> Rule:
    names = county_names()
    codes = municipality_codes(counties)
    if len(counties) == len(names):
        covered, remedy = f"Sweden's {len(codes)} municipality codes", ""
    else:
        covered = f"the {len(codes)} municipality codes of " + ", ".join(f"{names[c]} ({c})" for c in counties)
        remedy = (", or, if the warehouse is to cover that municipality's county too, add the county's code "
                  "to FOLLOWUP_COUNTIES")
    return Rule(
        "ExpectColumnValuesToBeInSet", {"column": "municipality_code", "value_set": list(codes)}, ERROR,
        f"is not one of {covered}; correct the code{remedy}",
    )


@cache
def sni_divisions() -> tuple[str, ...]:
    with (SEEDS_DIR / "sni2007_sections.csv").open(encoding="utf-8") as fh:
        ranges = [(int(r["division_from"]), int(r["division_to"])) for r in csv.DictReader(fh)]
    return tuple(f"{d:02d}" for lo, hi in ranges for d in range(lo, hi + 1))


@cache
def sni_sections() -> tuple[str, ...]:
    return tuple(_seed_column("sni2007_sections", "sni_section"))


@cache
def program_names() -> tuple[str, ...]:
    return tuple(_seed_column("programs", "program"))


# The categories of the SCB baselines' dimensions (domain.md §3).
SCB_SIZE_CLASSES = ("0", "1-4", "5-9", "10-19", "20-49", "50-99", "100-199", "200-499", "500+")
AGE_BANDS = ("0-4", "5-9", "10-14", "15-19", "20-29", "30-39", "40-50", ">50")


def baseline_categories() -> tuple[str, ...]:
    """Each dimension's categories as 'dimension:category', the form the rule checks."""
    categories = {"storleksklass": SCB_SIZE_CLASSES, "sni_avdelning": sni_sections(), "alder": AGE_BANDS}
    return tuple(f"{dimension}:{category}" for dimension, values in categories.items() for category in values)


@cache
def country_codes() -> tuple[str, ...]:
    import pycountry

    return tuple(sorted(c.alpha_2 for c in pycountry.countries))


# Codes people write for a country that ISO 3166-1 gives another: the UK is GB, and the EU's
# EL for Greece is GR.
_COUNTRY_CODE_SPELLINGS = {"UK": "GB", "EL": "GR"}


@cache
def country_code_hint(value: str) -> str | None:
    """The ISO code a delivered country most likely means: GB for UK, NO for NOR, Norge or Norway."""
    import pycountry

    text = value.strip()
    code = _COUNTRY_CODE_SPELLINGS.get(text.upper()) or _swedish_country_names().get(text.casefold())
    if code is None:
        try:
            code = pycountry.countries.lookup(text).alpha_2
        except LookupError:
            return None
    return f"did you mean {code} ({_swedish_country_names_by_code()[code]})?"


@cache
def _swedish_country_names_by_code() -> dict[str, str]:
    import gettext

    import pycountry

    swedish = gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=["sv"], fallback=True)
    return {c.alpha_2: swedish.gettext(c.name) for c in pycountry.countries}


@cache
def _swedish_country_names() -> dict[str, str]:
    return {name.casefold(): code for code, name in _swedish_country_names_by_code().items()}


def _year(column: str, last: int) -> Rule:
    return Rule(
        "ExpectColumnValuesToBeBetween", {"column": column, "min_value": FIRST_YEAR, "max_value": last}, ERROR,
        f"must be a year from {FIRST_YEAR} to {last}; correct the year",
    )


def _unique(source: str) -> Rule:
    key = NATURAL_KEYS[source]
    return Rule(
        "ExpectCompoundColumnsToBeUnique", {"column_list": list(key)}, ERROR,
        f"repeats the key ({', '.join(key)}) of an earlier line in the same file; keep one of them",
    )


def suite_rules(source: str, today: date | None = None, counties: tuple[str, ...] = DEFAULT_COUNTIES) -> list[Rule]:
    """The rules of ``source``'s suite (parsing and required values are checked before these)."""
    this_year = (today or date.today()).year
    municipality = _municipality_rule(counties)
    rules = {
        "participants": [
            _year("cohort_year", this_year),
            Rule("ExpectColumnValuesToBeInSet", {"column": "program", "value_set": list(program_names())}, ERROR,
                 "is not a program on the maintained list (dbt_project/seeds/programs.csv); "
                 "correct the name or add the program to the list"),
            _unique("participants"),
        ],
        "bisnode": [
            _year("fiscal_year", this_year),
            Rule("ExpectColumnValuesToBeBetween", {"column": "employees", "min_value": 0, "max_value": MAX_EMPLOYEES - 1},
                 ERROR, f"must be from 0 to {MAX_EMPLOYEES - 1} employees; correct the count"),
            Rule("ExpectColumnValuesToBeBetween", {"column": "net_turnover_tkr", "min_value": 0, "max_value": MAX_TURNOVER_TKR},
                 ERROR, "is not a plausible net turnover in kSEK; check the sign and the unit (kSEK, not SEK)"),
            Rule("ExpectColumnValuesToBeBetween", {"column": "export_turnover_tkr", "min_value": 0, "max_value": MAX_TURNOVER_TKR},
                 ERROR, "is not a plausible export turnover in kSEK; check the sign and the unit (kSEK, not SEK)"),
            municipality,
            Rule("ExpectColumnValuesToMatchRegex", {"column": "sni_code", "regex": r"^\d{5}$"}, ERROR,
                 "is not a five-digit SNI 2007 code; correct the code"),
            Rule("ExpectColumnValuesToMatchRegex", {"column": "sni_code", "regex": f"^(?:{'|'.join(sni_divisions())})"},
                 ERROR, "does not start with an SNI 2007 division (sections A-U); correct the code"),
            Rule("ExpectColumnValuesToBeBetween",
                 {"column": "registration_year", "min_value": 1800, "max_value": this_year}, ERROR,
                 "is not a plausible registration date; correct it"),
            _unique("bisnode"),
        ],
        "baselines": [
            _year("year", this_year),
            municipality,
            Rule("ExpectColumnValuesToBeInSet",
                 {"column": "dimension", "value_set": ["storleksklass", "sni_avdelning", "alder"]}, ERROR,
                 "is not a dimension of the contract (storleksklass, sni_avdelning, alder); correct it"),
            Rule("ExpectColumnValuesToBeInSet",
                 {"column": "dimension_category", "value_set": list(baseline_categories())}, ERROR,
                 "is not a category of its dimension (storleksklass: " + ", ".join(SCB_SIZE_CLASSES)
                 + "; sni_avdelning: a section letter A-U; alder: " + ", ".join(AGE_BANDS)
                 + "); correct it (Excel may have turned a class such as 1-4 into a date)"),
            Rule("ExpectColumnValuesToBeBetween", {"column": "firm_count", "min_value": 0}, ERROR,
                 "is a negative count of firms; correct it"),
            _unique("baselines"),
        ],
        "markets": [
            _year("year", this_year),
            Rule("ExpectColumnValuesToBeInSet", {"column": "country_code", "value_set": list(country_codes())}, ERROR,
                 "is not an ISO 3166-1 alpha-2 country code; use two letters such as NO or DE", country_code_hint),
            Rule("ExpectColumnValuesToBeBetween", {"column": "export_value_tkr", "min_value": 0, "max_value": MAX_TURNOVER_TKR},
                 ERROR, "is not a plausible export value in kSEK; check the sign and the unit"),
            _unique("markets"),
        ],
        "targets": [
            Rule("ExpectColumnValuesToBeBetween", {"column": "year", "min_value": FIRST_YEAR, "max_value": this_year + 5},
                 ERROR, f"must be a year from {FIRST_YEAR} to {this_year + 5}; correct the year"),
            Rule("ExpectColumnValuesToBeInSet", {"column": "program", "value_set": list(program_names())}, ERROR,
                 "is not a program on the maintained list (dbt_project/seeds/programs.csv); correct the name"),
            *[Rule("ExpectColumnValuesToBeBetween", {"column": c, "min_value": 0}, ERROR, "is a negative target; correct it")
              for c in ("target_women", "target_men", "target_total")],
            _unique("targets"),
        ],
    }
    return rules[source]


def build_suite(source: str, today: date | None = None, counties: tuple[str, ...] = DEFAULT_COUNTIES):
    """The GX ExpectationSuite of ``source`` (GX is imported here: it takes seconds to load)."""
    import great_expectations as gx
    import great_expectations.expectations as gxe

    expectations = [
        getattr(gxe, rule.expectation)(**rule.kwargs, meta={"severity": rule.severity, "advice": rule.advice})
        for rule in suite_rules(source, today, counties)
    ]
    return gx.ExpectationSuite(name=f"{source}_delivery", expectations=expectations)
