"""Organisation numbers: every accepted form, the invalid ones, and SQL agreeing with Python."""

import hashlib
import hmac

import duckdb
import numpy as np
import pytest
from stdnum import luhn

from ingest.orgnr import LUHN_PROBLEM, ORGNR_SQL_MACROS, InvalidOrgNr, firm_key, hmac_pads, normalise
from ingest.sample_region import luhn_digits

VALID_LEGAL = "5566778899"  # a Luhn-valid limited company number (3rd-4th digits 66)
VALID_PERSONAL = "8112189876"  # a Luhn-valid personal number (month 12)


def test_fixture_numbers_are_luhn_valid():
    assert luhn.is_valid(VALID_LEGAL) and luhn.is_valid(VALID_PERSONAL)


@pytest.mark.parametrize(
    "text",
    ["5566778899", "556677-8899", "16556677-8899", "165566778899", " 556677 - 8899 ", "556677\u00a08899",
     "556677\u20138899", "556677\u22128899", "556677-8899\u200b", "\ufeff5566778899"],
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
        ("SE556677889901", "VAT number"),
        ("5,56678E+09", "scientific notation"),
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
    "556677\u20138899", "811218\u20119876", "556677\u22128899", "SE556677889901", "se 556677-8899 01", "SE5566778899",
    "556677-8899\u200b", "\ufeff5566778899", "556677\u2060-8899", "5566\u200d778899",
    "5,56678E+09", "5.566778899E9", "5E+09",
]


@pytest.fixture(scope="module")
def sql():
    con = duckdb.connect()
    con.execute(ORGNR_SQL_MACROS)
    return con


def test_sql_normalisation_agrees_with_python_on_every_form(sql):
    for text in FORMS:
        candidate, problem = sql.execute(
            "SELECT orgnr_candidate(orgnr_compact(trim(?))), orgnr_format_problem(orgnr_compact(trim(?)))", [text, text]
        ).fetchone()
        try:
            expected = normalise(text)
        except InvalidOrgNr as exc:
            if problem is not None:
                assert problem == exc.problem, text
            else:  # the format is fine: only the Luhn check can fail
                assert candidate is not None and exc.problem == LUHN_PROBLEM, text
                assert sql.execute("SELECT orgnr_passes_luhn(?)", [candidate]).fetchone()[0] is False, text
            continue
        assert problem is None and candidate == expected.digits, text
        valid, sole_trader = sql.execute(
            "SELECT orgnr_passes_luhn(?), orgnr_is_personal_number(?)", [candidate, candidate]
        ).fetchone()
        assert valid and sole_trader == expected.is_sole_trader, text


def _ten_digit_numbers(count: int) -> list[str]:
    """Random 10-digit strings (about a tenth Luhn-valid), Luhn-valid sample numbers of
    firms and sole traders, and every single-digit change of one valid number."""
    rng = np.random.default_rng(7)
    random = [f"{n:010d}" for n in rng.integers(0, 10**10, count)]
    payloads = rng.integers(0, 10**9, count)
    valid = [f"{p:09d}{d}" for p, d in zip(payloads, luhn_digits(payloads))]
    typos = [VALID_LEGAL[:i] + str(d) + VALID_LEGAL[i + 1:] for i in range(10) for d in range(10)]
    return random + valid + typos + [VALID_PERSONAL, "0000000000", "9999999999"]


def test_sql_luhn_agrees_with_stdnum(sql):
    numbers = _ten_digit_numbers(20000)
    verdicts = sql.execute(
        "SELECT list(orgnr_passes_luhn(n) ORDER BY i) FROM unnest(?) WITH ORDINALITY AS t(n, i)", [numbers]
    ).fetchone()[0]
    expected = [luhn.is_valid(n) for n in numbers]
    assert verdicts == expected
    assert 0.05 < sum(expected[:20000]) / 20000 < 0.15  # both outcomes are exercised


def test_sql_sole_trader_flag_agrees_with_python(sql):
    numbers = _ten_digit_numbers(2000)
    flags = sql.execute(
        "SELECT list(orgnr_is_personal_number(n) ORDER BY i) FROM unnest(?) WITH ORDINALITY AS t(n, i)", [numbers]
    ).fetchone()[0]
    assert flags == [normalise(n).is_sole_trader if luhn.is_valid(n) else int(n[2:4]) < 20 for n in numbers]


@pytest.mark.parametrize(
    "secret",
    [b"secret", b"", b"k" * 64, b"k" * 65, bytes(range(256)), "nyckel-åäö".encode("utf-8")],
    ids=["short", "empty", "one-block", "longer-than-a-block", "all-bytes", "utf-8"],
)
def test_sql_firm_key_is_pythons_hmac(sql, secret):
    numbers = _ten_digit_numbers(3000)
    inner_pad, outer_pad = hmac_pads(secret)
    keys = sql.execute(
        "SELECT list(orgnr_firm_key(n, ?, ?) ORDER BY i) FROM unnest(?) WITH ORDINALITY AS t(n, i)",
        [inner_pad, outer_pad, numbers],
    ).fetchone()[0]
    assert keys == [hmac.new(secret, n.encode("ascii"), hashlib.sha256).hexdigest()[:16] for n in numbers]
    assert keys == [firm_key(n, secret) for n in numbers]


