"""A header repeated below the first one: two exports pasted into one file.

Its line fails every column's rule, and would be quarantined with a message per column ("'Kohort'
is not a four-digit year") that hides what it is. Worse, when the second export names the
columns in another order, the rows below it load under the first header's columns: women's
figures as men's, export turnover as turnover, and nothing else notices. So a repeated header
in the same order is quarantined as such, and one in another order rejects the file.
"""

from __future__ import annotations

import duckdb

from ingest.contracts import Source
from ingest.delivery import Delivery, FileRejected

# Lines looked at: those whose year (every source has one) failed on a text without a digit, as
# a header's does. More than this are no pasted exports.
_MAX_CANDIDATES = 1000
RULE = "repeated_header"


def check_repeated_headers(con: duckdb.DuckDBPyConnection, source: Source, delivery: Delivery, typed: str,
                           label: str) -> None:
    """Quarantine each line of ``typed`` that repeats the header in its order, with that reason;
    raise FileRejected when one names the columns in another order."""
    lines = [line for (line,) in con.execute(
        f"SELECT _line FROM {typed} WHERE len(_errors) > 0 AND len(list_filter(_errors, e -> e.rule = 'year' "
        f"AND NOT regexp_matches(e.value, '[0-9]'))) > 0 ORDER BY _line LIMIT {_MAX_CANDIDATES}"
    ).fetchall()]
    if not lines:
        return
    columns = list(delivery.headers)
    candidates = con.execute(
        f"SELECT _line, {', '.join(columns)} FROM {delivery.table} WHERE list_contains(?, _line) ORDER BY _line",
        [lines],
    ).fetchall()
    by_name = {c.name: c for c in source.columns}
    in_order = []
    for line, *cells in candidates:
        at = dict(zip(columns, cells))
        if all(at[c] and by_name[c].matches(at[c]) for c in columns):
            in_order.append(line)
            continue
        named = {c.name for text in cells if text for c in source.columns if c.matches(text)}
        if all(c.name in named for c in source.required):
            moved = next(c for c in columns if not (at[c] and by_name[c].matches(at[c])))
            raise FileRejected(
                delivery.path,
                f"the line repeats the header with the columns in another order (where the header on line "
                f"{delivery.header_line} has '{delivery.headers[moved]}', it has '{(at[moved] or '').strip()}'), as "
                "when two exports are pasted into one file: the rows below it would be read under the wrong "
                "columns. Deliver the parts as separate files, or put their columns in one order",
                line=line,
            )
    if in_order:
        con.execute(
            f"UPDATE {typed} SET _errors = [struct_pack(column_name := ?, value := CAST(NULL AS VARCHAR), "
            f"rule := '{RULE}', message := ? || _line || ?)] WHERE list_contains(?, _line)",
            [first := delivery.headers[columns[0]], f"{label}, line ",
             f", column '{first}': the line repeats the header (two exports pasted into one file?); it holds no "
             "data, and the rows around it were read", in_order],
        )
