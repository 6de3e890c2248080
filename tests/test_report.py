"""The nightly cohort report: it draws offline in Chromium, its PNGs exist, its numbers tie out.

The figures the page shows are read back from the Vega-Lite specs embedded in it and checked
against plain pandas on the landing files (tests/independent.py and the matched
difference-in-differences below, which shares no code with the SQL).
"""

import json
import re
import struct
from html.parser import HTMLParser
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
import vl_convert
from playwright.sync_api import sync_playwright

from tests.conftest import run_cli
from tests.independent import cohort_summary, county_size_class_shares, firm_years, memberships, participant_kommun_counts
from warehouse.cohort_report import REPORT_NAME
from warehouse.cohort_report.page import VEGA_LITE_VERSION, javascript_bundle

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
SEEDS = Path(__file__).resolve().parents[1] / "dbt_project" / "seeds"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MIN_FIRMS = 5
HIDDEN = "–"


@pytest.fixture(scope="module")
def report(nightly_run) -> Path:
    """The report the nightly run wrote through its Dagster asset."""
    assert nightly_run["exit_code"] == 0
    folder = nightly_run["warehouse"] / "report" / nightly_run["night"]
    assert (folder / REPORT_NAME).exists()
    return folder


@pytest.fixture(scope="module")
def html(report) -> str:
    return (report / REPORT_NAME).read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def specs(html) -> dict:
    found = re.search(r"<script type='application/json' id='report-specs'>(.*?)</script>", html, re.S)
    return json.loads(found.group(1).replace("<\\/", "</"))


def chart_rows(spec: dict) -> pd.DataFrame:
    """The rows a chart draws (altair puts each chart's data in one named dataset)."""
    (values,) = spec["datasets"].values()
    return pd.DataFrame(values)


# --- rendering -------------------------------------------------------------------------------

def test_every_chart_draws_offline_without_errors(report, specs):
    assert len(specs) >= 6  # index charts, representativity, export outcomes on the small region
    blocked, requests, console_errors, page_errors = [], [], [], []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.route(re.compile(r"^(https?|wss?)://"), lambda route: (blocked.append(route.request.url), route.abort()))
            page.on("request", lambda request: requests.append(request.url))
            page.on("console", lambda message: console_errors.append(message.text) if message.type == "error" else None)
            page.on("pageerror", lambda error: page_errors.append(str(error)))
            page.goto((report / REPORT_NAME).as_uri())
            page.wait_for_function(f"document.body.dataset.chartsDrawn === '{len(specs)}'", timeout=60_000)
            marks = {
                name: page.eval_on_selector_all(
                    f"#chart-{name} svg g.role-mark path, #chart-{name} svg g.role-mark line", "els => els.length")
                for name in specs
            }
            containers = page.eval_on_selector_all("div.chart", "els => els.length")
            svgs = page.eval_on_selector_all("div.chart > svg, div.chart svg.marks", "els => els.length")
        finally:
            browser.close()
    assert not blocked, f"the page tried to fetch {blocked}"
    assert all(url.startswith("file://") for url in requests), requests
    assert not page_errors and not console_errors, (page_errors, console_errors)
    assert containers == svgs == len(specs)
    assert all(count > 0 for count in marks.values()), marks
    # One bar per category and population: the chart drew exactly the rows it was given.
    size_bars = marks["representativity_storleksklass"]
    assert size_bars == len(chart_rows(specs["representativity_storleksklass"]))


def test_no_address_outside_the_file(html):
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert not re.search(r"""@import|url\(\s*["']?https?:""", html)


def test_every_chart_is_also_a_png(report, specs):
    for name in specs:
        raw = (report / f"{name}.png").read_bytes()
        assert raw.startswith(PNG_SIGNATURE), name
        width, height = struct.unpack(">II", raw[16:24])  # the IHDR chunk
        assert width > 300 and height > 200 and len(raw) > 10_000, (name, width, height, len(raw))
    assert {p.stem for p in report.glob("*.png")} == set(specs)


def test_every_chart_states_its_n_and_years(specs):
    for name, spec in specs.items():
        subtitle = " ".join(spec["title"]["subtitle"])
        assert re.search(r"n = \d+", subtitle), name
        assert re.search(r"(19|20)\d\d", subtitle), name


# --- privacy ---------------------------------------------------------------------------------

