"""How one column of one delivery writes its numbers: which of ',' and '.' groups thousands.

Most numbers say it themselves ("1 234,5", "1,234.5", "1.234,5"). "4,500" and "1.234" do not:
each is a thousands separator in one convention and a decimal mark in the other. The file's
delimiter and the column's other numbers decide, as the one who wrote the file meant:

- a column that writes numbers the continental way (a decimal comma, or dots between groups
  of thousands, "1.234.567") reads "1.234" as thousands and "4,500" as four and a half;
- otherwise a comma-delimited file's column reads "4,500" as thousands, as in English, and
  any other file's as four and a half (the contract's decimal comma), with "1.234" a decimal;
- a workbook's numbers come from number cells, exact and never grouped: no marks.
"""

from __future__ import annotations

from dataclasses import dataclass

from ingest.contracts import Column, Kind, Source


@dataclass(frozen=True)
class NumberMarks:
    comma_groups_thousands: bool = False
    dot_groups_thousands: bool = False


def number_marks(delimiter: str, continental: bool) -> NumberMarks:
    """The marks of a column of a file with ``delimiter`` ("" for a workbook), given whether
    some value in it is written the continental way (``continental_number_query``)."""
    if not delimiter:
        return NumberMarks()
    if continental:
        return NumberMarks(dot_groups_thousands=True)
    return NumberMarks(comma_groups_thousands=delimiter == ",")


def continental_number_query(delivery_table: str, column: str, delimiter: str) -> str:
    """Whether some value of the column is written the continental way; it stops at the first."""
    return (f"SELECT EXISTS (SELECT 1 FROM {delivery_table} "
            f"WHERE writes_continental_number({column}, {str(delimiter == ',').lower()}))")


def number_columns(source: Source) -> list[Column]:
    return [c for c in source.columns if c.kind in (Kind.NUMBER, Kind.INTEGER)]


def number_sql(x: str, marks: NumberMarks) -> str:
    """A number from the trimmed text ``x``: plain digits with at most a decimal mark take a
    single pattern test; anything else goes through ``parse_number``, to the same result.

    Where commas group thousands only a point is a plain decimal mark; where dots do, only a comma.
    """
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
