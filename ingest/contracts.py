"""The landing contracts of domain.md §4, as data.

Each source names its landing subfolder, its raw table and its columns. A column has the
header(s) it is delivered under, whether it is required, and the kind of value it holds;
the kind decides how ``ingest.typing`` parses it and what counts as an error.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import Enum


class Kind(Enum):
    ORGNR = "orgnr"  # organisation or personal number -> firm_key, org_nr, is_sole_trader
    YEAR = "year"  # four-digit year
    INTEGER = "integer"  # whole number, may use thousands separators
    NUMBER = "number"  # decimal comma or point, thousands separators allowed
    DATE = "date"  # ISO date
    TEXT = "text"  # kept as delivered, trimmed
    # Kept as delivered, trimmed, and published so (an indicator's name reaches the marts, the extract and the
    # report): a value holding what looks like an organisation or personal number is quarantined.
    PUBLISHED_TEXT = "published_text"
    LABEL = "label"  # a class such as 1-4, trimmed; an en dash or minus a word processor typed is '-'
    CODE = "code"  # trimmed, upper-case code (country, SNI, legal form)
    KEYWORD = "keyword"  # one of the contract's lower-case words: case and accents as typed do not matter
    GENDER = "gender"  # kvinna / man / empty


@dataclass(frozen=True)
class Column:
    name: str  # canonical (raw table) name
    headers: tuple[str, ...]  # accepted delivered headers, matched case-insensitively
    kind: Kind
    required: bool  # the header must be present
    nullable: bool = True  # an empty value is allowed
    # A code of this many digits: Excel keeps it as a number when typed in a cell, and drops
    # its leading zeros ("01110" becomes 1110), so a number cell is padded back to it.
    digits: int | None = None

    @property
    def number_cell_digits(self) -> int | None:
        """The width to pad a number cell of this column to (organisation numbers: 10)."""
        return 10 if self.kind is Kind.ORGNR else self.digits

    def matches(self, header: str) -> bool:
        return normalise_header(header) in {normalise_header(h) for h in self.headers}


@dataclass(frozen=True)
class Source:
    name: str  # landing subfolder and raw table name
    columns: tuple[Column, ...]
    # What stays empty while the source has no usable rows; None when nothing can be built
    # without it (the night then stops before the models).
    feeds: str | None = None

    @property
    def required(self) -> tuple[Column, ...]:
        return tuple(c for c in self.columns if c.required)

    @property
    def names_firms(self) -> bool:
        """Its rows carry organisation numbers: a sole trader's is a person's identity number."""
        return any(c.kind is Kind.ORGNR for c in self.columns)


# A hyphen at the end of a line inside a header cell, and the line break after it.
_WRAPPED_WORD = re.compile(r"(?<=\w)-[ \t]*\r?\n\s*")


def normalise_header(header: object) -> str:
    """Headers match case-insensitively, ignoring surrounding and doubled spaces and the accents
    (Nettoomsattning is Nettoomsättning, however the ä is stored: composed, or a letter and a
    combining mark as macOS saves it). No two columns of a source differ by accents alone. A
    word Excel wrapped in its cell ("Organisations-" and "nummer" on two lines, or a soft
    hyphen) is one word."""
    text = _WRAPPED_WORD.sub("", str(header).replace("\ufeff", "").replace("\u00ad", ""))
    text = unicodedata.normalize("NFKD", " ".join(text.split()))
    return "".join(c for c in text if not unicodedata.combining(c)).casefold()


PARTICIPANTS = Source(
    "participants",
    (
        Column("organisationsnummer", ("organisationsnummer",), Kind.ORGNR, True, nullable=False),
        Column("company_name", ("foretagsnamn", "företagsnamn"), Kind.TEXT, False),
        Column("program", ("program",), Kind.TEXT, True, nullable=False),
        Column("cohort_year", ("kohort",), Kind.YEAR, True, nullable=False),
        Column("start_date", ("startdatum",), Kind.DATE, False),
        Column("end_date", ("slutdatum",), Kind.DATE, False),
        Column("leader_gender", ("ledning_kon", "ledning_kön"), Kind.GENDER, False),
    ),
)

BISNODE = Source(
    "bisnode",
    (
        Column("organisationsnummer", ("Org.nr", "orgnr", "org nr"), Kind.ORGNR, True, nullable=False),
        Column("company_name", ("Företagsnamn", "foretagsnamn"), Kind.TEXT, False),
        Column("fiscal_year", ("Bokslutsår", "bokslutsar"), Kind.YEAR, True, nullable=False),
        Column("net_turnover_tkr", ("Nettoomsättning (tkr)",), Kind.NUMBER, True),
        Column("export_turnover_tkr", ("Exportomsättning (tkr)",), Kind.NUMBER, False),
        Column("employees", ("Antal anställda",), Kind.NUMBER, True),
        Column("municipality_code", ("Kommunkod",), Kind.CODE, True, nullable=False, digits=4),
        Column("sni_code", ("SNI-kod", "sni kod"), Kind.CODE, True, nullable=False, digits=5),
        Column("registration_date", ("Registreringsdatum",), Kind.DATE, True, nullable=False),
        Column("legal_form", ("Bolagsform",), Kind.CODE, False),
    ),
)

BASELINES = Source(
    "baselines",
    (
        Column("municipality_code", ("kommunkod",), Kind.CODE, True, nullable=False, digits=4),
        Column("year", ("ar", "år"), Kind.YEAR, True, nullable=False),
        Column("dimension", ("dimension",), Kind.KEYWORD, True, nullable=False),
        Column("category", ("kategori",), Kind.LABEL, True, nullable=False),
        Column("firm_count", ("antal_foretag", "antal_företag"), Kind.INTEGER, True, nullable=False),
    ),
    feeds="the county's shares in rpt_representativity and the Bisnode coverage check",
)

MARKETS = Source(
    "markets",
    (
        Column("organisationsnummer", ("organisationsnummer",), Kind.ORGNR, True, nullable=False),
        Column("year", ("ar", "år"), Kind.YEAR, True, nullable=False),
        Column("country_code", ("land",), Kind.CODE, True, nullable=False),
        Column("export_value_tkr", ("exportvarde_tkr", "exportvärde_tkr"), Kind.NUMBER, False),
    ),
    feeds="the new markets and the growth on existing markets (rpt_export_outcomes, the indicators)",
)

TARGETS = Source(
    "targets",
    (
        Column("program", ("program",), Kind.TEXT, True, nullable=False),
        Column("year", ("ar", "år"), Kind.YEAR, True, nullable=False),
        Column("indicator", ("indikator",), Kind.PUBLISHED_TEXT, True, nullable=False),
        Column("target_women", ("mal_kvinnor", "mål_kvinnor"), Kind.INTEGER, True),
        Column("target_men", ("mal_man", "mål_män"), Kind.INTEGER, True),
        Column("target_total", ("mal_totalt", "mål_totalt"), Kind.INTEGER, True, nullable=False),
    ),
    feeds="the targets and shares of target met in rpt_tillvaxtverket_indicators",
)

SOURCES: dict[str, Source] = {s.name: s for s in (PARTICIPANTS, BISNODE, BASELINES, MARKETS, TARGETS)}