def test_no_organisation_number_in_the_report(nightly_run, report, html):
    numbers = memberships(nightly_run["landing"])["org"].dropna()
    assert len(numbers) > 20
    pages = html + "".join(p.read_text(encoding="utf-8", errors="ignore") for p in report.glob("*") if p.suffix != ".png")
    for org in numbers:
        for form in (org, f"{org[:6]}-{org[6:]}"):
            assert form not in pages


# --- the numbers tie out ----------------------------------------------------------------------

def _scb_size_class(employees: pd.Series) -> pd.Series:
    rounded = np.floor(employees + 0.5)  # SQL's round: halves away from zero
    bins = [-np.inf, 0, 4, 9, 19, 49, 99, 199, 499, np.inf]
    labels = ["0", "1-4", "5-9", "10-19", "20-49", "50-99", "100-199", "200-499", "500+"]
    return pd.cut(rounded, bins=bins, labels=labels).astype(object).where(employees.notna(), "none")


def _age_band(age: pd.Series) -> pd.Series:
    bins = [-0.5, 4, 9, 14, 19, 29, 39, 50, np.inf]
    labels = ["0-4", "5-9", "10-14", "15-19", "20-29", "30-39", "40-50", ">50"]
    return pd.cut(age, bins=bins, labels=labels).astype(object).where(age >= 0, "?").fillna("?")


def _turnover_band(turnover: pd.Series) -> pd.Series:
    bins = [-np.inf, 500, 2000, 10000, 50000, np.inf]
    return pd.cut(turnover, bins=bins, labels=["<0.5m", "0.5-2m", "2-10m", "10-50m", "50m+"], right=False).astype(str)


def independent_indexed_outcomes(landing: Path) -> pd.DataFrame:
    """Matched DiD levels from the landing files: CEM strata, stratum-weighted means, analytic variance."""
    members = memberships(landing).dropna(subset=["org"])
    members["cohort_key"] = members["program"] + " " + members["cohort_year"].astype(str)
    years = firm_years(landing).dropna(subset=["org"])
    years["year"] = years["year"].astype(int)
    last_year = years["year"].max()
    latest = years.sort_values("year").groupby("org").last()
    latest["registration_year"] = pd.to_datetime(latest["Registreringsdatum"]).dt.year
    participants = set(members["org"])

    cohorts = members[["cohort_key", "cohort_year"]].drop_duplicates()
    base = years.merge(cohorts.assign(year=cohorts["cohort_year"] - 1), on="year")
    base = base[base["turnover"] > 0]
    treated = pd.MultiIndex.from_frame(members[["org", "cohort_key"]])
    base["treated"] = pd.MultiIndex.from_frame(base[["org", "cohort_key"]]).isin(treated)
    base = base[base["treated"] | ~base["org"].isin(participants)]
    attributes = latest.loc[base["org"]]
    sections = pd.read_csv(SEEDS / "sni2007_sections.csv")
    division = pd.to_numeric(base["SNI-kod"].astype(str).str[:2], errors="coerce")
    base["section"] = "?"  # the base year's, as every part of the stratum
    for s in sections.itertuples():
        base.loc[division.between(s.division_from, s.division_to), "section"] = s.sni_section
    base["stratum"] = (base["Kommunkod"].str[:2] + "|" + base["section"] + "|"
                       + _scb_size_class(base["employees"]).to_numpy() + "|"
                       + _age_band(base["year"] - attributes["registration_year"].to_numpy()).to_numpy() + "|"
                       + _turnover_band(base["turnover"]).to_numpy())

    later = years.set_index(["org", "year"])[["turnover", "employees"]]
    panels = []
    for event_time in [-3, -2, 0, 1, 2, 3, 4, 5]:
        at = base.assign(event_time=event_time, later_year=base["cohort_year"] + event_time)
        at = at[at["later_year"].between(1990, last_year)]
        values = later.reindex(pd.MultiIndex.from_arrays([at["org"], at["later_year"]]))
        turnover = values["turnover"].to_numpy()
        with np.errstate(divide="ignore", invalid="ignore"):
            turnover_change = np.where(turnover != 0, np.log(turnover) - np.log(at["turnover"].to_numpy()), np.nan)
        panels.append(at.assign(outcome="turnover", change=turnover_change))
        panels.append(at.assign(outcome="employees",
                                change=np.log1p(values["employees"].to_numpy()) - np.log1p(at["employees"].to_numpy())))
    panel = pd.concat(panels).dropna(subset=["change"])

    keys = ["cohort_key", "outcome", "event_time", "stratum"]
    treated = panel[panel["treated"]].groupby(keys)["change"].agg(n_t="count", mean_t="mean", var_t="var")
    controls = panel[~panel["treated"]].groupby(keys)["change"].agg(n_c="count", mean_c="mean", var_c="var")
    controls = controls[controls.index.isin(treated.index)]  # the strata participants occupy
    # A side of one firm takes the other side's variance, else the cell's within-stratum
    # variance pooled over every side of more firms, matched or not.
    sides = pd.concat([treated[["n_t", "var_t"]].set_axis(["n", "var"], axis=1),
                       controls[["n_c", "var_c"]].set_axis(["n", "var"], axis=1)])
    sides = sides[sides["n"] > 1]
    cell = ["cohort_key", "outcome", "event_time"]
    pooled = ((sides["n"] - 1) * sides["var"]).groupby(level=cell).sum() / (sides["n"] - 1).groupby(level=cell).sum()
    strata = treated.join(controls, how="inner").reset_index()
    cell_pooled = pd.Series(pd.MultiIndex.from_frame(strata[cell]).map(pooled), index=strata.index)
    strata["var_t"], strata["var_c"] = (strata["var_t"].fillna(strata["var_c"]).fillna(cell_pooled),
                                        strata["var_c"].fillna(strata["var_t"]).fillna(cell_pooled))
    pooled = strata.assign(cohort_key="Samtliga insatser")
    rows = []
    for (cohort, outcome, event_time), s in pd.concat([strata, pooled]).groupby(["cohort_key", "outcome", "event_time"]):
        n = s["n_t"].sum()
        for group, mean, se, n_firms in (
            ("Participants", (s["n_t"] * s["mean_t"]).sum() / n, np.sqrt((s["n_t"] * s["var_t"]).sum()) / n, n),
            ("Matched controls", (s["n_t"] * s["mean_c"]).sum() / n,
             np.sqrt((s["n_t"] ** 2 * s["var_c"] / s["n_c"]).sum()) / n, s["n_c"].sum()),
        ):
            rows.append({"cohort_key": cohort, "outcome": outcome, "event_time": event_time, "group": group,
                         "n_treated_matched": n, "n_firms": n_firms, "index_value": 100 * np.exp(mean),
                         "ci_low": 100 * np.exp(mean - 1.96 * se), "ci_high": 100 * np.exp(mean + 1.96 * se)})
    return pd.DataFrame(rows).set_index(["cohort_key", "outcome", "group", "event_time"])


