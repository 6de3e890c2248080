"""Text as an Excel cell can hold it.

The .xlsx format has no place for the C0 control characters other than tab, line feed and
carriage return; openpyxl refuses a cell holding one (``IllegalCharacterError``). Deliveries do
carry them: a company name pasted from Word brings a vertical tab for its soft line break.
One such name must not stop a night's extract, so every writer of a workbook passes its text
through here, and writes the same text to its CSV, so that sheet and CSV agree.
"""

from __future__ import annotations

import pandas as pd
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE  # what openpyxl refuses, so the two never disagree


def excel_text(value):
    """``value`` with each character Excel cannot hold replaced by a space (a soft line break
    read as one); a value that is not text is returned as it is."""
    return ILLEGAL_CHARACTERS_RE.sub(" ", value) if isinstance(value, str) else value


def excel_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` with ``excel_text`` applied to every text value and column name."""
    cleaned = frame.rename(columns=excel_text)
    for column in cleaned.select_dtypes(include=["object", "string"]).columns:
        cleaned[column] = cleaned[column].map(excel_text)
    return cleaned
