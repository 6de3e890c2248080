"""SQL that turns a delivery's text columns into typed raw columns, and names every failure.

Pure functions from the contract to SQL text; ``ingest.load`` runs them. Each column yields a
value expression and, where a value cannot be parsed, an error struct (column, value, rule,
message) so that a row with any error goes to quarantine with a reason a person can act on.
"""

from __future__ import annotations

import duckdb

from ingest.contracts import Column, Kind, Source
from ingest.number_marks import AMBIGUOUS_NUMBER, NumberMarks, number_sql
from ingest.orgnr import DASHES_SQL, INVISIBLE_SQL

TYPING_MACROS = r"""
-- A delivered value without the spaces, tabs and line breaks around it (a cell pasted from
-- a spreadsheet often ends in a tab), NULL when nothing is left. Trimming copies every value;
-- a value of ASCII characters only (as many bytes as characters) whose first character is
-- none of those (it sorts at or after '!') nor '=' (compared as a string, which costs less
-- than starts_with), and whose last is not one of the four ASCII ones, is already trimmed and
-- is taken as it is, at a fraction of the cost. The cases are branches of one CASE, not macros
-- around one another: DuckDB copies a macro's argument into every place the macro uses it, and
-- nested, they computed each value a dozen times over (0.4 s a national file).
-- Text saved on a Mac may spell "å" as "a" and a combining ring (NFD): it looks the same and
-- compares different, so such text is composed (NFC) before it is checked against a list
-- (a program, an indicator, a header). Only text with a combining mark pays for that.
CREATE OR REPLACE TEMP MACRO composed_text(t) AS
    CASE WHEN regexp_matches(t, '[\x{0300}-\x{036F}]') THEN nfc_normalize(t) ELSE t END;
CREATE OR REPLACE TEMP MACRO delivered_text(s) AS nullif(
    CASE
        WHEN strlen(s) = length(s) AND (s >= '>' OR (s >= '!' AND s < '='))
            AND NOT (ends_with(s, ' ') OR ends_with(s, chr(9)) OR ends_with(s, chr(10)) OR ends_with(s, chr(13)))
            THEN s
        -- ="..." is Excel's way of keeping a number as text (leading zeros and all): the text inside is the value.
        WHEN starts_with(s, '="') AND ends_with(s, '"') AND strlen(s) >= 3 THEN s[3:-2]
        -- trim() takes the Unicode spaces; a tab or a line break (also the Unicode line and paragraph
        -- separators) at either end takes a regular expression.
        WHEN starts_with(s, chr(9)) OR starts_with(s, chr(10)) OR starts_with(s, chr(13))
            OR ends_with(s, chr(9)) OR ends_with(s, chr(10)) OR ends_with(s, chr(13))
            OR starts_with(s, chr(8232)) OR starts_with(s, chr(8233)) OR ends_with(s, chr(8232))
            OR ends_with(s, chr(8233))
            THEN composed_text(regexp_replace(s, '^[\t\n\r\p{Z}]+|[\t\n\r\p{Z}]+$', '', 'g'))
        ELSE composed_text(trim(s))
    END, ''
);
-- Numbers arrive as "1234", "1 234,5", "1234.5", "1.234,5" or, in comma files, "1,234.5".
-- Spaces (also the no-break, figure, thin and narrow no-break spaces that locales and word
-- processors put between thousands) and apostrophes are thousands separators; of ',' and '.', the
-- last one is the decimal mark. Where that is ambiguous, the column's marks decide (see
-- ingest/number_marks.py): "1,234" is thousands where commas group thousands, "1.234" where dots do.
CREATE OR REPLACE TEMP MACRO parse_clean_number(s, comma_groups_thousands, dot_groups_thousands) AS (
    CASE
        WHEN s IS NULL OR s = '' THEN NULL
        WHEN regexp_full_match(s, '-?\d{1,3}(\.\d{3})+') AND dot_groups_thousands
            THEN TRY_CAST(replace(s, '.', '') AS DOUBLE)
        WHEN regexp_full_match(s, '-?\d+(\.\d+)?') THEN TRY_CAST(s AS DOUBLE)
        WHEN regexp_full_match(s, '-?\d{1,3}(,\d{3})+') AND comma_groups_thousands
            THEN TRY_CAST(replace(s, ',', '') AS DOUBLE)
        WHEN regexp_full_match(s, '-?\d+,\d+') THEN TRY_CAST(replace(s, ',', '.') AS DOUBLE)
        WHEN regexp_full_match(s, '-?\d{1,3}(\.\d{3})+(,\d+)?')
            THEN TRY_CAST(replace(replace(s, '.', ''), ',', '.') AS DOUBLE)
        WHEN regexp_full_match(s, '-?\d{1,3}(,\d{3})+(\.\d+)?')
            THEN TRY_CAST(replace(s, ',', '') AS DOUBLE)
    END
);
-- The number's text without thousands spaces and apostrophes; a minus sign may arrive as the
-- typographic minus or a dash a word processor put in.
CREATE OR REPLACE TEMP MACRO clean_number_text(raw) AS regexp_replace(
    regexp_replace(trim(raw), '[\s\x{00a0}\x{2007}\x{2009}\x{202f}'']', '', 'g'), '^[""" + DASHES_SQL + r"""]', '-'
);
CREATE OR REPLACE TEMP MACRO parse_number(raw, comma_groups_thousands, dot_groups_thousands) AS
    parse_clean_number(clean_number_text(raw), comma_groups_thousands, dot_groups_thousands);
-- A number whose comma can only be a decimal mark in a comma file ("0,5", "0,500", "1234,5",
-- "1 234,5", "1.234,5"); "4,500" could be either.
CREATE OR REPLACE TEMP MACRO writes_decimal_comma(raw) AS contains(raw, ',') AND regexp_full_match(
    clean_number_text(raw), '-?(0,\d+|\d{4,},\d+|\d{1,3},(\d{1,2}|\d{4,})|\d{1,3}(\.\d{3})+,\d+)'
);
-- A number only the English way reads: commas between groups of thousands and a decimal point
-- ("1,234.5"), or more than one group ("1,234,567"). Asked of every value of a column that
-- writes decimal commas, so the pattern is tried only on values with a comma and a point or two
-- commas: tried on every "3,5" of a national delivery, it cost 10 s a night.
CREATE OR REPLACE TEMP MACRO writes_english_number(raw) AS contains(raw, ',')
    AND (contains(raw, '.') OR raw LIKE '%,%,%')
    AND regexp_full_match(clean_number_text(raw), '-?\d{1,3}(,\d{3})+\.\d+|-?\d{1,3}(,\d{3}){2,}');
-- A number written the continental way: a decimal comma (any comma between digits where the
-- comma is no delimiter), or dots between groups of thousands ("1.234.567").
CREATE OR REPLACE TEMP MACRO writes_continental_number(raw, comma_delimited) AS
    (contains(raw, ',') OR contains(raw, '.')) AND (
        CASE WHEN comma_delimited THEN writes_decimal_comma(raw)
            ELSE regexp_full_match(clean_number_text(raw), '-?[0-9.]*[0-9],[0-9]+') END
        OR regexp_full_match(clean_number_text(raw), '-?\d{1,3}(\.\d{3}){2,}(,\d+)?')
    );
"""

