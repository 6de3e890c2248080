"""The counterfactual recovers the effects planted in a generated region.

A region of the default size is generated with known per-cohort effects (manifest.json) and
run through `followup run`; the matched difference-in-differences must find them, the null
cohort must show none, and the naive before/after change must be biased upwards, as the
selection of young, growing firms into the programs implies.
"""

import math

import duckdb
import pytest

from ingest.sample_region import RAMP_YEARS

FULL_RAMP = RAMP_YEARS - 1  # the first event time with the whole effect


@pytest.fixture(scope="module")
def effects(default_region_run):
    assert default_region_run["exit_code"] == 0
    with duckdb.connect(str(default_region_run["warehouse"] / "followup.duckdb"), read_only=True) as con:
        rows = con.execute(
            "SELECT program, cohort_year, event_time, effect, ci_low, ci_high, naive_change "
            "FROM marts.rpt_cohort_effects WHERE outcome = 'turnover' AND NOT is_suppressed"
        ).fetchall()
    estimates = {(p, g, e): (eff, lo, hi, naive) for p, g, e, eff, lo, hi, naive in rows}
    cohorts = default_region_run["manifest"]["cohorts"]
    truth = {(c["program"], c["cohort_year"]): c["planted_turnover_effect"] for c in cohorts}
    return estimates, truth


def planted_log_effect(effect: float, event_time: int) -> float:
    ramp = min((event_time + 1) / RAMP_YEARS, 1.0) if event_time >= 0 else 0.0
    return math.log(1 + effect * ramp)


def test_planted_effects_lie_inside_their_intervals(effects):
    estimates, truth = effects
    cells = [(key, e) for key in truth for e in range(0, 4) if (*key, e) in estimates]
    covered = [estimates[(*key, e)][1] <= planted_log_effect(truth[key], e) <= estimates[(*key, e)][2] for key, e in cells]
    assert len(cells) > 40
    # 95 % intervals: about 1 in 20 may miss by chance; far more means the estimator is off.
    assert sum(covered) / len(covered) >= 0.85
    for key, effect in truth.items():
        if effect >= 0.2:  # large effects are found where they are complete
            for e in (FULL_RAMP, FULL_RAMP + 1):
                _, low, high, _ = estimates[(*key, e)]
                assert low <= planted_log_effect(effect, e) <= high, (key, e)


def test_null_cohort_interval_covers_zero(effects):
    estimates, truth = effects
    null_cohorts = [key for key, effect in truth.items() if effect == 0]
    assert null_cohorts
    for key in null_cohorts:
        for e in range(0, 5):
            if (*key, e) in estimates:
                _, low, high, _ = estimates[(*key, e)]
                assert low <= 0 <= high, (key, e)


def test_pre_trend_is_flat_on_average(effects):
    estimates, _ = effects
    pre = [v[0] for (p, g, e), v in estimates.items() if e in (-3, -2)]
    assert abs(sum(pre) / len(pre)) < 0.03


def test_naive_change_is_biased_upwards_and_matching_removes_it(effects):
    estimates, truth = effects
    for key, effect in truth.items():
        if (*key, FULL_RAMP) not in estimates:
            continue
        matched, _, _, naive = estimates[(*key, FULL_RAMP)]
        planted = planted_log_effect(effect, FULL_RAMP)
        assert naive - planted > 0.05, key
        assert abs(matched - planted) < abs(naive - planted), key
