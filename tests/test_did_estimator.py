"""warehouse.did_estimator: R's did in closed form, against R's published example and moderndid.

Two independent references: the estimates R's ``did`` prints for its own example data (mpdta,
shipped with moderndid), and moderndid itself, the Python port that fits a regression per
cell, which must agree to rounding error on every cell, event time and standard error.
"""

import warnings

import numpy as np
import pytest
from moderndid import aggte, att_gt, load_mpdta

from tests.test_staggered_att import (
    DID_README_ATT_GT,
    DID_README_DYNAMIC,
    DID_README_DYNAMIC_OVERALL,
    SE_RELATIVE_TOLERANCE,
    synthetic_panel,
)
from warehouse import did_estimator

MIN_E, MAX_E = -3, 5


def moderndid_reference(panel, outcome, unit, time, group):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cells = att_gt(data=panel, yname=outcome, tname=time, idname=unit, gname=group, est_method="reg",
                       control_group="nevertreated", base_period="universal", boot=False, cband=False)
        dynamic = aggte(cells, type="dynamic", min_e=MIN_E, max_e=MAX_E, boot=False, cband=False, na_rm=True)
    return cells, dynamic


@pytest.fixture(scope="module")
def mpdta():
    return load_mpdta().to_pandas()


def test_matches_r_did_on_its_published_example(mpdta):
    """The README of R's did, to 4 decimals; analytic errors against its bootstrap errors.

    The README uses R's default varying base period, which differs from our universal one only
    before treatment, so the comparison is of every cell and event time from treatment on.
    """
    cells = did_estimator.att_gt(mpdta, "lemp", unit="countyreal", time="year", group="first.treat")
    found = {(int(g), int(t)): (a, s) for g, t, a, s in zip(cells.groups, cells.times, cells.att_gt, cells.se_gt)}
    treated_cells = {cell for cell in DID_README_ATT_GT if cell[1] >= cell[0]}
    assert len(treated_cells) == 7 and treated_cells <= set(found)
    for cell in treated_cells:
        att, se = found[cell]
        assert round(att, 4) == DID_README_ATT_GT[cell][0], cell
        assert se == pytest.approx(DID_README_ATT_GT[cell][1], rel=SE_RELATIVE_TOLERANCE), cell

    dynamic = did_estimator.event_study(cells, MIN_E, MAX_E)
    assert sorted(dynamic.event_times) == sorted(DID_README_DYNAMIC)
    for e, att, se in zip(dynamic.event_times, dynamic.att_by_event, dynamic.se_by_event):
        if e >= 0:
            assert round(att, 4) == DID_README_DYNAMIC[int(e)][0], e
            assert se == pytest.approx(DID_README_DYNAMIC[int(e)][1], rel=SE_RELATIVE_TOLERANCE), e
    assert round(dynamic.overall_att, 4) == DID_README_DYNAMIC_OVERALL[0]
    assert dynamic.overall_se == pytest.approx(DID_README_DYNAMIC_OVERALL[1], rel=SE_RELATIVE_TOLERANCE)


def panel_with_late_and_uneven_groups():
    """The synthetic panel, with groups of other sizes and groups first treated after the last year."""
    panel = synthetic_panel(seed=11)
    reassigned = {range(1, 14): 2013, range(100, 108): 2021, range(108, 121): 2024}
    for firms, year in reassigned.items():
        panel.loc[panel["firm_id"].isin(firms), "first_intake_year"] = year
    return panel


@pytest.mark.parametrize("case", ["mpdta", "synthetic"])
def test_equals_moderndid_on_every_cell_event_time_and_error(case, mpdta):
    if case == "mpdta":
        panel, columns = mpdta, ("lemp", "countyreal", "year", "first.treat")
    else:
        panel, columns = panel_with_late_and_uneven_groups(), ("turnover", "firm_id", "fiscal_year", "first_intake_year")
    reference_cells, reference_dynamic = moderndid_reference(panel, *columns)
    outcome, unit, time, group = columns
    cells = did_estimator.att_gt(panel, outcome, unit=unit, time=time, group=group)
    dynamic = did_estimator.event_study(cells, MIN_E, MAX_E)

    np.testing.assert_array_equal(cells.groups, np.asarray(reference_cells.groups))
    np.testing.assert_array_equal(cells.times, np.asarray(reference_cells.times))
    np.testing.assert_allclose(cells.att_gt, np.asarray(reference_cells.att_gt), rtol=0, atol=1e-12)
    np.testing.assert_allclose(cells.se_gt, np.asarray(reference_cells.se_gt), rtol=0, atol=1e-12)
    np.testing.assert_array_equal(dynamic.event_times, np.asarray(reference_dynamic.event_times))
    np.testing.assert_allclose(dynamic.att_by_event, np.asarray(reference_dynamic.att_by_event), rtol=0, atol=1e-12)
    np.testing.assert_allclose(dynamic.se_by_event, np.asarray(reference_dynamic.se_by_event), rtol=0, atol=1e-12)
    assert dynamic.overall_att == pytest.approx(reference_dynamic.overall_att, abs=1e-12)
    assert dynamic.overall_se == pytest.approx(reference_dynamic.overall_se, abs=1e-12)


def test_an_unbalanced_panel_is_refused():
    panel = synthetic_panel().iloc[1:]
    with pytest.raises(ValueError, match="not balanced"):
        did_estimator.att_gt(panel, "turnover", unit="firm_id", time="fiscal_year", group="first_intake_year")
