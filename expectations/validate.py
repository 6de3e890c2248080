"""Run a source's suite over one delivered file's typed rows, at national scale.

Rows that cannot fail a rule are not shown to GX: a value rule (range, code list, pattern)
judges a value, so GX sees each distinct value of the column once, and the verdicts are
weighted back to rows by their counts in DuckDB; the uniqueness rule can only fail on rows
whose natural key repeats, so GX sees those rows. A file of 17 million firm-years then costs
GX a few distinct values per column instead of a pandas copy of every row. The failing
values are joined back to their ``_line`` in DuckDB; the caller quarantines the rows of
``error`` rules and reports ``warn`` rules.
"""

from __future__ import annotations

import importlib
import threading
from dataclasses import dataclass, field

import duckdb
import pandas as pd

from expectations.suites import DEFAULT_COUNTIES, ERROR, Rule, build_suite, suite_rules

# Derived columns some rules look at, computed in DuckDB before the values reach GX.
_DERIVED = {
    "bisnode": {"registration_year": "year(registration_date)"},
    "baselines": {"dimension_category": "dimension || ':' || category"},
}
_UNIQUE = "ExpectCompoundColumnsToBeUnique"


_gx_import: threading.Thread | None = None


def start_importing_gx() -> None:
    """Import GX in the background while DuckDB reads the first delivery.

    The import takes about 3 s of one core, and DuckDB's reading releases the GIL; an import
    the validation then asks for waits on the same module lock, so it never sees half a module.
    """
    global _gx_import
    if _gx_import is None:
        _gx_import = threading.Thread(target=importlib.import_module, args=("great_expectations",),
                                      name="import-great-expectations", daemon=True)
        _gx_import.start()


@dataclass
class RuleResult:
    rule: Rule
    element_count: int = 0
    unexpected_count: int = 0
    failing: list[tuple[int, object]] = field(default_factory=list)  # (_line, value)

    @property
    def success(self) -> bool:
        return self.unexpected_count == 0


def validate_table(con: duckdb.DuckDBPyConnection, source: str, table: str, columns: list[str],
                   counties: tuple[str, ...] = DEFAULT_COUNTIES) -> list[RuleResult]:
    """Validate the rows of ``table`` (typed columns and ``_line``) against ``source``'s suite
    for a warehouse that covers ``counties``."""
    rules = suite_rules(source, counties=counties)
    results = [RuleResult(rule) for rule in rules]
    total = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    if total == 0:
        return results
    expressions = {**{c: c for c in columns}, **_DERIVED.get(source, {})}
    validator = _Validator(source, counties)
    value_rules: list[int] = []
    for index, rule in enumerate(rules):
        results[index].element_count = total
        if rule.expectation == _UNIQUE:
            _check_unique(con, validator, table, results[index], index)
        else:
            value_rules.append(index)
    _check_values(con, validator, table, expressions, rules, results, value_rules)
    return results


class _Validator:
    """One GX suite, validated against small pandas frames (GX is imported only when needed)."""

    def __init__(self, source: str, counties: tuple[str, ...]):
        self.source = source
        self.counties = counties
        self._batch_definition = None
        self._suite = None

    def validate(self, frame: pd.DataFrame, indices: list[int]) -> list:
        """GX's result for each of the suite's expectations at ``indices`` over ``frame``."""
        import great_expectations as gx

        if self._batch_definition is None:
            from great_expectations.data_context.types.base import ProgressBarsConfig

            context = gx.get_context(mode="ephemeral")
            # GX draws a progress bar per validation; a nightly job's log has no use for them.
            context.variables.progress_bars = ProgressBarsConfig(globally=False)
            self._batch_definition = (
                context.data_sources.add_pandas("deliveries")
                .add_dataframe_asset(self.source)
                .add_batch_definition_whole_dataframe("delivery")
            )
            self._suite = build_suite(self.source, counties=self.counties)
        suite = gx.ExpectationSuite(
            name=f"{self._suite.name}_part", expectations=[self._suite.expectations[i] for i in indices]
        )
        frame = frame.astype({c: "object" for c in frame.columns if str(frame[c].dtype) == "string"})
        validation = self._batch_definition.get_batch(batch_parameters={"dataframe": frame}).validate(
            suite, result_format={"result_format": "COMPLETE"}
        )
        results = list(validation.results)
        # Results are matched to rules by position: hold GX to the suite's order.
        for expectation, result in zip(suite.expectations, results, strict=True):
            config, column = result.expectation_config, getattr(expectation, "column", None)
            if (config.type, config.kwargs.get("column")) != (expectation.expectation_type, column):
                raise RuntimeError(f"GX returned its results out of the suite's order ({config.type} on {config.kwargs})")
        return results