@pytest.fixture(scope="module")
def expected_indexed(nightly_run) -> pd.DataFrame:
    return independent_indexed_outcomes(nightly_run["landing"])


@pytest.mark.parametrize("outcome", ["turnover", "employees"])
def test_indexed_outcomes_on_the_page_tie_out(specs, expected_indexed, outcome):
    shown = chart_rows(specs[f"{outcome}_index"])
    shown["cohort_key"] = shown["panel"].str.split(" · ").str[0]
    base = shown[shown["event_time"] == -1]
    assert (base[["index_value", "ci_low", "ci_high"]] == 100).all().all()
    shown = shown[shown["event_time"] != -1].set_index(["cohort_key", "group", "event_time"])
    expected = expected_indexed.xs(outcome, level="outcome")
    visible = expected[expected["n_treated_matched"] >= MIN_FIRMS]
    assert len(visible) > 10
    assert sorted(shown.index) == sorted(visible.index), "the page shows exactly the points resting on 5+ participants"
    for column in ("index_value", "ci_low", "ci_high"):
        assert np.allclose(shown.loc[visible.index, column], visible[column], atol=0.051), column
    assert (shown.loc[visible.index, "n_firms"] == visible["n_firms"]).all()


def test_indexed_outcomes_mart_ties_out(nightly_run, expected_indexed):
    with duckdb.connect(str(nightly_run["warehouse"] / "followup.duckdb"), read_only=True) as con:
        mart = con.execute(
            "SELECT cohort_key, outcome, comparison_group, event_time, index_value, ci_low, ci_high, n_firms, "
            "n_treated_matched, is_suppressed FROM marts.rpt_cohort_indexed_outcomes").df()
    mart["group"] = mart["comparison_group"].map({"participants": "Participants", "matched_controls": "Matched controls"})
    mart = mart.set_index(["cohort_key", "outcome", "group", "event_time"])
    assert sorted(mart.index) == sorted(expected_indexed.index)
    mart = mart.loc[expected_indexed.index]
    assert (mart["n_treated_matched"] == expected_indexed["n_treated_matched"]).all()
    assert (mart["n_firms"] == expected_indexed["n_firms"]).all()
    assert (mart["is_suppressed"] == (expected_indexed["n_treated_matched"] < MIN_FIRMS)).all()
    assert mart.loc[mart["is_suppressed"], "index_value"].isna().all()
    shown = ~mart["is_suppressed"]
    for column in ("index_value", "ci_low", "ci_high"):
        assert np.allclose(mart.loc[shown, column], expected_indexed.loc[shown, column], atol=0.051), column


