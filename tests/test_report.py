"""The decision report: the HTML `lti report` writes, its refusals, and the functions behind it."""

import html
import json
import re
import shutil
import sys
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PathCollection

from toolkit.cli import main
from toolkit.config.plan import Vesting
from toolkit.experiments import run_batch
from toolkit.plans import load_plan
from toolkit.plans.ledger import AwardLedger
from toolkit.report import (
    batch_forecast,
    fan,
    liability_note,
    liability_paths,
    load_batch,
    recommend,
    recommendation_markdown,
    run_off,
)
from toolkit.report.data import ReportError
from toolkit.report.figures import frontier_figure
from toolkit.report.ranking import dominated_plans, net_value_ranking
from toolkit.report.render import (
    NOTEBOOK,
    declared_parameters,
    parse_parameters,
    python_kernel,
)
from toolkit.report.tables import ranking_of

from .conftest import SCENARIOS

PLANS = ["no_incentive", "mttr_only", "balanced_guarded"]
TITLE = "Board paper: LTI options"
SECTIONS = (
    "Recommendation",
    "Plan comparison",
    "Differences against the reference plan",
    "What each plan buys",
    "Reported against true KPIs",
    "Behaviour",
    "Award distribution",
    "Liability over the vesting horizon",
    "Liability forecast",
    "Cost by business unit",
    "Fairness",
    "Vendors",
)
THRESHOLD = 5.0  # the notebook's default gaming threshold


@pytest.fixture(scope="module")
def batch_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("batch")
    result = run_batch([str(SCENARIOS / "small.yaml")], PLANS, 2, out, workers=2, progress=False)
    assert result.failures == []
    return out


@pytest.fixture(scope="module")
def report_html(batch_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("report") / "nested" / "report.html"
    assert main(["report", str(batch_dir), "--out", str(out), "--title", TITLE]) == 0
    return out.read_text(encoding="utf-8")


@pytest.fixture
def no_execution(monkeypatch):
    """Fail the test if the notebook is executed at all."""
    import papermill

    def refuse(*args, **kwargs):
        raise AssertionError("the notebook was executed")

    monkeypatch.setattr(papermill, "execute_notebook", refuse)


def _text(page: str) -> str:
    """Visible text of an HTML page, tags and styles dropped, whitespace collapsed."""
    page = re.sub(r"<(style|script)\b.*?</\1>", " ", page, flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))


def _section(page: str, heading: str, following: str) -> str:
    start = page.index(f'id="{heading.replace(" ", "-")}"')
    return page[start : page.index(f'id="{following.replace(" ", "-")}"', start)]


def test_the_report_shows_every_section_plan_and_figure_without_code(report_html):
    assert f"<title>{html.escape(TITLE)}</title>" in report_html
    text = _text(report_html)
    assert f"{TITLE}" in text
    for plan in PLANS:
        assert plan in text
    for heading in SECTIONS:
        assert re.search(rf"<h2[^>]*>{re.escape(heading)}", report_html), heading
    images = re.findall(r'<img[^>]+src="data:image/png;base64,[A-Za-z0-9+/=]{1000,}', report_html)
    assert len(images) >= 8  # frontier, KPI gaps, behaviour, awards, liability, forecast, cost,
    # fairness
    alts = [alt for _, alt in re.findall(r"<img alt=([\"'])(.*?)\1", report_html)]
    assert len(alts) == report_html.count("<img ") and all(alts)  # every figure described
    assert "No description has been provided" not in report_html and "<script" not in report_html
    for code in ("load_batch(", "show_each(", "%matplotlib", "reference_plan ="):
        assert code not in report_html
    assert "Traceback" not in text