def _check_values(con, validator: _Validator, table: str, expressions: dict[str, str], rules: list[Rule],
                  results: list[RuleResult], indices: list[int]) -> None:
    """Each distinct value once through GX; failing values weighted and traced back to lines.

    The columns' distinct values go to GX side by side in one frame, in one validation: a
    shorter column is padded with nulls, which value rules skip.
    """
    distinct: dict[str, pd.DataFrame] = {}
    for column in dict.fromkeys(rules[i].kwargs["column"] for i in indices):
        values = con.execute(
            f"SELECT {expressions[column]} AS {column}, count(*) AS _rows FROM {table} "
            f"WHERE {expressions[column]} IS NOT NULL GROUP BY ALL ORDER BY ALL"
        ).df()
        if not values.empty:
            distinct[column] = values
    indices = [i for i in indices if rules[i].kwargs["column"] in distinct]
    if not indices:
        return
    frame = pd.concat([values[[column]] for column, values in distinct.items()], axis=1)
    for index, gx_result in zip(indices, validator.validate(frame, indices)):
        positions = (gx_result.result or {}).get("unexpected_index_list") or []
        if not positions:
            continue
        column = rules[index].kwargs["column"]
        expression = expressions[column]
        failing = distinct[column].iloc[list(positions)]
        results[index].unexpected_count = int(failing["_rows"].sum())
        con.register("failing_values", failing[[column]])
        rows = con.execute(
            f"SELECT t._line, f.{column} FROM (SELECT _line, {expression} AS {column} FROM {table}) AS t "
            f"INNER JOIN failing_values AS f ON t.{column} = f.{column} ORDER BY t._line"
        ).fetchall()
        con.unregister("failing_values")
        results[index].failing.extend((int(line), value) for line, value in rows)


def _check_unique(con, validator: _Validator, table: str, result: RuleResult, index: int) -> None:
    """Only rows whose natural key repeats can break uniqueness; GX judges those."""
    key = result.rule.kwargs["column_list"]
    repeated = con.execute(
        f"SELECT _line, {', '.join(key)} FROM (SELECT *, count(*) OVER (PARTITION BY {', '.join(key)}) AS _n FROM {table}) "
        "WHERE _n > 1 ORDER BY _line"
    ).df()
    if repeated.empty:
        return
    (gx_result,) = validator.validate(repeated[key], [index])
    positions = (gx_result.result or {}).get("unexpected_index_list") or []
    result.unexpected_count = len(positions)
    for position in positions:
        row = repeated.iloc[position]
        result.failing.append((int(row["_line"]), ", ".join(str(row[c]) for c in key)))


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
            rows += [(line, r.rule.column, None if v is None else str(v), r.rule.expectation, _advice(r.rule, v))
                     for line, v in r.failing]
    return pd.DataFrame(rows, columns=["line", "column_name", "value", "rule", "advice"])


def _advice(rule: Rule, value: object) -> str:
    hint = rule.hint(str(value)) if rule.hint is not None and value is not None else None
    return f"{rule.advice}; {hint}" if hint else rule.advice
