"""Run a source's suite over one delivered file's typed rows, in bounded-memory chunks.

Rows are chunked by a hash of the natural key, so duplicates always meet in the same chunk
and the uniqueness expectation stays exact. GX reports the failing rows by their ``_line``;
the caller quarantines the rows of ``error`` rules and reports ``warn`` rules.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb
import pandas as pd

from expectations.suites import NATURAL_KEYS, ERROR, Rule, build_suite, suite_rules

CHUNK_ROWS = 500_000
# Derived columns some rules look at, computed in DuckDB before the rows reach pandas.
_DERIVED = {"bisnode": {"registration_year": "year(registration_date)"}}


@dataclass
class RuleResult:
    rule: Rule
    element_count: int = 0
    unexpected_count: int = 0
    failing: list[tuple[int, object]] = field(default_factory=list)  # (_line, value)

    @property
    def success(self) -> bool:
        return self.unexpected_count == 0


def validate_table(con: duckdb.DuckDBPyConnection, source: str, table: str, columns: list[str]) -> list[RuleResult]:
    """Validate the rows of ``table`` (typed columns and ``_line``) against ``source``'s suite."""
    rules = suite_rules(source)
    results = [RuleResult(rule) for rule in rules]
    total = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    if total == 0:
        return results
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    # GX draws a progress bar per validation; a nightly job's log has no use for them.
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    batch_definition = (
        context.data_sources.add_pandas("deliveries")
        .add_dataframe_asset(source)
        .add_batch_definition_whole_dataframe("delivery")
    )
    suite = build_suite(source)
    derived = ", ".join(f"{sql} AS {name}" for name, sql in _DERIVED.get(source, {}).items())
    select = ", ".join(["_line", *columns] + ([derived] if derived else []))
    key = ", ".join(NATURAL_KEYS[source])
    chunks = max(1, -(-total // CHUNK_ROWS))
    for chunk in range(chunks):
        frame = con.execute(
            f"SELECT {select} FROM {table} WHERE hash({key}) % {chunks} = {chunk}"
        ).df()
        if frame.empty:
            continue
        frame = frame.astype({c: "object" for c in frame.columns if str(frame[c].dtype) == "string"})
        validation = batch_definition.get_batch(batch_parameters={"dataframe": frame}).validate(
            suite, result_format={"result_format": "COMPLETE", "unexpected_index_column_names": ["_line"]}
        )
        for result, gx_result in zip(results, validation.results):
            _collect(result, gx_result, frame)
    return results


def _collect(result: RuleResult, gx_result, frame: pd.DataFrame) -> None:
    outcome = gx_result.result or {}
    result.element_count += int(outcome.get("element_count", len(frame)) or 0)
    result.unexpected_count += int(outcome.get("unexpected_count", 0) or 0)
    column = result.rule.kwargs.get("column")
    for item in outcome.get("unexpected_index_list") or []:
        line = int(item["_line"])
        value = item.get(column) if column else ", ".join(str(item.get(c)) for c in result.rule.kwargs["column_list"])
        result.failing.append((line, value))


def failing_rows(results: list[RuleResult], severity: str = ERROR) -> pd.DataFrame:
    """One row per failing (line, rule) of the given severity.

    Of rows sharing a natural key, the first line stays; the later ones fail, naming it.
    """
    rows = []
    for r in results:
        if r.rule.severity != severity:
            continue
        if r.rule.expectation == "ExpectCompoundColumnsToBeUnique":
            first: dict[object, int] = {}
            for line, value in sorted(r.failing):
                first.setdefault(value, line)
            rows += [
                (line, r.rule.column, str(value), r.rule.expectation, f"{r.rule.advice} (first seen on line {first[value]})")
                for line, value in sorted(r.failing) if line != first[value]
            ]
        else:
            rows += [(line, r.rule.column, None if v is None else str(v), r.rule.expectation, r.rule.advice) for line, v in r.failing]
    return pd.DataFrame(rows, columns=["line", "column_name", "value", "rule", "advice"])
