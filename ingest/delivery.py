"""What reading a delivered file gives, whatever its format: the header found, the rows as text,
the lines that could not be split, or the reason the whole file is refused."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path

from ingest.contracts import Source, normalise_header

# How far down a file the header row may sit (title rows above it are common in Excel).
HEADER_SEARCH_LINES = 30


class FileRejected(Exception):
    """The whole file cannot be read: nothing from it loads. The message says what to do."""

    def __init__(self, path: Path, reason: str, line: int | None = None):
        self.path = path
        self.reason = reason
        self.line = line
        where = f"{path}" + (f", line {line}" if line else "")
        super().__init__(f"{where}: {reason}")


@dataclass(frozen=True)
class MalformedRow:
    """A line the CSV parser could not split into the header's columns."""

    line: int
    column: str
    value: str
    rule: str
    message: str


@dataclass
class Delivery:
    """One landed file, read into the view ``table``."""

    path: Path
    table: str
    header_line: int
    delimiter: str  # "" for Excel
    headers: dict[str, str]  # canonical column -> header as delivered
    unknown_columns: list[str] = field(default_factory=list)
    malformed: list[MalformedRow] = field(default_factory=list)
    # The view ``<table>_columns``: the same columns without ``_line``.
    columns_view: str = ""
    # What the load's message should mention though nothing is wrong (rows Excel hides).
    notes: list[str] = field(default_factory=list)


def find_header(rows: list[list[str]], source: Source) -> tuple[int, dict[str, int], list[str]]:
    """Locate the header row: the first row naming every required column.

    Returns the row index, canonical column -> cell index, and unknown headers.
    Raises ValueError naming what is missing in the best candidate row.
    """
    best: tuple[int, int, list[str]] | None = None
    for index, cells in enumerate(rows[:HEADER_SEARCH_LINES]):
        mapping: dict[str, int] = {}
        unknown: list[str] = []
        for position, cell in enumerate(cells):
            if not str(cell or "").strip():
                continue
            column = next((c for c in source.columns if c.matches(cell)), None)
            if column is None:
                unknown.append(str(cell).strip())
            elif column.name in mapping:
                first = mapping[column.name]
                raise ValueError(
                    f"the header on line {index + 1} names the column {column.headers[0]} twice: "
                    f"'{str(cells[first]).strip()}' (column {first + 1}) and '{str(cell).strip()}' (column "
                    f"{position + 1}); keep one of them and deliver the file again"
                )
            else:
                mapping[column.name] = position
        missing = [c.headers[0] for c in source.required if c.name not in mapping]
        if not missing:
            return index, mapping, unknown
        found = len(source.required) - len(missing)
        if best is None or found > best[0]:
            best = (found, index, missing, unknown)
    if best is None or best[0] == 0:
        expected = ", ".join(c.headers[0] for c in source.required)
        raise ValueError(
            f"no header row found in the first {HEADER_SEARCH_LINES} lines; expected the "
            f"columns {expected}, separated by ';' or ','. Check the delimiter and the header"
        )
    _, index, missing, unknown = best
    raise ValueError(
        f"missing required column(s) {', '.join(missing)} in the header on line {index + 1}"
        f"{_likely_misspelt(missing, unknown, source)}; add them (names as in the landing contract) and deliver "
        "the file again"
    )


def _likely_misspelt(missing: list[str], unknown: list[str], source: Source) -> str:
    """The header's unknown names that are a few letters from a missing column's, as "(… may be … misspelt)"."""
    by_normal = {normalise_header(name): name for name in unknown}
    guesses = []
    for header in missing:
        column = next(c for c in source.columns if c.headers[0] == header)
        for alias in column.headers:
            close = difflib.get_close_matches(normalise_header(alias), list(by_normal), n=1, cutoff=0.8)
            if close:
                guesses.append(f"'{by_normal[close[0]]}' may be {header} misspelt")
                break
    return f" ({'; '.join(guesses)})" if guesses else ""