class Tables(HTMLParser):
    """The rows of every table of a page, as the text of their cells."""

    def __init__(self, page: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: list[list[list[str]]] = []
        self._cell: list[str] | None = None
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append([])
        elif tag == "tr" and self.tables:
            self.tables[-1].append([])
        elif tag in ("td", "th") and self.tables:
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1][-1].append(" ".join("".join(self._cell).split()))
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def _table(page: str, heading: str, following: str) -> dict[str, dict[str, str]]:
    """The first table under ``heading``: plan -> column heading -> cell text."""
    [header, *rows] = Tables(_section(page, heading, following)).tables[0]
    return {row[header.index("Plan")]: dict(zip(header, row, strict=True)) for row in rows}


def _number(text: str) -> float:
    return float(text.replace(",", "").replace("+", ""))


def test_the_report_forecasts_payments_against_the_cap_and_charges_costs_to_units(
    report_html, batch_dir
):
    batch = load_batch(batch_dir)
    summary = batch_forecast(batch)
    forecast = _section(report_html, "Liability forecast", "Cost by business unit")
    [header, *rows] = Tables(forecast).tables[0]
    assert "P(cap binds) (%)" in header and len(rows) == len(summary) > 0
    for name, column in (("Paid P50 (EUR)", "paid_p50"), ("Paid P90 (EUR)", "paid_p90")):
        shown = [_number(row[header.index(name)]) for row in rows]
        assert shown == [round(value) for value in summary[column]]
    assert "paid in all" in forecast
    units, services = Tables(_section(report_html, "Cost by business unit", "Fairness")).tables[:2]
    totals = batch.runs.groupby("plan")[["total_awards", "total_paid", "liability_end"]].mean()
    for table in (units, services):
        [header, *rows] = table
        for plan, expected in totals.iterrows():
            mine = [row for row in rows if row[header.index("Plan")] == plan]
            for name, column in (
                ("Earned awards (EUR)", "total_awards"),
                ("Paid (EUR)", "total_paid"),
                ("Owed at the horizon's end (EUR)", "liability_end"),
            ):
                charged = sum(_number(row[header.index(name)]) for row in mine)
                assert charged == pytest.approx(expected[column], abs=len(mine))  # display rounding


DESCRIBED = re.compile(
    r"net value EUR (?P<net>-?[\d,]+) against <code>no_incentive</code> \(95% interval EUR "
    r"(?P<low>-?[\d,]+) to EUR (?P<high>-?[\d,]+)\): loss avoided EUR (?P<avoided>-?[\d,]+), "
    r"value added EUR (?P<added>-?[\d,]+), extra awards EUR (?P<extra>-?[\d,]+); total awards "
    r"EUR (?P<awards>[\d,]+) \((?P<price>.*?)\), gaming index (?P<gaming>-?[\d.]+) points"
)


def test_the_vendor_section_and_the_batch_summary_read_the_batch_vendors(batch_dir, report_html):
    from toolkit.cli.batch_commands import format_vendor_summary
    from toolkit.report import vendor_results

    vendors = pd.read_parquet(batch_dir / "vendors.parquet")
    own = vendors[vendors["subcontractor_id"].isna()]
    expected = own.groupby(["plan", "vendor_id"])["credit_true"].mean()
    results = vendor_results(load_batch(batch_dir))
    got = results[results["subcontractor_id"].isna()].set_index(["plan", "vendor_id"])
    assert np.allclose(got.loc[expected.index, "credit_true"], expected)
    assert set(got.index) == set(expected.index) and (got["attainment_true"] <= 100).all()
    section = _section(report_html, "Vendors", "Definitions")
    [header, *rows] = Tables(section).tables[0]
    assert "credits forgone" in header and len(rows) == len(results)
    assert {row[header.index("vendor")] for row in rows} == set(vendors["vendor_id"])
    lines = format_vendor_summary(vendors).splitlines()
    assert len(lines) == 1 + 1 + len(results) and "cloudco/dcpower" in "\n".join(lines)