_PROBLEMS = {
    Kind.YEAR: ("year", "is not a four-digit year (YYYY); write the year as e.g. 2019"),
    Kind.INTEGER: ("whole_number", "is not a whole number; write digits only, e.g. 1234"),
    Kind.NUMBER: ("number", "is not a number; use digits with a decimal comma or point, e.g. 1234,5"),
    Kind.DATE: ("iso_date", "is not an ISO date; write it as YYYY-MM-DD"),
    Kind.GENDER: ("gender", "is not 'kvinna', 'man' or empty (nor K, M, kvinnor or män); use one of those"),
    Kind.PUBLISHED_TEXT: ("number_in_published_text",
                          "holds what looks like an organisation or personal identity number, and this column is "
                          "published as delivered (the indicator report, the Tillväxtverket extract, the cohort "
                          "report); remove the number and deliver the file again"),
}


def sql_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def raw_columns(source: Source) -> list[tuple[str, str]]:
    """The typed columns of ``raw.<source>`` (without lineage), as (name, SQL type)."""
    columns: list[tuple[str, str]] = []
    for column in source.columns:
        if column.kind is Kind.ORGNR:
            columns += [("firm_key", "VARCHAR"), ("org_nr", "VARCHAR"), ("is_sole_trader", "BOOLEAN")]
        else:
            columns.append((column.name, _SQL_TYPES[column.kind]))
    return columns


_SQL_TYPES = {
    Kind.YEAR: "INTEGER",
    Kind.INTEGER: "BIGINT",
    Kind.NUMBER: "DOUBLE",
    Kind.DATE: "DATE",
    Kind.TEXT: "VARCHAR",
    Kind.PUBLISHED_TEXT: "VARCHAR",
    Kind.KEYWORD: "VARCHAR",
    Kind.LABEL: "VARCHAR",
    Kind.CODE: "VARCHAR",
    Kind.GENDER: "VARCHAR",
}

