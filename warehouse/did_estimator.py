"""Callaway & Sant'Anna (2021) group-time effects without covariates, in closed form with numpy.

What R's ``did`` computes for ``att_gt(xformla = ~1, est_method = "reg", control_group =
"nevertreated", base_period = "universal")`` on a balanced panel, followed by
``aggte(type = "dynamic")`` with analytic standard errors. Without covariates the outcome
regression is an intercept, so each ATT(g, t) is a difference in mean changes, and the
influence functions have closed forms; no regression is fitted per cell. (moderndid, the Python
port of ``did``, fits a statsmodels GLM per cell: half a minute per night at national scale for
the same numbers. tests/test_did_estimator.py holds this module to R's published example and
to moderndid.)

For group g (first treatment year), year t and base year b = g - 1, with n units in the panel:

- ATT(g, t) = mean over group g of (y_t - y_b) - mean over never-treated units of (y_t - y_b);
  ATT(g, g - 1) = 0 by construction;
- influence function of unit i: n * (1[G_i = g] (dy_i - mean_g) / n_g - 1[G_i = 0] (dy_i - mean_0) / n_0),
  standard error sqrt(sum(IF^2)) / n;
- event time e = t - g: the average of ATT(g, g + e) over the groups that have it, weighted by
  group size, with the extra influence of estimating those weights (R's ``wif``); the overall
  effect is the plain mean of the event-time effects for e >= 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

# R's did reports a standard error this close to zero as NA (the base-year cells).
_ZERO_SE = np.sqrt(np.finfo(float).eps) * 10


@dataclass(frozen=True)
class GroupTimeEffects:
    groups: np.ndarray  # g of each cell
    times: np.ndarray  # t of each cell
    att_gt: np.ndarray
    se_gt: np.ndarray  # NaN for the base-year cells
    influence: np.ndarray  # units x cells
    unit_groups: np.ndarray  # G of each unit (0 = never treated)


@dataclass(frozen=True)
class EventStudy:
    event_times: np.ndarray
    att_by_event: np.ndarray
    se_by_event: np.ndarray
    overall_att: float
    overall_se: float


def att_gt(panel: pd.DataFrame, outcome: str, unit: str, time: str, group: str) -> GroupTimeEffects:
    """ATT(g, t) for every group g later than the panel's first year and every year t.

    ``panel`` is balanced: one row per unit and year, every unit in every year. ``group`` is
    the unit's first treatment year, 0 for never treated. Groups treated in the first year
    have no base year and are left out; groups treated after the last year are never treated
    within the panel and join the controls: both as in R's did.
    """
    years = np.sort(panel[time].unique())
    units, unit_index = np.unique(panel[unit].to_numpy(), return_inverse=True)
    year_index = np.searchsorted(years, panel[time].to_numpy())
    if len(panel) != len(units) * len(years):
        raise ValueError(f"the panel is not balanced: {len(panel)} rows for {len(units)} units x {len(years)} years")
    wide = np.full((len(units), len(years)), np.nan)
    wide[unit_index, year_index] = panel[outcome].to_numpy(dtype=float)
    unit_groups = np.zeros(len(units), dtype=int)
    unit_groups[unit_index] = panel[group].to_numpy()
    # As R's did: units first treated after the last year are untreated throughout the panel,
    # so they count as never treated.
    unit_groups[unit_groups > years[-1]] = 0

    n = len(units)
    control = unit_groups == 0
    n_control = int(control.sum())
    cells_g, cells_t, atts, influences = [], [], [], []
    for g in np.sort(np.unique(unit_groups[unit_groups > years[0]])):
        treated = unit_groups == g
        n_treated = int(treated.sum())
        base = wide[:, np.searchsorted(years, g - 1)]
        for t_index, t in enumerate(years):
            change = wide[:, t_index] - base
            mean_treated = change[treated].mean()
            mean_control = change[control].mean()
            influence = np.zeros(n)
            influence[treated] = n * (change[treated] - mean_treated) / n_treated
            influence[control] = -n * (change[control] - mean_control) / n_control
            cells_g.append(g)
            cells_t.append(t)
            atts.append(mean_treated - mean_control)
            influences.append(influence)
    influence_matrix = np.column_stack(influences) if influences else np.zeros((n, 0))
    se = np.sqrt((influence_matrix**2).sum(axis=0)) / n
    se[se <= _ZERO_SE] = np.nan
    return GroupTimeEffects(np.array(cells_g), np.array(cells_t), np.array(atts), se, influence_matrix, unit_groups)


def event_study(effects: GroupTimeEffects, min_e: int, max_e: int) -> EventStudy:
    """The dynamic aggregate of R's aggte for event times min_e..max_e, and its overall average."""
    n = len(effects.unit_groups)
    group_share = {g: np.mean(effects.unit_groups == g) for g in np.unique(effects.groups)}
    cell_share = np.array([group_share[g] for g in effects.groups])
    event_of_cell = effects.times - effects.groups
    event_times = np.array([e for e in np.unique(event_of_cell) if min_e <= e <= max_e], dtype=int)

    atts, influences = [], []
    for e in event_times:
        cells = np.flatnonzero((event_of_cell == e) & ~np.isnan(effects.att_gt))
        shares = cell_share[cells]
        weights = shares / shares.sum()
        influence = effects.influence[:, cells] @ weights
        influence = influence + _weight_influence(effects, cells, shares) @ effects.att_gt[cells]
        atts.append(float(weights @ effects.att_gt[cells]))
        influences.append(influence)
    atts_arr = np.array(atts)
    se = np.array([np.sqrt(np.mean(i**2) / n) for i in influences])
    se[se <= _ZERO_SE] = np.nan

    post = event_times >= 0
    overall_influence = np.column_stack(influences)[:, post].mean(axis=1) if post.any() else np.zeros(n)
    overall_att = float(atts_arr[post].mean()) if post.any() else float("nan")
    return EventStudy(event_times, atts_arr, se, overall_att, float(np.sqrt(np.mean(overall_influence**2) / n)))


def _weight_influence(effects: GroupTimeEffects, cells: np.ndarray, shares: np.ndarray) -> np.ndarray:
    """R's wif: the influence of estimating the group shares that weight ``cells`` (units x cells)."""
    total = shares.sum()
    deviation = (effects.unit_groups[:, None] == effects.groups[cells][None, :]) - shares[None, :]
    return deviation / total - np.outer(deviation.sum(axis=1), shares / total**2)