def test_the_recommendation_follows_the_ranking_of_the_tables(report_html):
    part = _section(report_html, "Recommendation", "Plan comparison")
    plans = _table(report_html, "Plan comparison", "Differences against the reference plan")
    assert set(plans) == set(PLANS)
    verdicts = {plan: row["Verdict"] for plan, row in plans.items()}
    assert verdicts["no_incentive"] == "reference"
    for plan, row in plans.items():  # the verdict is what the interval and the gaming say
        if plan == "no_incentive":
            continue
        low, high = (_number(x) for x in row["Net value, 95% interval (EUR)"][1:-1].split(", "))
        if _number(row["Gaming index (points)"]) > THRESHOLD:
            assert verdicts[plan].startswith("set aside") and row["Rank by net value"] == "–"
        elif low > 0:
            assert "beats the reference" in verdicts[plan]
        elif high < 0:
            assert verdicts[plan].startswith("falls short")
        else:
            assert verdicts[plan] == "not clear of the reference"
    ranked = sorted(
        (int(r["Rank by net value"]), p) for p, r in plans.items() if r["Rank by net value"] != "–"
    )
    values = [_number(plans[p]["Net value vs reference (EUR)"]) for _, p in ranked]
    assert values == sorted(values, reverse=True)  # ranked by net value
    recommended = [p for p, v in verdicts.items() if v.startswith("recommended")]
    chosen = re.search(r"Recommended plan: <code>(\w+)</code>", part)
    if recommended:
        assert chosen and chosen.group(1) == recommended[0]
    else:
        assert chosen is None and "No plan beats <code>no_incentive</code> on this evidence" in part


def test_the_recommendation_quotes_the_figures_of_the_tables(report_html):
    part = _section(report_html, "Recommendation", "Plan comparison")
    plans = _table(report_html, "Plan comparison", "Differences against the reference plan")
    differences = _table(
        report_html, "Differences against the reference plan", "What each plan buys"
    )
    quoted = list(DESCRIBED.finditer(part))
    assert quoted  # the best plan, and any set aside, are described with their numbers
    for found in quoted:
        before = re.findall(r"<code>(\w+)</code>", part[: found.start()])
        plan = [name for name in before if name != "no_incentive"][-1]
        row, paired = plans[plan], differences[plan]
        assert found["net"] == row["Net value vs reference (EUR)"]
        assert f"[{found['low']}, {found['high']}]" == row["Net value, 95% interval (EUR)"]
        assert found["awards"] == row["Total awards (EUR)"]
        assert found["gaming"] == row["Gaming index (points)"]
        price = row["Awards per EUR of loss avoided"]
        assert found["price"] == (
            price if price == "no loss avoided" else f"{price} in awards per EUR of loss avoided"
        )
        mean = {name: _number(cell.split(" [")[0]) for name, cell in paired.items() if " [" in cell}
        assert _number(found["avoided"]) == pytest.approx(-mean["Business loss (EUR)"], abs=1)
        assert _number(found["added"]) == pytest.approx(mean["Delivery value (EUR)"], abs=1)
        assert _number(found["extra"]) == pytest.approx(mean["Total awards (EUR)"], abs=1)
        assert _number(found["net"]) == pytest.approx(mean["Net value (EUR)"], abs=1)
    for plan in re.findall(r"Set aside <code>(\w+)</code>", part):
        assert _number(plans[plan]["Gaming index (points)"]) > THRESHOLD


def test_the_frontier_is_a_described_image_of_the_net_values(report_html):
    part = _section(report_html, "What each plan buys", "Reported against true KPIs")
    plans = _table(report_html, "Plan comparison", "Differences against the reference plan")
    [image] = re.findall(r"<img[^>]*>", part)
    assert re.search(r'src="data:image/png;base64,[A-Za-z0-9+/=]{1000,}"', image)
    assert "<script" not in part and "<svg" not in part
    alt = html.unescape(re.search(r'alt="([^"]*)"', image).group(1))
    assert alt.startswith("What each plan buys: net value against award cost (small)")
    assert "Net value against no_incentive (EUR)" in alt and "Total awards" in alt
    for plan, row in plans.items():
        assert f"{plan}: net value EUR {row['Net value vs reference (EUR)']}" in alt
        assert f"{row['Verdict']}" in alt