# Quarantined values of these rules may be organisation numbers, i.e. personal numbers: they
# stay in the working database, and every text for others shows '[redacted]' instead.
IDENTIFYING_RULES = ("organisation_number", "csv_structure", "number_in_published_text")


# Ten or twelve digits, in any form an organisation number is read in, not part of a longer run of digits: what
# may be an organisation or personal number wherever it was delivered (a row shifted one column, a header that
# names the columns in the wrong order). normalise() reads the digits through dashes, plusses and spaces of any
# kind wherever they stand ("85 03 12-1231", "1985-03-12-1231", a tab between the parts), so any of those may
# stand between any two digits here; so may an underscore, which a file name has for a space.
_NUMBER_SEPARATORS = r"[\s\p{Z}_+\-" + DASHES_SQL + r"]*"
_NUMBER_LIKE = (r"(^|[^0-9])([0-9](?:" + _NUMBER_SEPARATORS + r"[0-9]){9}(?:" + _NUMBER_SEPARATORS + r"[0-9]"
                + _NUMBER_SEPARATORS + r"[0-9])?)([^0-9]|$)")


def redact_number_like_sql(text: str) -> str:
    """SQL for ``text`` with everything that looks like an organisation or personal number as '[redacted]'.

    Applied twice: a match takes the character after it, so a number right after another
    (``5590001300;5590001318``) is only found on the second pass. The invisible characters an
    organisation number is read through (a zero-width space inside it) go first.
    """
    visible = f"regexp_replace({text}, '[{INVISIBLE_SQL}]', '', 'g')"
    once = f"regexp_replace({visible}, '{_NUMBER_LIKE}', '\\1[redacted]\\3', 'g')"
    return f"regexp_replace({once}, '{_NUMBER_LIKE}', '\\1[redacted]\\3', 'g')"


def redact_number_like(text: str) -> str:
    """``text`` with everything that looks like an organisation or personal number as '[redacted]',
    as the published file shows it (the same SQL, so Python and the published file agree)."""
    return duckdb.execute(f"SELECT {redact_number_like_sql('?')}", [text]).fetchone()[0]


def redacted_message_sql(error: str, of_a_person: str = "false") -> str:
    """SQL for the message of the error struct ``error``, without its value when that may identify
    a person: the rule's value is an organisation number, or ``of_a_person`` (SQL) says the row is
    a sole trader's, whose values (a name typed in another column) may name them."""
    rules = ", ".join(sql_literal(rule) for rule in IDENTIFYING_RULES)
    quoted = f"'value ''' || {error}.value || ''''"
    return (f"CASE WHEN {error}.value IS NULL THEN {error}.message "
            f"WHEN {error}.rule IN ({rules}) THEN replace({error}.message, {error}.value, '[redacted]') "
            f"WHEN {of_a_person} THEN replace({error}.message, {quoted}, 'value ''[redacted]''') "
            f"ELSE {error}.message END")


# An ISO date, perhaps with a time of day.
_DATE_FORM = r"\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?"
# What Excel shows for a date cell holding 0 or left empty in a formula: no date anyone meant.
EXCEL_ZERO_DATES = "('1899-12-30', '1899-12-31', '1900-01-00')"
_EXCEL_ZERO_DATE_PROBLEM = ("is what Excel shows for an empty date cell (the number 0 as a date), not a real date; "
                            "fill in the date")
_DATE_FOR_YEAR_PROBLEM = ("is a date, not a year (a cell formatted as a date shows one); write the year alone, "
                          "e.g. 2019")
_NO_SUCH_DATE_PROBLEM = "is written as a date but no such date or time exists; correct it (YYYY-MM-DD)"
_TOO_MANY_DIGITS_PROBLEM = ("has more than 18 digits, more than any count can be (perhaps two values ran "
                            "together); correct it")
_TWO_READINGS_PROBLEM = ("could group thousands or mark decimals, and this column writes numbers both the "
                         "English way (1,234.5) and the continental way (1.234,5 or 0,5); write its numbers one way, "
                         "or without thousands separators, and deliver the file again")
_SCIENTIFIC_PROBLEM = ("is in scientific notation, as Excel writes a number too wide for its cell, rounded; format "
                       "the column as a number, export again and deliver the file again")

LINEAGE_COLUMNS = [("_source_file", "VARCHAR"), ("_line", "INTEGER"), ("_load_id", "VARCHAR")]