def test_representativity_on_the_page_ties_out(nightly_run, specs):
    county = county_size_class_shares(nightly_run["landing"])
    sizes = chart_rows(specs["representativity_storleksklass"])
    county_bars = sizes[sizes["population"] == "County (SCB)"].set_index("label")["share_pct"]
    assert len(county_bars) >= 3
    for category, share in county_bars.items():
        assert share == pytest.approx(100 * county[category], abs=0.06), category

    counts = participant_kommun_counts(nightly_run["landing"])
    names = pd.read_csv(SEEDS / "municipalities.csv", dtype=str).set_index("municipality_code")["municipality_name"]
    kommun = chart_rows(specs["representativity_kommun"])
    participant_bars = kommun[kommun["population"] == "Participants"].set_index("label")["share_pct"]
    expected = {names[code]: 100 * n / counts.sum() for code, n in counts.items() if n >= MIN_FIRMS}
    assert set(participant_bars.index) == set(expected)
    for name, share in expected.items():
        assert participant_bars[name] == pytest.approx(share, abs=0.05), name


class _TableReader(HTMLParser):
    """The cells of the first table inside the element with the given id."""

    def __init__(self, element_id: str):
        super().__init__()
        self.element_id, self.inside, self.rows, self.cell = element_id, False, [], None

    def handle_starttag(self, tag, attrs):
        if dict(attrs).get("id") == self.element_id:
            self.inside = True
        elif self.inside and tag == "tr":
            self.rows.append([])
        elif self.inside and tag in ("td", "th"):
            self.cell = ""

    def handle_endtag(self, tag):
        if self.inside and tag in ("td", "th"):
            self.rows[-1].append(self.cell)
            self.cell = None
        elif self.inside and tag == "table":
            self.inside = False

    def handle_data(self, data):
        if self.cell is not None:
            self.cell += data


def test_key_figure_table_ties_out_and_hides_small_figures(nightly_run, html):
    reader = _TableReader("key-figures")
    reader.feed(html)
    header, *rows = reader.rows
    table = pd.DataFrame(rows, columns=header)
    # The evaluation's nine columns in its order (shared/reference/seed_cohort_table.csv).
    assert header[:9] == ["Program", "Cohort", "Firms", "Net turnover, sum (kSEK)", "Net turnover, mean (kSEK)",
                          "Employees, sum", "Employees, mean", "Change in net turnover (%)", "Change in employment (%)"]
    assert table.iloc[0]["Program"] == "Samtliga insatser"
    expected = cohort_summary(nightly_run["landing"])
    assert table.iloc[0]["Firms"] == str(expected["n_firms"].sum())
    cohorts = table.iloc[1:].set_index(["Program", "Cohort"])
    for row in expected.itertuples():
        shown = cohorts.loc[(row.program, str(row.cohort_year))]
        assert shown["Firms"] == str(row.n_firms)
        change = shown["Change in net turnover (%)"]
        if row.n_firms_turnover_change < MIN_FIRMS:
            assert change == HIDDEN, (row.program, row.cohort_year)
        else:
            assert float(change) == pytest.approx(row.turnover_change_pct, abs=0.051)
    assert (cohorts["Change in net turnover (%)"] == HIDDEN).any()


def test_data_quality_panel_lists_every_source(html):
    reader = _TableReader("last-loads")
    reader.feed(html)
    sources = {row[0] for row in reader.rows[1:]}
    assert sources == {"participants", "bisnode", "baselines", "markets", "targets"}


def test_the_script_bundle_is_kept_between_nights_and_read_back(report, tmp_path):
    assert list((report.parent / ".cache").glob("vega-bundle-*.js")), "the nightly run keeps its bundle"
    bundle = javascript_bundle(tmp_path)
    (kept,) = tmp_path.glob("vega-bundle-*.js")
    assert bundle == kept.read_text(encoding="utf-8") == vl_convert.javascript_bundle(vl_version=VEGA_LITE_VERSION)
    kept.write_text("// planted", encoding="utf-8")
    assert javascript_bundle(tmp_path) == "// planted"  # read back, not bundled again
    assert [p.name for p in tmp_path.iterdir()] == [kept.name]  # no partial file left behind