def test_the_frontier_plots_net_value_against_award_cost(batch_dir):
    batch = load_batch(batch_dir)
    ranking = ranking_of(batch, "small", THRESHOLD)
    fig = frontier_figure(batch, "small", THRESHOLD)
    ax = fig.axes[0]
    [points] = [c for c in ax.collections if isinstance(c, PathCollection)]  # the scatter
    plotted = {tuple(xy) for xy in np.asarray(points.get_offsets()).round(6)}
    money = ranking[["total_awards", "net_value"]].round(6)
    expected = set(money.itertuples(index=False, name=None))
    assert plotted == expected and len(expected) == len(PLANS)
    assert ax.get_xlabel().startswith("Total awards") and ax.get_ylabel().startswith("Net value")
    assert ranking.loc["no_incentive", "net_value"] == 0  # the reference sits on the zero line


def test_an_unknown_parameter_is_refused_before_execution(
    batch_dir, tmp_path, capsys, no_execution
):
    out = tmp_path / "r.html"
    code = main(["report", str(batch_dir), "--out", str(out), "-p", "gaming_treshold", "3"])
    error = capsys.readouterr().err
    assert code == 2
    assert "'gaming_treshold'" in error and "did you mean 'gaming_threshold'" in error
    for name in ("reference_plan", "scenario", "title"):
        assert name in error
    assert "Traceback" not in error and not out.exists()


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["-p", "gaming_threshold", "lots"], "must be a number"),
        (["-p", "gaming_threshold", "nan"], "must be a finite number"),
        (["-p", "gaming_threshold", "inf"], "must be a finite number"),
        (["--reference", "no_incentve"], "did you mean 'no_incentive'"),
        (["-p", "scenario", "smal"], "did you mean 'small'"),
        (["-p", "results_dir", "x"], "set by the batch directory"),
    ],
)
def test_bad_arguments_are_refused_with_a_message(
    batch_dir, tmp_path, capsys, no_execution, arguments, message
):
    assert main(["report", str(batch_dir), "--out", str(tmp_path / "r.html"), *arguments]) == 2
    assert message in capsys.readouterr().err


def test_a_directory_that_is_not_a_batch_is_refused(batch_dir, tmp_path, capsys, no_execution):
    run = next((batch_dir / "runs").glob("*/*/seed=*"))
    for directory, message in (
        (tmp_path / "missing", "no such directory"),
        (tmp_path, "is not a batch directory"),
        (run, "is not a batch directory"),
    ):
        assert main(["report", str(directory), "--out", str(tmp_path / "r.html")]) == 2
        error = capsys.readouterr().err
        assert message in error and "Traceback" not in error


def test_a_failing_cell_is_named_without_a_traceback(batch_dir, tmp_path, capsys):
    broken = tmp_path / "broken"
    shutil.copytree(batch_dir, broken)
    next((broken / "runs").glob("*/mttr_only-*/seed=1")).joinpath("kpis.parquet").write_text("x")
    out = tmp_path / "r.html"
    assert main(["report", str(broken), "--out", str(out)]) == 1
    error = capsys.readouterr().err
    assert "failed in cell" in error and "ArrowInvalid" in error and "kpis.parquet" in error
    assert len(error.splitlines()) <= 3 and not out.exists()
    assert (tmp_path / "r.ipynb").is_file()  # kept, with the full traceback


def test_the_loader_reads_every_run(batch_dir):
    batch = load_batch(batch_dir)
    runs = pd.read_parquet(batch_dir / "runs.parquet")
    for name in ("kpis", "awards", "behaviour", "liability"):
        table = batch.run_table(name)
        keys = set(table[["scenario", "plan", "seed"]].itertuples(index=False, name=None))
        assert keys == set(runs[["scenario", "plan", "seed"]].itertuples(index=False, name=None))
        expected = sum(
            len(pd.read_parquet(path / f"{name}.parquet"))
            for path in (batch_dir / "runs").glob("*/*/seed=*")
        )
        assert len(table) == expected
    assert batch.plans()[0] == "no_incentive" and set(batch.plans()) == set(PLANS)
    assert batch.currency("small") == "EUR"