def _typed_values(column: Column, x: str, marks: NumberMarks) -> list[tuple[str, str, bool]]:
    """(output column, value expression, whether it can fail) for one contract column.

    ``x`` is the trimmed text, NULL when empty. A value that can fail fails when ``x`` is
    not empty but the value is NULL; empty required values are handled by the caller.
    """
    kind = column.kind
    if kind is Kind.ORGNR:
        return [
            ("firm_key", "orgnr.firm_key", True),
            ("org_nr", "orgnr.org_nr", False),
            ("is_sole_trader", "orgnr.is_sole_trader", False),
        ]
    if kind is Kind.YEAR:
        # "2019,0" or "2019.0": a year in a cell formatted as a number with decimals.
        value = (rf"CASE WHEN regexp_full_match({x}, '\d{{4}}') THEN CAST({x} AS INTEGER) "
                 rf"WHEN regexp_full_match({x}, '\d{{4}}[.,]0+') THEN CAST(left({x}, 4) AS INTEGER) END")
    elif kind is Kind.INTEGER:
        number = number_sql(x, marks)
        # TRY_CAST: a whole number beyond BIGINT (19 digits and more) is a failing value, not a failed night.
        value = f"CASE WHEN {number} = floor({number}) THEN TRY_CAST({number} AS BIGINT) END"
    elif kind is Kind.NUMBER:
        value = number_sql(x, marks)
    elif kind is Kind.DATE:
        # A date with a time of day (an Excel date cell with one, a system's timestamp) is that date.
        # Excel's empty dates: 1899-12-30 and -31 are dates, so they are turned away here (1900-01-00 is none).
        value = (rf"CASE WHEN starts_with({x}, '1899-12-3') THEN NULL "
                 rf"WHEN regexp_full_match({x}, '\d{{4}}-\d{{2}}-\d{{2}}') THEN TRY_CAST({x} AS DATE) "
                 rf"WHEN regexp_full_match({x}, '{_DATE_FORM}') THEN CAST(TRY_CAST({x} AS TIMESTAMP) AS DATE) END")
    elif kind is Kind.PUBLISHED_TEXT:
        # Text analysts, Tillväxtverket and the report's readers see as delivered: a personal number in it
        # (a contact person's, typed into an indicator's name) would be published.
        value = (f"CASE WHEN regexp_matches(regexp_replace({x}, '[{INVISIBLE_SQL}]', '', 'g'), '{_NUMBER_LIKE}') "
                 f"THEN NULL ELSE {x} END")
    elif kind is Kind.GENDER:
        # The short forms and plurals a list kept by hand uses mean the same.
        value = (f"CASE WHEN lower({x}) IN ('kvinna', 'k', 'kvinnor') THEN 'kvinna' "
                 f"WHEN lower({x}) IN ('man', 'm', 'män') THEN 'man' END")
    elif kind is Kind.CODE and column.digits:
        # Digits only and too few: a CSV saved from Excel lost the leading zeros as a workbook's
        # number cell does (SNI 01110 as 1110, Stockholm's 0180 as 180), and gets them back.
        padded = rf"CASE WHEN strlen({x}) < {column.digits} AND regexp_full_match({x}, '\d+') "
        return [(column.name, padded + f"THEN lpad({x}, {column.digits}, '0') ELSE upper({x}) END", False)]
    elif kind is Kind.CODE:
        return [(column.name, f"upper({x})", False)]
    elif kind is Kind.KEYWORD:  # "Storleksklass" and "ålder" are the contract's storleksklass and alder
        return [(column.name, f"lower(strip_accents({x}))", False)]
    elif kind is Kind.LABEL:
        return [(column.name, f"regexp_replace({x}, '[{DASHES_SQL}]', '-', 'g')", False)]
    else:
        return [(column.name, x, False)]
    return [(column.name, value, True)]


