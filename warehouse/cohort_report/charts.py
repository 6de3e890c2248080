"""The report's charts as Vega-Lite specs (altair), each titled with its n and the years it covers.

Only figures the marts show are drawn; what they hide is listed beside the chart with the
marts' reason, so a reader sees that something is missing and why.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import altair as alt
import pandas as pd

from expectations.suites import AGE_BANDS, SCB_SIZE_CLASSES
from warehouse.cohort_report.queries import ALL_COHORTS, MIN_FIRMS_SHOWN

OUTCOMES = {"turnover": "Net turnover", "employees": "Employment"}
GROUPS = {"participants": "Participants", "matched_controls": "Matched controls"}
GROUP_COLOURS = ["#1f4e79", "#d97a00"]
DIMENSIONS = {"kommun": "municipality", "sni_avdelning": "SNI section", "storleksklass": "size class",
              "alder": "age band"}
POPULATIONS = ["Participants", "County (SCB)"]
GENDERS = {"kvinna": "Led by women", "man": "Led by men", "totalt": "All firms"}
GENDER_COLOURS = ["#b2182b", "#2166ac", "#7f7f7f"]
EXPORT_MEASURES = {  # measure: (share column, denominator column)
    "Increased export turnover": ("share_increased_export_pct", "n_with_export_data"),
    "Active on a new market": ("share_with_new_market_pct", "n_with_market_data"),
    "Growing on an existing market": ("share_growing_on_existing_market_pct", "n_with_base_market_data"),
}
PANEL_WIDTH, PANEL_HEIGHT, PANEL_COLUMNS = 230, 150, 3


@dataclass(frozen=True)
class Figure:
    name: str  # file stem of the PNG and id of the chart on the page
    heading: str
    spec: dict | None  # Vega-Lite; None when the marts hide every figure of the chart
    hidden: list[str] = field(default_factory=list)  # what is hidden, and why


def _years(first: int, last: int) -> str:
    return str(first) if first == last else f"{first}–{last}"


def _titled(chart: alt.TopLevelMixin, title: str, subtitle: list[str]) -> dict:
    return chart.properties(title=alt.Title(title, subtitle=subtitle, anchor="start")).to_dict()


def indexed_outcome_figure(indexed: pd.DataFrame, outcome: str) -> Figure:
    """Per cohort, the outcome indexed to the base year over event time, participants against matched controls."""
    rows = indexed[indexed["outcome"] == outcome]
    name, label = f"{outcome}_index", OUTCOMES[outcome]
    heading = f"{label} indexed to the base year: participants against matched controls"
    hidden = [
        f"{cohort}: event times {', '.join(str(e) for e in sorted(set(group['event_time'])))} hidden ({reason})"
        for (cohort, reason), group in rows[rows["is_suppressed"]].groupby(["cohort_key", "suppression_reason"], sort=False)
    ]
    visible = rows[~rows["is_suppressed"]].copy()
    if visible.empty:
        return Figure(name, heading, None, hidden)
    # The span covers each cohort's base year, first_fiscal_year - e - 1.
    visible["span_first"] = (visible["first_fiscal_year"] - visible["event_time"] - 1).clip(upper=visible["first_fiscal_year"])
    panels = visible.groupby("cohort_key", sort=False).agg(
        n=("n_treated_matched", "max"), first_year=("span_first", "min"), last_year=("last_fiscal_year", "max"))
    panels["panel"] = [f"{cohort} · n = {p.n} · {_years(p.first_year, p.last_year)}" for cohort, p in panels.iterrows()]
    visible["panel"] = visible["cohort_key"].map(panels["panel"])
    base = visible[["panel", "comparison_group"]].drop_duplicates().assign(event_time=-1, index_value=100.0,
                                                                          ci_low=100.0, ci_high=100.0)
    data = pd.concat([visible, base], ignore_index=True)
    data["group"] = data["comparison_group"].map(GROUPS)
    data = data[["panel", "group", "event_time", "index_value", "ci_low", "ci_high", "n_firms"]]

    colour = alt.Color("group:N", scale=alt.Scale(domain=list(GROUPS.values()), range=GROUP_COLOURS),
                       legend=alt.Legend(title=None, orient="top"))
    x = alt.X("event_time:Q", title="event time e (years since intake)",
              scale=alt.Scale(domain=[-3, 5]), axis=alt.Axis(values=list(range(-3, 6)), format="d"))
    band = alt.Chart().mark_area(opacity=0.18).encode(
        x=x, y=alt.Y("ci_low:Q", title="index, base year = 100", scale=alt.Scale(zero=False)), y2="ci_high:Q", color=colour)
    line = alt.Chart().mark_line(point=True).encode(
        x=x, y="index_value:Q", color=colour,
        tooltip=["panel:N", "group:N", "event_time:Q", "index_value:Q", "ci_low:Q", "ci_high:Q", "n_firms:Q"])
    reference = alt.Chart().mark_rule(color="#999999", strokeDash=[4, 4]).encode(y=alt.datum(100))
    chart = alt.layer(band, line, reference, data=data).properties(width=PANEL_WIDTH, height=PANEL_HEIGHT).facet(
        facet=alt.Facet("panel:N", sort=list(panels["panel"]), title=None, header=alt.Header(labelFontWeight="bold")),
        columns=PANEL_COLUMNS,
    )
    everyone = panels.loc[ALL_COHORTS] if ALL_COHORTS in panels.index else None
    n_text = (f"{ALL_COHORTS}: n = {everyone.n} matched participant-cohorts" if everyone is not None
              else f"n = {panels['n'].sum()} matched participants")
    subtitle = [
        f"{n_text}; {len(panels)} of {rows['cohort_key'].nunique()} panels shown; "
        f"fiscal years {_years(panels['first_year'].min(), panels['last_year'].max())}.",
        "Base year e = -1 = 100; geometric-mean index, 100 x exp(mean log change from the base year); "
        "shaded: 95 % interval.",
    ]
    return Figure(name, heading, _titled(chart, heading, subtitle), hidden)


def representativity_figure(representativity: pd.DataFrame, dimension: str, base_years: tuple[int, int] | None) -> Figure:
    """Participants' share against the county's share per category of one dimension."""
    rows = representativity[representativity["dimension"] == dimension]
    name, label = f"representativity_{dimension}", DIMENSIONS[dimension]
    heading = f"Representativity by {label}: participants' share against the county's share"
    hidden = [
        f"{len(group)} {label} categories hidden ({reason}): {', '.join(group['label'])}"
        for reason, group in rows[rows["is_suppressed"]].groupby("suppression_reason")
    ]
    visible = rows[~rows["is_suppressed"]]
    if visible.empty:
        return Figure(name, heading, None, hidden)
    order = {"storleksklass": SCB_SIZE_CLASSES, "alder": AGE_BANDS}.get(dimension)
    if order:  # the classes in their natural order, county by county
        rank = visible["category"].map({category: i for i, category in enumerate(order)})
        labels = list(visible.assign(rank=rank).sort_values(["county_code", "rank"])["label"].drop_duplicates())
    else:
        labels = sorted(visible["label"])
    data = pd.concat([
        visible.assign(population=POPULATIONS[0], share_pct=visible["participant_share_pct"]),
        visible.assign(population=POPULATIONS[1], share_pct=visible["county_share_pct"]),
    ])[["label", "population", "share_pct", "n_participants", "difference_pp"]]
    chart = alt.Chart(data).mark_bar().encode(
        y=alt.Y("label:N", sort=labels, title=None),
        yOffset=alt.YOffset("population:N", sort=POPULATIONS),
        x=alt.X("share_pct:Q", title="share of firms (%)"),
        color=alt.Color("population:N", scale=alt.Scale(domain=POPULATIONS, range=GROUP_COLOURS),
                        legend=alt.Legend(title=None, orient="top")),
        tooltip=["label:N", "population:N", "share_pct:Q", "n_participants:Q", "difference_pp:Q"],
    ).properties(width=480, height=alt.Step(11))
    n = int(rows.groupby("county_code")["n_participants_with_category"].max().sum())
    years = f", placed in the base year of their first cohort ({_years(*base_years)})" if base_years else ""
    subtitle = [
        f"n = {n} participants (all programs){years}.",
        "County: SCB's active firms with 0-249 employees, weighted over the same base years.",
    ]
    return Figure(name, heading, _titled(chart, heading, subtitle), hidden)


def hide_totals_that_give_a_group_away(long: pd.DataFrame) -> pd.DataFrame:
    """Hide the "all firms" share wherever it and the shares shown would give a small group away
    (secondary suppression): with one gender's share hidden, all firms minus the other gender is
    the hidden one plus the firms whose leader's gender is unknown; with both shown, it is the
    unknown ones. When that group has fewer than MIN_FIRMS_SHOWN firms with the data, the total
    goes. ``long``: one row per cohort, gender and measure (share_pct, n_denominator)."""
    out = long.copy()
    out["secondary"] = False
    for (_, _, _), group in out.groupby(["program", "cohort_year", "measure"]):
        by_gender = group.set_index("leader_gender")
        if "totalt" not in by_gender.index or pd.isna(by_gender.loc["totalt", "share_pct"]):
            continue
        shown = [g for g in ("kvinna", "man") if g in by_gender.index and not pd.isna(by_gender.loc[g, "share_pct"])]
        rest = by_gender.loc["totalt", "n_denominator"] - sum(by_gender.loc[g, "n_denominator"] for g in shown)
        if 0 < rest < MIN_FIRMS_SHOWN:
            total = group.index[group["leader_gender"] == "totalt"]
            out.loc[total, ["share_pct", "secondary"]] = [None, True]
    return out


def export_outcomes_figure(exports: pd.DataFrame) -> Figure:
    """Per cohort, at its latest follow-up year: shares increasing export, on a new market, growing on an existing one."""
    name = "export_outcomes"
    heading = "Export outcomes per cohort, by the gender of the firm's leader"
    hidden = []
    # Each share is hidden on its own denominator, so a row can show some shares and hide others.
    long = hide_totals_that_give_a_group_away(pd.concat([
        exports.assign(measure=measure, share_pct=exports[share], n_denominator=exports[denominator])
        for measure, (share, denominator) in EXPORT_MEASURES.items()
    ], ignore_index=True))
    for _, row in long[long["share_pct"].isna()].iterrows():
        why = ("hidden, since with the shares shown it would give away a group of fewer than 5 firms"
               if row["secondary"] else "fewer than 5 firms with the data: share hidden")
        hidden.append(f"{row['program']} {row['cohort_year']}, {GENDERS[row['leader_gender']].lower()}, "
                      f"{row['measure'].lower()}: {why}")
    visible = long.dropna(subset=["share_pct"]).copy()
    if visible.empty:
        return Figure(name, heading, None, hidden)
    totals = exports[exports["leader_gender"] == "totalt"].set_index(["program", "cohort_year"])
    panels = {
        key: f"{key[0]} {key[1]} · n = {totals.loc[key, 'n_firms']} · {totals.loc[key, 'base_year']}→{totals.loc[key, 'followup_year']}"
        for key in visible.groupby(["program", "cohort_year"]).groups
    }
    visible["panel"] = [panels[(p, c)] for p, c in zip(visible["program"], visible["cohort_year"])]
    visible["group"] = visible["leader_gender"].map(GENDERS)
    data = visible[["panel", "measure", "group", "share_pct", "n_denominator"]]
    chart = alt.Chart(data).mark_bar().encode(
        y=alt.Y("measure:N", sort=list(EXPORT_MEASURES), title=None),
        yOffset=alt.YOffset("group:N", sort=list(GENDERS.values())),
        x=alt.X("share_pct:Q", title="share of firms (%)", scale=alt.Scale(domain=[0, 100])),
        color=alt.Color("group:N", scale=alt.Scale(domain=list(GENDERS.values()), range=GENDER_COLOURS),
                        legend=alt.Legend(title=None, orient="top")),
        tooltip=["panel:N", "measure:N", "group:N", "share_pct:Q", alt.Tooltip("n_denominator:Q", title="n firms with the data")],
    ).properties(width=PANEL_WIDTH, height=alt.Step(9)).facet(
        facet=alt.Facet("panel:N", sort=list(panels.values()), title=None, header=alt.Header(labelFontWeight="bold")),
        columns=PANEL_COLUMNS,
    )
    shown_totals = totals.loc[list(panels)]
    subtitle = [
        f"n = {int(shown_totals['n_firms'].sum())} participating firms in {len(panels)} cohorts shown; base years "
        f"{_years(shown_totals['base_year'].min(), shown_totals['base_year'].max())}, follow-up year "
        f"{_years(shown_totals['followup_year'].min(), shown_totals['followup_year'].max())} (each cohort's latest).",
        "Shares of the firms with the data; panel header: cohort · firms · base year → follow-up year.",
    ]
    return Figure(name, heading, _titled(chart, heading, subtitle), hidden)