def test_the_liability_fan_is_ordered_and_starts_from_the_recorded_end(batch_dir):
    batch = load_batch(batch_dir)
    paths = liability_paths(batch, "small")
    bands = fan(paths)
    assert (bands["p10"] <= bands["p50"] + 1e-9).all() and (
        bands["p50"] <= bands["p90"] + 1e-9
    ).all()
    runs = batch.runs.set_index(["plan", "seed"])
    recorded = paths[~paths["projected"]].sort_values("period").groupby(["plan", "seed"]).last()
    for key, row in recorded.iterrows():
        assert row["liability"] == pytest.approx(runs.at[key, "liability_end"])
    paying = paths[paths["plan"] != "no_incentive"]
    assert paying["projected"].any()  # a short horizon ends before any cohort vests
    last = paying.sort_values("period").groupby(["plan", "seed"])["liability"].last()
    assert (last == 0).all()


def test_a_plan_changed_since_the_batch_gets_no_run_off_and_the_report_says_so(batch_dir, tmp_path):
    changed = tmp_path / "changed"
    shutil.copytree(batch_dir, changed)
    manifest = json.loads((changed / "manifest.json").read_text())
    manifest["inputs"]["plan:mttr_only"]["fingerprint"] = "0" * 64
    (changed / "manifest.json").write_text(json.dumps(manifest))
    batch = load_batch(changed)
    paths = liability_paths(batch, "small")
    assert not paths.loc[paths["plan"] == "mttr_only", "projected"].any()
    assert paths.loc[paths["plan"] == "balanced_guarded", "projected"].any()
    note = liability_note(batch)
    assert re.search(r"`mttr_only`: .*has changed since the batch ran", note)
    assert not re.search(r"`balanced_guarded`: .*has changed", note)


@pytest.mark.parametrize(
    "vesting",
    [
        Vesting(schedule="cliff"),
        Vesting(schedule="cliff", deferral_share=0.5, deferral_years=2),
        Vesting(schedule="graded", deferral_share=0.4, deferral_years=1),
    ],
)
def test_the_run_off_is_what_the_ledger_pays_when_nothing_more_is_earned(vesting, small_scenario):
    plan = load_plan("mttr_only").model_copy(update={"vesting": vesting})
    labels = [str(p) for p in pd.period_range("2025Q1", periods=40, freq="Q")]
    teams = [team.id for team in small_scenario.organisation.teams]
    horizon = 17  # mid-window of a cohort, after earlier cohorts vested and deferred
    for seed in range(8):  # amounts split into tranches and deferrals leave rounding behind
        short = AwardLedger(plan, small_scenario, labels[:horizon], 4)
        long = AwardLedger(plan, small_scenario, labels, 4)
        rng = np.random.default_rng(seed)
        for k in range(len(labels)):
            scores = {t: float(rng.uniform(50, 150)) if k < horizon else 0.0 for t in teams}
            if k < horizon:
                short.close_period(k, scores)
            long.close_period(k, scores)
        projected = run_off(short.liability(), short.cashflows(), plan, 4).set_index("period")
        actual = long.liability().groupby("period")["liability"].sum()
        assert projected["liability"].iloc[0] > 0 and projected["liability"].iloc[-1] == 0
        np.testing.assert_allclose(
            projected["liability"], actual.reindex(projected.index).fillna(0.0), atol=1e-6
        )