def test_firm_key_is_stable_keyed_and_not_the_number():
    assert firm_key(VALID_LEGAL, b"secret") == firm_key(VALID_LEGAL, b"secret")
    assert firm_key(VALID_LEGAL, b"secret") != firm_key(VALID_LEGAL, b"other")
    assert VALID_LEGAL not in firm_key(VALID_LEGAL, b"secret")


def test_vectorised_luhn_of_the_sample_matches_stdnum():
    payloads = np.random.default_rng(1).integers(10**8, 10**9, 2000)
    digits = luhn_digits(payloads)
    for payload, digit in zip(payloads, digits):
        assert luhn.calc_check_digit(str(payload)) == str(digit)


def test_a_night_with_another_pseudonym_key_loads_nothing_and_says_which_key(tmp_path):
    """Rows keyed with two keys would make every firm two firms; the load refuses and keeps the rows it had."""
    from ingest.contracts import PARTICIPANTS
    from ingest.load import PseudonymKeyChanged, load_source

    folder = tmp_path / "participants"
    folder.mkdir()
    (folder / "exportboost.csv").write_text(f"Organisationsnummer;Program;Kohort\n{VALID_LEGAL};Exportboost;2019\n")
    con = duckdb.connect()
    load_source(con, PARTICIPANTS, tmp_path, "first", b"the key used before")
    (folder / "exportboost_2020.csv").write_text(f"Organisationsnummer;Program;Kohort\n{VALID_PERSONAL};Exportboost;2020\n")

    with pytest.raises(PseudonymKeyChanged) as raised:
        load_source(con, PARTICIPANTS, tmp_path, "second", b"a new key")
    assert "raw.participants" in str(raised.value) and "exportboost.csv, line 2" in str(raised.value)
    assert con.execute("SELECT count(*) FROM audit.loads").fetchone()[0] == 1
    assert con.execute("SELECT firm_key FROM raw.participants").fetchall() == [
        (firm_key(VALID_LEGAL, b"the key used before"),)]

    load_source(con, PARTICIPANTS, tmp_path, "third", b"the key used before")
    assert sorted(con.execute("SELECT firm_key FROM raw.participants").fetchall()) == sorted(
        [(firm_key(n, b"the key used before"),) for n in (VALID_LEGAL, VALID_PERSONAL)])


def test_the_errors_that_stop_a_night_name_a_file_named_after_a_sole_trader_redacted(tmp_path, monkeypatch):
    """What stops a night is printed on the terminal (`followup run`) and kept in the run's events: a
    file named "Anna 811218-9876.csv" is named there as the published file names it."""
    from ingest import load
    from ingest.contracts import PARTICIPANTS

    folder = tmp_path / "participants"
    folder.mkdir()
    header = "Organisationsnummer;Program;Kohort"
    (folder / "Anna 811218-9876.csv").write_text(f"{header}\n{VALID_LEGAL};Exportboost;2019\n")
    con = duckdb.connect()
    load.load_source(con, PARTICIPANTS, tmp_path, "first", b"the key used before")
    (folder / "Bo 19811218-9876.csv").write_text(f"{header}\n{VALID_LEGAL};Exportboost;2020\n")
    with pytest.raises(load.PseudonymKeyChanged) as raised:
        load.load_source(con, PARTICIPANTS, tmp_path, "second", b"a new key")
    assert "9876" not in str(raised.value) and "Anna [redacted].csv, line 2" in str(raised.value)

    def fails(*args, **kwargs):
        raise ValueError("could not convert '811218-9876;Exportboost'")

    monkeypatch.setattr(load, "_stage_file", fails)
    with pytest.raises(load.DeliveryReadFailed) as raised:
        load.load_source(con, PARTICIPANTS, tmp_path, "third", b"the key used before")
    assert "9876" not in str(raised.value) and "Bo [redacted].csv: reading this delivery failed" in str(raised.value)


def test_every_form_read_as_an_organisation_number_is_redacted_in_published_texts():
    """What normalise() reads as a number, in a message or a value of any column, shows as '[redacted]'."""
    from ingest.typing import redact_number_like_sql

    accepted = []
    # Spaces, dashes and tabs anywhere between the digits: normalise() reads them all, as the
    # contract's "stray spaces" ask, and a message or file name may spell a number so.
    stray = ["811218\t9876", "81 12 18-9876", "1981-12-18-9876", "811218-98 76", "811218\u20099876", "5566 7788 99"]
    for text in FORMS + ["556677\u00a08899", "811218+9876", "556677 \u2013 8899"] + stray:
        try:
            normalise(text)
        except InvalidOrgNr as exc:
            if exc.problem != LUHN_PROBLEM:
                continue
        accepted.append(text.strip())
    assert len(accepted) >= 10
    con = duckdb.connect()
    for text in accepted:
        message = f"value '{text}' is not a four-digit year;{text};{text}"
        redacted = con.execute(f"SELECT {redact_number_like_sql('?')}", [message]).fetchone()[0]
        assert redacted == "value '[redacted]' is not a four-digit year;[redacted];[redacted]", text


def test_a_personal_number_with_underscores_in_a_file_name_is_redacted():
    """A file name has an underscore where a space would be: "lista_811218_9876.csv" names a person too."""
    from ingest.typing import redact_number_like

    assert redact_number_like("/landing/lista_811218_9876.csv") == "/landing/lista_[redacted].csv"
    assert redact_number_like("lista_19811218_9876.csv, line 2") == "lista_[redacted].csv, line 2"