def typed_select(source: Source, delivery_table: str, headers: dict[str, str], marks: dict[str, NumberMarks],
                 file_label: str) -> str:
    """SELECT of typed values plus ``_errors``, a list of failure structs (empty when clean).

    An inner query computes each value once (as ``_value_<column>``, beside the trimmed
    texts); the outer one checks them, and builds the error list only for rows that fail.
    """
    trimmed = ", ".join(f"delivered_text(d.{c}) AS {c}" for c in headers)
    values: list[str] = []
    outputs: list[str] = ["v._line"]
    errors: list[tuple[str, str]] = []  # (condition, error struct)
    for column in source.columns:
        present = column.name in headers
        x = f"t.{column.name}" if present else "CAST(NULL AS VARCHAR)"
        text = f"v.{column.name}"
        header = headers.get(column.name, column.headers[0])
        for name, value, can_fail in _typed_values(column, x, marks.get(column.name, NumberMarks())):
            values.append(f"{value} AS _value_{name}")
            outputs.append(f"v._value_{name} AS {name}")
            if can_fail and present:  # an absent column's NULL cannot fail
                if column.kind is Kind.ORGNR:
                    problem = "coalesce(v._orgnr_error, 'could not be checked; deliver it again')"
                    rule = "organisation_number"
                else:
                    rule = _PROBLEMS[column.kind][0]
                    problem = _problem_sql(column.kind, text, marks.get(column.name, NumberMarks()))
                condition = f"({text} IS NOT NULL AND v._value_{name} IS NULL)"
                errors.append((condition, _error_struct(condition, header, text, rule, problem, file_label)))
        if present and not column.nullable:
            condition = f"{text} IS NULL"
            problem = sql_literal("is empty, but the column is required; fill it in and deliver the file again")
            errors.append((condition, _error_struct(condition, header, text, "required_value", problem, file_label)))
    orgnr_join = ""
    orgnr_column = next((c for c in source.columns if c.kind is Kind.ORGNR), None)
    if orgnr_column is not None:
        values.append("orgnr.error AS _orgnr_error")
        orgnr_join = f"LEFT JOIN orgnr_lookup orgnr ON orgnr.raw_value = t.{orgnr_column.name}"
    error_list = "[]"
    if errors:
        any_failure = " OR ".join(condition for condition, _ in errors)
        structs = ", ".join(struct for _, struct in errors)
        error_list = f"CASE WHEN {any_failure} THEN list_filter([{structs}], e -> e IS NOT NULL) ELSE [] END"
    return f"""
        SELECT {", ".join(outputs)}, {error_list} AS _errors
        FROM (
            SELECT t.*, {", ".join(values)}
            FROM (SELECT d._line, {trimmed} FROM {delivery_table} d) t
            {orgnr_join}
        ) v
    """


def _problem_sql(kind: Kind, text: str, marks: NumberMarks) -> str:
    """SQL for what is wrong with the value ``text`` of a column of ``kind`` that failed to parse."""
    problem = sql_literal(_PROBLEMS[kind][1])
    if kind is Kind.DATE:
        return (f"CASE WHEN left({text}, 10) IN {EXCEL_ZERO_DATES} THEN {sql_literal(_EXCEL_ZERO_DATE_PROBLEM)} "
                rf"WHEN regexp_full_match({text}, '{_DATE_FORM}') THEN {sql_literal(_NO_SUCH_DATE_PROBLEM)} "
                f"ELSE {problem} END")
    if kind is Kind.YEAR:
        return (rf"CASE WHEN regexp_full_match({text}, '{_DATE_FORM}') THEN {sql_literal(_DATE_FOR_YEAR_PROBLEM)} "
                f"ELSE {problem} END")
    if kind in (Kind.NUMBER, Kind.INTEGER):
        too_many_digits = ""
        if kind is Kind.INTEGER:
            too_many_digits = (f"WHEN strlen(regexp_replace({text}, '[^0-9]', '', 'g')) > 18 "
                               f"THEN {sql_literal(_TOO_MANY_DIGITS_PROBLEM)} ")
        two_readings = ""
        if marks.both_ways:
            two_readings = (f"WHEN regexp_full_match(clean_number_text({text}), '{AMBIGUOUS_NUMBER}') "
                            f"THEN {sql_literal(_TWO_READINGS_PROBLEM)} ")
        return (rf"CASE WHEN regexp_matches({text}, '^-?[0-9]+([.,][0-9]+)?[eE][+-]?[0-9]+$') "
                f"THEN {sql_literal(_SCIENTIFIC_PROBLEM)} {too_many_digits}{two_readings}ELSE {problem} END")
    return problem


def _error_struct(condition: str, header: str, x: str, rule: str, problem: str, file_label: str) -> str:
    message = quarantine_message(file_label, "v._line", sql_literal(header), x, problem)
    return (
        f"CASE WHEN {condition} THEN struct_pack(column_name := {sql_literal(header)}, "
        f"value := {x}, rule := {sql_literal(rule)}, message := {message}) END"
    )


def quarantine_message(file_label: str, line: str, column: str, value: str, problem: str) -> str:
    """SQL for "<file>, line N, column 'X': value 'v' <problem>" (the arguments are SQL)."""
    return (
        f"{sql_literal(file_label + ', line ')} || {line} || ', column ''' || {column} || ''': ' "
        f"|| coalesce('value ''' || {value} || '''', 'the value') || ' ' || {problem}"
    )