def _numbers(**plans) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Summary and comparisons of one scenario, from what each plan does against ``ref``.

    Each plan gives (loss avoided, value added, extra awards, gaming index, half width of the
    net value's 95% interval); its net value is loss avoided + value added − extra awards.
    """
    rows, diffs = [], []
    for plan, (avoided, added, extra, gaming, half) in plans.items():
        net = avoided + added - extra
        rows.append(
            {
                "plan": plan,
                "net_value": net,
                "total_awards": extra,  # the reference pays nothing
                "awards_per_loss_avoided": extra / avoided if avoided > 0 else np.nan,
                "gaming_index": gaming,
                "reported_score_mean": 80 + gaming,
                "true_score_mean": 80.0,
                "liability_p50": extra,
                "liability_p90": extra * 1.2,
                "awards_gini_teams": 0.2,
                "gender_gap_awards": 0.05,
            }
        )
        if plan == "ref":
            continue
        for metric, mean, width in (
            ("net_value", net, half),
            ("business_loss", -avoided, 1.0),
            ("delivery_value", added, 1.0),
            ("total_awards", extra, 1.0),
        ):
            diffs.append(
                {
                    "plan": plan,
                    "metric": metric,
                    "mean_difference": mean,
                    "ci_low": mean - width,
                    "ci_high": mean + width,
                    "pairs": 5,
                }
            )
    return pd.DataFrame(rows).set_index("plan"), pd.DataFrame(diffs)


# net values: a 70 + 10 - 50 = 30k [10k, 50k]; b 35 + 5 - 20 = 20k [5k, 35k];
# c 0 + 50 - 10 = 40k [-5k, 85k]: the highest mean, but not clear of zero
PLANS_BY_HAND = {
    "ref": (0.0, 0.0, 0.0, 0.0, 0.0),
    "a": (70_000.0, 10_000.0, 50_000.0, 1.0, 20_000.0),
    "b": (35_000.0, 5_000.0, 20_000.0, 2.0, 15_000.0),
    "c": (0.0, 50_000.0, 10_000.0, 1.0, 45_000.0),
}


def test_plans_are_ranked_by_net_value_with_those_that_game_set_aside():
    ranking = net_value_ranking(*_numbers(**PLANS_BY_HAND), reference="ref")
    assert list(ranking.index) == ["c", "a", "b", "ref"]
    assert ranking["rank"].tolist() == [1, 2, 3, 4]
    assert ranking["net_value"].tolist() == [40_000, 30_000, 20_000, 0]
    assert ranking.loc["a", ["ci_low", "ci_high"]].tolist() == [10_000, 50_000]
    assert ranking.loc["a", ["loss_avoided", "value_added", "extra_awards"]].tolist() == [
        70_000,
        10_000,
        50_000,
    ]
    assert ranking["verdict"].to_dict() == {
        "c": "not clear of the reference",
        "a": "recommended: beats the reference (95%)",
        "b": "beats the reference (95%)",
        "ref": "reference",
    }
    gaming = {**PLANS_BY_HAND, "c": (0.0, 50_000.0, 10_000.0, 7.5, 45_000.0)}
    ranking = net_value_ranking(*_numbers(**gaming), reference="ref", gaming_threshold=5.0)
    assert list(ranking.index) == ["a", "b", "ref", "c"]  # set aside: last, unranked
    assert ranking["rank"].iloc[:3].tolist() == [1, 2, 3] and np.isnan(ranking.at["c", "rank"])
    assert ranking.at["c", "verdict"] == "set aside: gaming index above 5"


def test_one_seed_pair_gives_no_interval_and_no_verdict():
    summary, comparisons = _numbers(**PLANS_BY_HAND)
    comparisons["pairs"] = 1
    ranking = net_value_ranking(summary, comparisons, reference="ref")
    assert ranking[["ci_low", "ci_high"]].isna().all().all() and not ranking["beats"].any()
    text = recommend(summary, comparisons, reference="ref").markdown
    assert "No plan beats `ref` on this evidence" in text and "too few for a confidence" in text


def test_the_recommendation_follows_the_numbers():
    first = recommend(*_numbers(**PLANS_BY_HAND), reference="ref", currency="EUR")
    # a and b beat ref with 95% confidence; a has the higher net value; c's interval holds 0
    assert first.plan == "a" and first.best == "c" and first.beating == ("a", "b")
    assert "**Recommended plan: `a`.**" in first.markdown
    assert "- `c` has a higher mean net value, but its 95% interval does not lie" in first.markdown
    assert (
        "net value EUR 30,000 against `ref` (95% interval EUR 10,000 to EUR 50,000): loss avoided "
        "EUR 70,000, value added EUR 10,000, extra awards EUR 50,000; total awards EUR 50,000 "
        "(0.71 in awards per EUR of loss avoided), gaming index 1.0 points" in first.markdown
    )
    # a games above the threshold: set aside, b is left
    games = {**PLANS_BY_HAND, "a": (70_000.0, 10_000.0, 50_000.0, 9.0, 20_000.0)}
    second = recommend(*_numbers(**games), reference="ref")
    assert second.plan == "b" and second.gaming == {"a": 9.0}
    assert "Set aside `a`" in second.markdown
    # nothing beats the reference with confidence: say so and name the best by net value
    doubtful = {
        **PLANS_BY_HAND,
        "a": (70_000.0, 10_000.0, 50_000.0, 1.0, 40_000.0),
        "b": (35_000.0, 5_000.0, 20_000.0, 2.0, 21_000.0),
    }
    third = recommend(*_numbers(**doubtful), reference="ref", currency="EUR")
    assert third.plan is None and third.beating == () and third.best == "c"
    assert "**No plan beats `ref` on this evidence.**" in third.markdown
    assert "Recommended plan" not in third.markdown
    assert "Best by net value: `c`, net value EUR 40,000 against `ref`" in third.markdown
    assert "(no loss avoided)" in third.markdown  # c buys no loss reduction at all
    # only plans that game besides the reference: no best plan to name
    alone = recommend(*_numbers(ref=PLANS_BY_HAND["ref"], a=games["a"]), reference="ref")
    assert alone.plan is None and alone.best is None
    assert "Every plan but `ref` is set aside for gaming" in alone.markdown


def test_a_plan_with_less_net_value_for_more_awards_is_dominated():
    ranking = net_value_ranking(*_numbers(**PLANS_BY_HAND), reference="ref")
    # c: 40k for 10k of awards beats a (30k for 50k) and b (20k for 20k); ref pays least
    assert dominated_plans(ranking) == {"a": "c", "b": "c"}
    ranking.loc["c", ["net_value", "total_awards"]] = [-1_000.0, 10_000.0]
    assert dominated_plans(ranking) == {"c": "ref"}  # less than nothing, for money
    text = recommend(*_numbers(**PLANS_BY_HAND), reference="ref", currency="EUR").markdown
    assert (
        "- `a` is dominated by `c`: net value EUR 40,000 against EUR 30,000, for EUR 10,000 "
        "rather than EUR 50,000 in awards." in text
    )


def test_another_reference_plan_recomputes_the_comparisons(batch_dir):
    batch = load_batch(batch_dir, reference="mttr_only")
    assert set(batch.comparisons["reference"]) == {"mttr_only"}
    assert set(batch.comparisons["plan"]) == {"no_incentive", "balanced_guarded"}
    row = batch.summary.set_index("plan").loc["mttr_only"]
    assert row["risk_aversion_vs_reference"] == 0 and row["net_value"] == 0
    assert batch.plans()[0] == "mttr_only"
    before = load_batch(batch_dir).runs.set_index(["plan", "seed"])["net_value"]
    after = batch.runs.set_index(["plan", "seed"])["net_value"]
    against = before.xs("mttr_only", level="plan")  # mttr_only against no_incentive
    pd.testing.assert_series_equal(
        after.xs("no_incentive", level="plan"), -against, check_names=False
    )
    assert (after.xs("mttr_only", level="plan") == 0).all()


def _rebatched(batch_dir, out, plans, **options):
    """Copy a batch and run it again (from the cache) with other plans or another reference."""
    shutil.copytree(batch_dir, out)
    result = run_batch([str(SCENARIOS / "small.yaml")], plans, 2, out, progress=False, **options)
    assert result.stats["computed"] == 0
    return result


def test_the_report_compares_with_the_batch_reference_by_default(batch_dir, tmp_path):
    result = _rebatched(batch_dir, tmp_path / "b", PLANS, workers=1, reference="mttr_only")
    assert result.reference == "mttr_only"
    batch = load_batch(result.directory)
    assert batch.reference == "mttr_only" and batch.plans()[0] == "mttr_only"
    assert set(batch.comparisons["reference"]) == {"mttr_only"}
    assert load_batch(result.directory, reference="no_incentive").reference == "no_incentive"


def test_a_batch_without_a_reference_needs_one_for_the_report(
    batch_dir, tmp_path, capsys, no_execution
):
    plans = ["mttr_only", "balanced_guarded"]
    result = _rebatched(batch_dir, tmp_path / "b", plans, workers=1)
    assert result.reference is None
    out = tmp_path / "r.html"
    assert main(["report", str(result.directory), "--out", str(out)]) == 2
    error = capsys.readouterr().err
    assert "without a reference plan" in error and "balanced_guarded, mttr_only" in error
    batch = load_batch(result.directory, reference="mttr_only")
    assert set(batch.comparisons["plan"]) == {"balanced_guarded"}
    assert "net_value" in set(batch.comparisons["metric"])


def _second_scenario(batch_dir, out):
    """Copy a batch and give it a second scenario, a renamed copy of the first."""
    shutil.copytree(batch_dir, out)
    small = next((out / "runs").glob("small-*"))
    shutil.copytree(small, out / "runs" / "other")
    for name in ("runs", "summary", "comparisons", "ranking"):
        table = pd.read_parquet(out / f"{name}.parquet")
        if "scenario" in table:
            copy = table.assign(scenario="other")
            if "directory" in copy:
                copy["directory"] = copy["directory"].str.replace(small.name, "other")
            pd.concat([table, copy], ignore_index=True).to_parquet(out / f"{name}.parquet")
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["inputs"]["scenario:other"] = manifest["inputs"]["scenario:small"]
    (out / "manifest.json").write_text(json.dumps(manifest))
    return out


def test_a_batch_of_several_scenarios_is_reported_per_scenario(batch_dir, tmp_path):
    both = _second_scenario(batch_dir, tmp_path / "two")
    batch = load_batch(both)
    assert batch.scenarios == ["other", "small"]
    text = recommendation_markdown(batch)
    assert "### Scenario `other`" in text and "### Scenario `small`" in text
    assert load_batch(both, scenario="other").scenarios == ["other"]
    with pytest.raises(ReportError, match="did you mean 'small'"):
        load_batch(both, scenario="smal")
    out = tmp_path / "two.html"
    assert main(["report", str(both), "--out", str(out)]) == 0
    page = out.read_text(encoding="utf-8")
    for scenario in ("other", "small"):
        assert f"Scenario <code>{scenario}</code>" in page
    assert len(re.findall(r'<img[^>]+src="data:image/png;base64,', page)) >= 12


def test_command_line_values_take_the_type_of_the_default():
    declared = declared_parameters(NOTEBOOK)
    assert {"results_dir", "reference_plan", "title", "scenario"} <= set(declared)
    values = parse_parameters(
        {"gaming_threshold": "3", "title": "2025", "scenario": "None"}, declared
    )
    assert values == {"gaming_threshold": 3.0, "title": "2025", "scenario": None}
    with pytest.raises(ReportError, match="did you mean 'title'"):
        parse_parameters({"titel": "x"}, declared)


def test_the_kernel_runs_this_interpreter(monkeypatch):
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    with python_kernel() as name:
        command = KernelSpecManager().get_kernel_spec(name).argv[0]
        assert command in ("python", "python3", sys.executable)

    def missing(self, name):
        raise NoSuchKernel(name)

    real = KernelSpecManager.get_kernel_spec
    monkeypatch.setattr(KernelSpecManager, "get_kernel_spec", missing)
    with python_kernel() as name:
        monkeypatch.setattr(KernelSpecManager, "get_kernel_spec", real)
        assert KernelSpecManager().get_kernel_spec(name).argv[0] == sys.executable
