"""Organisation numbers: every accepted form, the invalid ones, and SQL agreeing with Python."""

import duckdb
import numpy as np
import pytest
from stdnum import luhn

from ingest.orgnr import ORGNR_SQL_MACROS, InvalidOrgNr, check_candidates, firm_key, normalise
from ingest.sample_region import luhn_digits

VALID_LEGAL = "5566778899"  # a Luhn-valid limited company number (3rd-4th digits 66)
VALID_PERSONAL = "8112189876"  # a Luhn-valid personal number (month 12)


def test_fixture_numbers_are_luhn_valid():
    assert luhn.is_valid(VALID_LEGAL) and luhn.is_valid(VALID_PERSONAL)


@pytest.mark.parametrize(
    "text",
    ["5566778899", "556677-8899", "16556677-8899", "165566778899", " 556677 - 8899 ", "556677\u00a08899"],
)
def test_legal_entity_forms_normalise_to_ten_digits(text):
    number = normalise(text)
    assert number.digits == VALID_LEGAL
    assert not number.is_sole_trader


@pytest.mark.parametrize("text", ["811218-9876", "8112189876", "19811218-9876", "198112189876", "811218+9876"])
def test_personal_numbers_are_sole_traders(text):
    number = normalise(text)
    assert number.digits == VALID_PERSONAL
    assert number.is_sole_trader


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("556677-8898", "Luhn"),
        ("55667788", "8 digits"),
        ("5566-77889x", "characters other than digits"),
        ("995566778899", "starting with '99'"),
        ("", "empty"),
        ("   ", "empty"),
    ],
)
def test_invalid_numbers_say_what_is_wrong(text, fragment):
    with pytest.raises(InvalidOrgNr) as caught:
        normalise(text)
    assert fragment in str(caught.value)


FORMS = [
    "5566778899", "556677-8899", "16556677-8899", " 556677 - 8899 ", "811218-9876", "19811218-9876",
    "556677-8898", "55667788", "5566-77889x", "995566778899", "20811218-9876", "2021000001",
]


def test_sql_normalisation_agrees_with_python_on_every_form():
    con = duckdb.connect()
    con.execute(ORGNR_SQL_MACROS)
    for text in FORMS:
        candidate, problem = con.execute(
            "SELECT orgnr_candidate(trim(?)), orgnr_format_problem(trim(?))", [text, text]
        ).fetchone()
        try:
            expected = normalise(text)
        except InvalidOrgNr as exc:
            if problem is not None:
                assert problem == exc.problem, text
            else:  # the format is fine: only the Luhn check (done in Python) can fail
                assert candidate is not None and not check_candidates([candidate], b"k")[0][1], text
            continue
        assert problem is None and candidate == expected.digits, text
        digits, valid, sole_trader, _ = check_candidates([candidate], b"k")[0]
        assert valid and sole_trader == expected.is_sole_trader


def test_firm_key_is_stable_keyed_and_not_the_number():
    assert firm_key(VALID_LEGAL, b"secret") == firm_key(VALID_LEGAL, b"secret")
    assert firm_key(VALID_LEGAL, b"secret") != firm_key(VALID_LEGAL, b"other")
    assert VALID_LEGAL not in firm_key(VALID_LEGAL, b"secret")


def test_vectorised_luhn_of_the_sample_matches_stdnum():
    payloads = np.random.default_rng(1).integers(10**8, 10**9, 2000)
    digits = luhn_digits(payloads)
    for payload, digit in zip(payloads, digits):
        assert luhn.calc_check_digit(str(payload)) == str(digit)
