"""Organisation numbers: normalise every accepted form to the 10-digit key and classify it.

Accepted forms (domain.md §4): ``5566778899``, ``556677-8899``, ``16556677-8899`` and,
for sole traders, the owner's personal number ``YYMMDD-NNNN`` or ``YYYYMMDD-NNNN``, all
with stray spaces. ``normalise`` validates one value (the Luhn check digit with python-stdnum);
``ORGNR_SQL_MACROS`` do the same for a whole delivery in DuckDB.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass

from stdnum import luhn
from stdnum.exceptions import ValidationError

# The dashes and the minus a word processor puts in place of a hyphen, as the contents of a
# regex class in DuckDB's (RE2's) notation: the same characters as in _SEPARATORS.
DASHES_SQL = r"\x{2010}-\x{2015}\x{2212}"
# A hyphen or such a dash, a plus, spaces, and the invisible characters text copied from a web
# page or a PDF may carry (zero-width spaces and joiners, the word joiner, a stray BOM).
_SEPARATORS = re.compile(r"[\s\-+\u00a0\u2010-\u2015\u2212\u200b-\u200d\u2060\ufeff]")
INVISIBLE_SQL = r"\x{200b}-\x{200d}\x{2060}\x{feff}"
# The "16" prefix marks the 12-digit form of an organisation number; 19/20 a century.
_ORGNR_PREFIX = "16"
_CENTURIES = ("18", "19", "20")
LUHN_PROBLEM = "fails the Luhn check digit; check it for a typo against the company register"
# SE, the organisation number and 01: the firm's VAT number (momsregistreringsnummer), which
# is no form of an organisation number the contract takes.
_VAT_NUMBER = re.compile(r"[Ss][Ee]\d{10}01")
# Scientific notation, its "+" gone with the separators.
_SCIENTIFIC = re.compile(r"\d([.,]\d+)?[Ee]\d+")
# "5,56E+09": what Excel shows, and saves, for a number too wide for its cell.
SCIENTIFIC_PROBLEM = ("is in scientific notation, as Excel shows a number too wide for its cell, and its last "
                      "digits are lost; format the column as text, export again and deliver the file again")
VAT_NUMBER_PROBLEM = ("is a VAT number (momsregistreringsnummer), not an organisation number; "
                      "deliver the 10 digits between SE and 01")


@dataclass(frozen=True)
class OrgNr:
    """A validated organisation number in its 10-digit form."""

    digits: str
    is_sole_trader: bool


class InvalidOrgNr(ValueError):
    """Raised with a message a person can act on; ``problem`` omits the value itself."""

    def __init__(self, value: object, problem: str):
        self.value = value
        self.problem = problem
        super().__init__(f"organisation number {str(value).strip()!r} {problem}")


def normalise(value: str) -> OrgNr:
    """Return the 10-digit key of an organisation or personal number, or raise InvalidOrgNr."""
    if value is None or not str(value).strip():
        raise InvalidOrgNr("", "is empty; fill in the firm's 10-digit number")
    text = str(value).strip()
    digits = _SEPARATORS.sub("", text)
    if _VAT_NUMBER.fullmatch(digits):
        raise InvalidOrgNr(text, VAT_NUMBER_PROBLEM)
    if _SCIENTIFIC.fullmatch(digits):
        raise InvalidOrgNr(text, SCIENTIFIC_PROBLEM)
    if not digits.isdigit():
        raise InvalidOrgNr(text, "contains characters other than digits, '-' and spaces; correct it")
    if len(digits) == 12:
        if digits[:2] != _ORGNR_PREFIX and digits[:2] not in _CENTURIES:
            raise InvalidOrgNr(
                text, f"has 12 digits starting with {digits[:2]!r}; expected the prefix 16 or a century (19, 20)"
            )
        digits = digits[2:]
    if len(digits) != 10:
        raise InvalidOrgNr(
            text, f"has {len(digits)} digits; expected 10 (or 12 with the prefix 16 or a century)"
        )
    try:
        luhn.validate(digits)
    except ValidationError as exc:
        raise InvalidOrgNr(text, LUHN_PROBLEM) from exc
    return OrgNr(digits=digits, is_sole_trader=is_personal_number(digits))


def is_personal_number(digits: str) -> bool:
    """A 10-digit number whose 3rd-4th digits are below 20 is a personal identity number."""
    return int(digits[2:4]) < 20


def firm_key(org_nr: str, secret: bytes) -> str:
    """Pseudonymous, stable firm key: a keyed hash, so it cannot be reversed by enumeration."""
    return hmac.new(secret, org_nr.encode("ascii"), hashlib.sha256).hexdigest()[:16]


def hmac_pads(secret: bytes) -> tuple[bytes, bytes]:
    """HMAC-SHA256's inner and outer padded keys (RFC 2104), for ``orgnr_firm_key`` in SQL.

    A key longer than SHA-256's 64-byte block is hashed first, as ``hmac`` does.
    """
    block = 64
    key = hashlib.sha256(secret).digest() if len(secret) > block else secret
    key = key.ljust(block, b"\0")
    return bytes(b ^ 0x36 for b in key), bytes(b ^ 0x5C for b in key)


# Counted from the check digit (the 10th), every second digit is doubled and a two-digit
# product counts as the sum of its digits. Integer arithmetic: twice as fast as string slicing.
_DIGITS = [f"(CAST(digits AS BIGINT) // {10 ** (10 - i)} % 10)" for i in range(1, 11)]
_LUHN_SUM = " + ".join(
    f"((2 * {d}) // 10 + (2 * {d}) % 10)" if i % 2 == 0 else d for i, d in enumerate(_DIGITS)
)

# The same normalisation as ``normalise``, set-based for big deliveries: DuckDB compacts each
# distinct delivered text once (``orgnr_compact``), reduces it to its 10-digit candidate or
# names the format problem, checks the Luhn digit and computes ``firm_key`` (HMAC-SHA256 from
# the pads of ``hmac_pads``). tests/test_orgnr.py checks both paths agree on every form, with
# python-stdnum's Luhn and Python's hmac.
ORGNR_SQL_MACROS = r"""
CREATE OR REPLACE TEMP MACRO orgnr_compact(raw) AS regexp_replace(raw, '[\s\-+\x{00a0}""" + DASHES_SQL + INVISIBLE_SQL + r"""]', '', 'g');
CREATE OR REPLACE TEMP MACRO orgnr_candidate(compact) AS (
    CASE
        WHEN NOT regexp_full_match(compact, '\d+') THEN NULL
        WHEN length(compact) = 10 THEN compact
        WHEN length(compact) = 12 AND left(compact, 2) IN ('16', '18', '19', '20') THEN right(compact, 10)
    END
);
CREATE OR REPLACE TEMP MACRO orgnr_format_problem(compact) AS (
    CASE
        WHEN regexp_full_match(compact, '[Ss][Ee]\d{10}01') THEN '""" + VAT_NUMBER_PROBLEM + r"""'
        WHEN regexp_full_match(compact, '\d([.,]\d+)?[Ee]\d+') THEN '""" + SCIENTIFIC_PROBLEM + r"""'
        WHEN NOT regexp_full_match(compact, '\d+')
            THEN 'contains characters other than digits, ''-'' and spaces; correct it'
        WHEN length(compact) = 12 AND left(compact, 2) NOT IN ('16', '18', '19', '20')
            THEN 'has 12 digits starting with ''' || left(compact, 2)
                || '''; expected the prefix 16 or a century (19, 20)'
        WHEN length(compact) NOT IN (10, 12)
            THEN 'has ' || length(compact) || ' digits; expected 10 (or 12 with the prefix 16 or a century)'
    END
);
CREATE OR REPLACE TEMP MACRO orgnr_passes_luhn(digits) AS (LUHN_SUM) % 10 = 0;
CREATE OR REPLACE TEMP MACRO orgnr_is_personal_number(digits) AS CAST(digits[3:4] AS INTEGER) < 20;
CREATE OR REPLACE TEMP MACRO orgnr_firm_key(digits, inner_pad, outer_pad) AS
    left(sha256(outer_pad || unhex(sha256(inner_pad || encode(digits)))), 16);
""".replace("LUHN_SUM", _LUHN_SUM)
