"""How one column of one delivery writes its numbers: which of ',' and '.' groups thousands.

Most numbers say it themselves ("1 234,5", "1,234.5", "1.234,5"). "4,500" and "1.234" do not:
each is a thousands separator in one convention and a decimal mark in the other. The file's
delimiter and the column's other numbers decide, as the one who wrote the file meant:

- a column that writes numbers the continental way (a decimal comma, or dots between groups
  of thousands, "1.234.567") reads "1.234" as thousands and "4,500" as four and a half;
- otherwise a comma-delimited file's column reads "4,500" as thousands, as in English, and
  any other file's as four and a half (the contract's decimal comma), with "1.234" a decimal;
- a column that also writes numbers the English way beyond doubt ("1,234.5", "1,234,567") reads
  them the English way when its continental look came only from "4,500"-like values (a
  semicolon file's default); when it writes both ways beyond doubt, "2,125" and "2.125" have
  two readings and fail, saying so, while the numbers that say it themselves load;
- a workbook's numbers come from number cells, exact and never grouped: no marks.
"""

from __future__ import annotations

from dataclasses import dataclass

from ingest.contracts import Column, Kind, Source


# One group of three digits after a ',' or '.': thousands in one convention, decimals in the
# other ("0,500" is decimals in both).
AMBIGUOUS_NUMBER = r"-?[1-9]\d{0,2}[.,]\d{3}"


@dataclass(frozen=True)
class NumberMarks:
    comma_groups_thousands: bool = False
    dot_groups_thousands: bool = False
    both_ways: bool = False  # "1,234.5" and "0,5" in one column: AMBIGUOUS_NUMBER has no one reading


def number_marks(delimiter: str, continental: bool, english: bool = False,
                 continental_beyond_doubt: bool = False) -> NumberMarks:
    """The marks of a column of a file with ``delimiter`` ("" for a workbook), given whether some
    value in it is written the continental way (``writes_continental_number`` for the file's
    delimiter), some the English way beyond doubt (``writes_english_number``), and some the
    continental way beyond doubt (``writes_continental_number`` as for a comma file)."""
    if not delimiter:
        return NumberMarks()
    if continental and english:
        if continental_beyond_doubt:
            return NumberMarks(both_ways=True)
        return NumberMarks(comma_groups_thousands=True)
    if continental:
        return NumberMarks(dot_groups_thousands=True)
    return NumberMarks(comma_groups_thousands=delimiter == ",")


def some_value_query(delivery_table: str, condition: str) -> str:
    """Whether some row of the delivery meets ``condition``; it stops at the first."""
    return f"SELECT EXISTS (SELECT 1 FROM {delivery_table} WHERE {condition})"


def number_columns(source: Source) -> list[Column]:
    return [c for c in source.columns if c.kind in (Kind.NUMBER, Kind.INTEGER)]


def number_sql(x: str, marks: NumberMarks) -> str:
    """A number from the trimmed text ``x``: plain digits with at most a decimal mark take a
    single pattern test; anything else goes through ``parse_number``, to the same result.

    Where commas group thousands only a point is a plain decimal mark; where dots do, only a comma.
    """
    if marks.both_ways:
        return (f"CASE WHEN regexp_full_match(clean_number_text({x}), '{AMBIGUOUS_NUMBER}') THEN NULL "
                f"ELSE parse_number({x}, false, false) END")
    if marks.comma_groups_thousands:
        plain = r"-?\d+(\.\d+)?"
    elif marks.dot_groups_thousands:
        plain = r"-?\d+(,\d+)?"
    else:
        plain = r"-?\d+([.,]\d+)?"
    arguments = f"{str(marks.comma_groups_thousands).lower()}, {str(marks.dot_groups_thousands).lower()}"
    return (
        f"CASE WHEN regexp_full_match({x}, '{plain}') THEN TRY_CAST(replace({x}, ',', '.') AS DOUBLE) "
        f"ELSE parse_number({x}, {arguments}) END"
    )
