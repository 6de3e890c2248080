"""Organisation numbers: normalise every accepted form to the 10-digit key and classify it.

Accepted forms (domain.md §4): ``5566778899``, ``556677-8899``, ``16556677-8899`` and,
for sole traders, the owner's personal number ``YYMMDD-NNNN`` or ``YYYYMMDD-NNNN``, all
with stray spaces. The Luhn check digit is validated with python-stdnum.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass

from stdnum import luhn
from stdnum.exceptions import ValidationError

_SEPARATORS = re.compile(r"[\s\-+\u00a0]")
# The "16" prefix marks the 12-digit form of an organisation number; 19/20 a century.
_ORGNR_PREFIX = "16"
_CENTURIES = ("18", "19", "20")
LUHN_PROBLEM = "fails the Luhn check digit; check it for a typo against the company register"


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


# The same normalisation as ``normalise``, set-based for big deliveries: DuckDB reduces each
# delivered text to its 10-digit candidate (or names the format problem); only the distinct
# candidates then go through python-stdnum's Luhn check, once per number ever (see
# ``ingest.load``). tests/test_orgnr.py checks that both paths agree on every form.
ORGNR_SQL_MACROS = r"""
CREATE OR REPLACE TEMP MACRO orgnr_compact(raw) AS regexp_replace(raw, '[\s\-+\x{00a0}]', '', 'g');
CREATE OR REPLACE TEMP MACRO orgnr_candidate(raw) AS (
    CASE
        WHEN NOT regexp_full_match(orgnr_compact(raw), '\d+') THEN NULL
        WHEN length(orgnr_compact(raw)) = 10 THEN orgnr_compact(raw)
        WHEN length(orgnr_compact(raw)) = 12 AND left(orgnr_compact(raw), 2) IN ('16', '18', '19', '20')
            THEN right(orgnr_compact(raw), 10)
    END
);
CREATE OR REPLACE TEMP MACRO orgnr_format_problem(raw) AS (
    CASE
        WHEN NOT regexp_full_match(orgnr_compact(raw), '\d+')
            THEN 'contains characters other than digits, ''-'' and spaces; correct it'
        WHEN length(orgnr_compact(raw)) = 12 AND left(orgnr_compact(raw), 2) NOT IN ('16', '18', '19', '20')
            THEN 'has 12 digits starting with ''' || left(orgnr_compact(raw), 2)
                || '''; expected the prefix 16 or a century (19, 20)'
        WHEN length(orgnr_compact(raw)) NOT IN (10, 12)
            THEN 'has ' || length(orgnr_compact(raw))
                || ' digits; expected 10 (or 12 with the prefix 16 or a century)'
    END
);
"""


def check_candidates(candidates: list[str], secret: bytes) -> list[tuple[str, bool, bool, str | None]]:
    """(digits, passes Luhn, is sole trader, firm key or None) for 10-digit candidates."""
    checked = []
    for digits in candidates:
        valid = luhn.is_valid(digits)
        checked.append((digits, valid, is_personal_number(digits), firm_key(digits, secret) if valid else None))
    return checked