# --- the command -------------------------------------------------------------------------------

def test_report_command_writes_into_out(nightly_run, specs, tmp_path):
    assert run_cli("report", "--warehouse", str(nightly_run["warehouse"]), "--out", str(tmp_path)) == 0
    assert (tmp_path / REPORT_NAME).exists()
    assert {p.stem for p in tmp_path.glob("*.png")} == set(specs)


def test_report_without_a_published_warehouse_exits_2(tmp_path, capsys):
    assert run_cli("report", "--warehouse", str(tmp_path / "nowhere")) == 2
    assert "followup run" in capsys.readouterr().err


@pytest.mark.parametrize("cohort_turnover_firms, total_hidden", [
    ((12, 3), True),      # one hidden cohort of 3 firms: total minus the one shown is those 3 firms' figure
    ((12, 1, 2), True),   # two hidden cohorts resting on 3 firms together
    ((12, 3, 2), False),  # two hidden cohorts resting on 5 firms together: no smaller a group than the rule allows
    ((12, 3, 4), False),  # the hidden cohorts rest on 7 firms together
    ((12, 9), False),     # nothing hidden
])
def test_the_total_is_hidden_where_it_would_give_a_hidden_cohort_away(cohort_turnover_firms, total_hidden):
    from warehouse.cohort_report.page import total_figures_to_hide

    rows = [{"program": "P", "cohort_year": 2015 + i, "n_firms_with_turnover": n, "n_firms_with_employees": 20,
             "n_firms_turnover_change": 20, "n_firms_employment_change": 20} for i, n in enumerate(cohort_turnover_firms)]
    total = {"program": "Samtliga insatser", "cohort_year": None, "n_firms_with_turnover": sum(cohort_turnover_firms),
             "n_firms_with_employees": 20 * len(rows), "n_firms_turnover_change": 20 * len(rows),
             "n_firms_employment_change": 20 * len(rows)}
    hidden = total_figures_to_hide(pd.DataFrame([total, *rows]))
    assert hidden == ({"turnover_sum_tkr", "turnover_mean_tkr"} if total_hidden else set())


@pytest.mark.parametrize("women, men, total, total_hidden", [
    ((2, None), (6, 83.3), (8, 75.0), True),     # all firms minus men: the 2 women (no leader of unknown gender)
    ((2, None), (6, 83.3), (12, 75.0), False),   # minus men: 2 women and 4 unknown, 6 firms together
    ((6, 50.0), (6, 50.0), (14, 50.0), True),    # both shown: all firms minus both are the 2 of unknown gender
    ((6, 50.0), (6, 50.0), (12, 50.0), False),   # both shown, nobody else
])
def test_the_all_firms_share_is_hidden_where_it_would_give_a_small_group_away(women, men, total, total_hidden):
    from warehouse.cohort_report.charts import hide_totals_that_give_a_group_away

    long = pd.DataFrame([{"program": "P", "cohort_year": 2015, "measure": "m", "leader_gender": gender,
                          "n_denominator": n, "share_pct": share}
                         for gender, (n, share) in (("kvinna", women), ("man", men), ("totalt", total))])
    out = hide_totals_that_give_a_group_away(long).set_index("leader_gender")
    assert pd.isna(out.loc["totalt", "share_pct"]) == total_hidden
    assert out.loc["man", "share_pct"] == men[1]


def test_a_report_written_over_an_earlier_one_leaves_no_chart_it_hides(nightly_run, tmp_path):
    """A chart hidden tonight (no cohort has export data to show) must not stand beside the
    page as the earlier report's PNG."""
    import shutil

    from warehouse.cohort_report import write_cohort_report

    published = tmp_path / "followup.duckdb"
    shutil.copy(nightly_run["warehouse"] / "followup.duckdb", published)
    with duckdb.connect(str(published)) as con:
        con.execute("DELETE FROM marts.rpt_export_outcomes")
    out = tmp_path / "report"
    out.mkdir()
    (out / "export_outcomes.png").write_bytes(b"an earlier night's chart")
    files = write_cohort_report(published, out, "2026-11-29")
    assert not (out / "export_outcomes.png").exists()
    assert files.charts and all(chart.exists() for chart in files.charts)
