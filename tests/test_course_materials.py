"""The course's templates and worksheets: rendered by notebooks, current, filled from a batch.

The worksheets' formulas are evaluated here by a small evaluator of the few Excel functions
they use (no spreadsheet program is needed), and compared with the toolkit's own definitions.
"""

import io
import math
import re
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
import yaml

from toolkit.config.plan import Baseline, LinearCurve
from toolkit.course import documents, workbooks
from toolkit.course.documents import MaterialsError
from toolkit.course.materials import render_materials, template_notebooks
from toolkit.plans.baselines import baseline_values
from toolkit.plans.curves import curve_payout, improvement

ROOT = Path(__file__).resolve().parent.parent
PLANS = ROOT / "scenarios" / "plans"
GAMED = "mttr_only"  # the batch's incentive plan: it is gamed on the small scenario
SUFFIXES = (".md", ".html", ".xlsx")


# ---------------------------------------------------------------------------------------------
# A small evaluator of the Excel formulas the worksheets use


class XlError(Exception):
    """An Excel error value (#DIV/0!, #VALUE!)."""


TOKEN = re.compile(
    r'\s*(?:(?P<str>"(?:[^"]|"")*")|(?P<num>\d+(?:\.\d+)?(?:[Ee][+-]?\d+)?)'
    r"|(?P<func>[A-Z]+)\(|(?P<ref>(?:'[^']+'!)?\$?[A-Z]+\$?\d+(?::\$?[A-Z]+\$?\d+)?)"
    r"|(?P<op><=|>=|<>|[-+*/&=<>(),]))"
)


def _tokens(text):
    pos, out = 0, []
    while pos < len(text):
        match = TOKEN.match(text, pos)
        assert match, f"cannot read {text[pos:]!r}"
        kind = match.lastgroup
        out.append((kind, match.group(kind)))
        pos = match.end()
    return out


def _cell_index(ref):
    letters, digits = re.fullmatch(r"\$?([A-Z]+)\$?(\d+)", ref).groups()
    return openpyxl.utils.column_index_from_string(letters), int(digits)


class Sheet:
    """Evaluate the formulas of one worksheet; a reference ``'Other sheet'!A1`` reads another
    sheet of the same workbook."""

    def __init__(self, ws, others=None):
        self.ws = ws
        self.memo = {}
        self.others = {ws.title: self} if others is None else others
        self.others.setdefault(ws.title, self)

    def _elsewhere(self, ref):
        """Return the sheet a reference points into and the reference within it."""
        if "!" not in ref:
            return self, ref
        name, _, inner = ref.partition("!")
        name = name.strip("'")
        if name not in self.others:
            self.others[name] = Sheet(self.ws.parent[name], self.others)
        return self.others[name], inner

    def value(self, ref):
        sheet, ref = self._elsewhere(ref)
        if sheet is not self:
            return sheet.value(ref)
        col, row = _cell_index(ref)
        key = (col, row)
        if key not in self.memo:
            raw = self.ws.cell(row=row, column=col).value
            if isinstance(raw, str) and raw.startswith("="):
                try:
                    self.memo[key] = self.evaluate(raw[1:])
                except XlError as error:
                    self.memo[key] = error
            else:
                self.memo[key] = raw
        if isinstance(self.memo[key], XlError):
            raise self.memo[key]
        return self.memo[key]

    def range(self, ref):
        sheet, ref = self._elsewhere(ref)
        if sheet is not self:
            return sheet.range(ref)
        first, last = ref.split(":")
        (c1, r1), (c2, r2) = _cell_index(first), _cell_index(last)
        cells = []
        for row in range(r1, r2 + 1):
            for col in range(c1, c2 + 1):
                try:
                    cells.append(self.value(f"{openpyxl.utils.get_column_letter(col)}{row}"))
                except XlError as error:
                    cells.append(error)
        return cells

    def evaluate(self, text):
        self.toks, self.pos = _tokens(text), 0
        tree = self._compare()
        assert self.pos == len(self.toks), text
        return self._run(tree)

    # parsing into nested tuples
    def _peek(self):
        return self.toks[self.pos] if self.pos < len(self.toks) else (None, None)

    def _take(self):
        self.pos += 1
        return self.toks[self.pos - 1]

    def _binary(self, operators, lower):
        left = lower()
        while self._peek()[0] == "op" and self._peek()[1] in operators:
            left = ("bin", self._take()[1], left, lower())
        return left

    def _compare(self):
        return self._binary(("=", "<>", "<", ">", "<=", ">="), self._concat)

    def _concat(self):
        return self._binary(("&",), self._add)

    def _add(self):
        return self._binary(("+", "-"), self._mul)

    def _mul(self):
        return self._binary(("*", "/"), self._unary)

    def _unary(self):
        if self._peek() == ("op", "-"):
            self._take()
            return ("neg", self._unary())
        return self._primary()

    def _primary(self):
        kind, text = self._take()
        if kind == "num":
            return ("lit", float(text))
        if kind == "str":
            return ("lit", text[1:-1].replace('""', '"'))
        if kind == "ref":
            return ("range", text) if ":" in text else ("ref", text)
        if kind == "func":
            args = []
            if self._peek() != ("op", ")"):
                args.append(self._compare())
                while self._peek() == ("op", ","):
                    self._take()
                    args.append(self._compare())
            assert self._take() == ("op", ")")
            return ("call", text, args)
        assert (kind, text) == ("op", "("), text
        inner = self._compare()
        assert self._take() == ("op", ")")
        return inner

    # evaluation
    def _run(self, node):
        kind = node[0]
        if kind == "lit":
            return node[1]
        if kind == "ref":
            return self.value(node[1])
        if kind == "range":
            return self.range(node[1])
        if kind == "neg":
            return -_number(self._run(node[1]))
        if kind == "bin":
            return _binary(node[1], self._run(node[2]), self._run(node[3]))
        name, args = node[1], node[2]
        if name == "IF":
            chosen = args[1] if _truth(self._run(args[0])) else args[2]
            return self._run(chosen)
        values = [self._run(arg) for arg in args]
        return FUNCTIONS[name](*values)


def _number(value):
    if value is None:
        return 0.0
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float):
        return float(value)
    raise XlError("#VALUE!")


def _truth(value):
    return bool(_number(value))


def _binary(op, a, b):
    if op == "&":
        return f"{'' if a is None else _text(a)}{'' if b is None else _text(b)}"
    if op in ("+", "-", "*", "/"):
        x, y = _number(a), _number(b)
        if op == "/":
            if y == 0:
                raise XlError("#DIV/0!")
            return x / y
        return {"+": x + y, "-": x - y, "*": x * y}[op]
    if a is None:
        a = "" if isinstance(b, str) else 0.0
    if b is None:
        b = "" if isinstance(a, str) else 0.0
    if isinstance(a, str) != isinstance(b, str):
        return op == "<>"
    return {
        "=": a == b,
        "<>": a != b,
        "<": a < b,
        ">": a > b,
        "<=": a <= b,
        ">=": a >= b,
    }[op]


def _text(value):
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _numbers(values):
    flat = []
    for value in values:
        items = value if isinstance(value, list) else [value]
        for item in items:
            if isinstance(item, XlError):
                raise item
            if isinstance(item, int | float) and not isinstance(item, bool):
                flat.append(float(item))
    return flat


def _criterion(text):
    op, number = re.fullmatch(r"(<=|>=|<>|<|>|=)?(.*)", text).groups()
    return lambda value: (
        isinstance(value, int | float) and _binary(op or "=", float(value), float(number))
    )


def _averageifs(values, *pairs):
    keep = [True] * len(values)
    for cells, criterion in zip(pairs[::2], pairs[1::2], strict=True):
        test = _criterion(criterion)
        keep = [k and test(c) for k, c in zip(keep, cells, strict=True)]
    chosen = _numbers([v for v, k in zip(values, keep, strict=True) if k])
    if not chosen:
        raise XlError("#DIV/0!")
    return sum(chosen) / len(chosen)


def _sumif(cells, criterion, sums):
    """Sum ``sums`` where ``cells`` equal ``criterion`` (text or number, as SUMIF matches)."""
    chosen = [s for c, s in zip(cells, sums, strict=True) if c is not None and c == criterion]
    return sum(_numbers(chosen))


FUNCTIONS = {
    "AND": lambda *a: all(_truth(x) for x in a),
    "OR": lambda *a: any(_truth(x) for x in a),
    "NOT": lambda a: not _truth(a),
    "ISNUMBER": lambda a: isinstance(a, int | float) and not isinstance(a, bool),
    "MIN": lambda *a: min(_numbers(a)),
    "MAX": lambda *a: max(_numbers(a)),
    "SUM": lambda *a: sum(_numbers(a)),
    "ABS": lambda a: abs(_number(a)),
    "AVERAGEIFS": _averageifs,
    "SUMIF": _sumif,
    "RANK": lambda x, cells: 1 + sum(v > _number(x) for v in _numbers([cells])),
    "TEXT": lambda x, fmt: f"{_number(x):.{len(fmt.partition('.')[2])}f}",
}


def test_the_evaluator_reads_excel_precedence_and_blanks(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws["A1"], ws["A2"], ws["B1"] = 2, 3, '=IF(A3="",A1+A2*2,"x")'
    ws["B2"] = '="n="&A1&" "&TEXT(A2,"0.0")'
    ws["B3"] = '=AVERAGEIFS(A1:A3,A1:A3,">="&(A1+1))'
    sheet = Sheet(ws)
    assert sheet.value("B1") == 8.0
    assert sheet.value("B2") == "n=2 3.0"
    assert sheet.value("B3") == 3.0
    other = wb.create_sheet("Other sheet")
    other["A1"], other["A2"], other["B1"], other["B2"] = "q1", "q2", 5, 7
    ws["C1"] = "q2"
    ws["C2"] = "=SUMIF('Other sheet'!$A$1:$A$2,C1,'Other sheet'!$B$1:$B$2)+'Other sheet'!B1"
    assert Sheet(ws).value("C2") == 12.0


# ---------------------------------------------------------------------------------------------
# Fixtures: the blank materials, and those the course build filled from its batch


@pytest.fixture(scope="module")
def batch_dir(course):
    """The batch the course build filled its materials from (conftest.COURSE_PLANS)."""
    root, record = course
    assert record["plans"][0] == GAMED
    return root / "runs" / "batch"


@pytest.fixture(scope="module")
def blank(tmp_path_factory):
    out = tmp_path_factory.mktemp("blank")
    written = render_materials(out)
    return out, written


@pytest.fixture(scope="module")
def filled(course):
    """The materials as the course build filled them from its batch."""
    return course[0]


def _materials(root):
    return sorted(
        p.relative_to(root).as_posix()
        for folder in ("templates", "worksheets")
        for p in (root / folder).glob("*")
        if p.suffix in SUFFIXES and p.name != "README.md"
    )


def _sheets(path):
    book = openpyxl.load_workbook(path)
    return {
        ws.title: [[cell.value for cell in row] for row in ws.iter_rows()] for ws in book.worksheets
    }


def test_the_committed_blank_materials_are_the_notebooks_output(blank):
    out, written = blank
    made = _materials(out)
    assert made == _materials(ROOT), "run `make course` and commit templates/ and worksheets/"
    assert sorted(p.relative_to(out).as_posix() for p in written) == made
    for name in made:
        ours, committed = out / name, ROOT / name
        if name.endswith(".xlsx"):
            assert _sheets(ours) == _sheets(committed), f"{name} is out of date: run make course"
        else:
            assert ours.read_text() == committed.read_text(), f"{name} is out of date"


def test_materials_are_written_into_their_folders_only(blank):
    out, _ = blank
    assert sorted(p.name for p in out.iterdir()) == ["templates", "worksheets"]
    assert not [p for p in out.rglob(".*")], "a hidden temporary file was left behind"
    assert {p.suffix for p in (out / "worksheets").iterdir()} == {".xlsx"}


def test_the_html_documents_are_self_contained(blank):
    out, _ = blank
    for page in (out / "templates").glob("*.html"):
        html = page.read_text()
        assert "<script" not in html.lower() and "http" not in html.replace("http-equiv", "")
        assert "Content-Security-Policy" in html


def test_every_template_notebook_keeps_the_parameter_contract():
    from toolkit.report.render import declared_parameters

    assert {p.stem for p in template_notebooks()} == {
        "kpi_selection",
        "incentive_plan",
        "baseline_adjustment",
        "plan_review",
        "governance",
        "retention_calendar",
        "compliance",
        "hris_reconciliation",
        "data_availability_sla",
        "finance",
        "vendor",
    }
    for path in template_notebooks():
        declared = declared_parameters(path)
        assert declared["results_dir"] == "" and declared["output_dir"] == ".", path.name


# ---------------------------------------------------------------------------------------------
# Filled from the batch: every number is recomputed here from the batch's files


def _runs(batch_dir, plan):
    runs = pd.read_parquet(batch_dir / "runs.parquet")
    return runs[runs["plan"] == plan].sort_values("seed")


def _start_after(plan):
    data = yaml.safe_load((PLANS / f"{plan}.yaml").read_text())
    return data.get("start_after_periods", 2)


def _team_kpis(batch_dir, directory):
    kpis = pd.read_parquet(batch_dir / directory / "kpis.parquet")
    return kpis[(kpis["service_id"] == "ALL") & (kpis["team_id"] != "ALL")]


def test_the_filled_matrix_holds_the_batchs_gaming_gaps(filled, batch_dir):
    sheet = _sheets(filled / "templates" / "kpi_selection_matrix.xlsx")["Matrix"]
    header, rows = sheet[0], {row[0]: row for row in sheet[1:]}
    column = header.index(f"gaming gap under {GAMED}")
    directions = {row[0]: row[header.index("direction")] for row in sheet[1:]}
    gaps = {}
    for directory in _runs(batch_dir, GAMED)["directory"]:
        kpis = _team_kpis(batch_dir, directory)
        periods = sorted(kpis["period"].unique())[_start_after(GAMED) :]
        kpis = kpis[kpis["period"].isin(periods)]
        true = kpis[kpis["view"] == "true"].set_index(["kpi", "period", "team_id"])["value"]
        rep = kpis[kpis["view"] == "reported"].set_index(["kpi", "period", "team_id"])["value"]
        both = pd.concat({"true": true, "rep": rep}, axis=1).dropna()
        for kpi, gap in (both["rep"] - both["true"]).groupby(level="kpi").mean().items():
            gaps.setdefault(kpi, []).append(gap)
    assert any(abs(np.mean(v)) > 0 for v in gaps.values()), "the batch shows no gaming at all"
    for kpi, row in rows.items():
        if kpi not in gaps:  # never measured on both views (e.g. too few resolutions)
            assert row[column] is None, kpi
            continue
        expected = np.mean(gaps[kpi]) * (1 if directions[kpi].startswith("higher") else -1)
        assert row[column] == pytest.approx(expected, abs=1e-9), kpi
    risk = _sheets(filled / "worksheets" / "kpi_gaming_risk.xlsx")["Risk"]
    at = risk[0].index(f"gaming gap under {GAMED}")
    assert [r[at] for r in risk[1:]] == [rows[r[0]][column] for r in risk[1:]]


def test_the_filled_plan_document_says_what_the_plan_cost_and_bought(filled, batch_dir):
    text = (filled / "templates" / f"incentive_plan_{GAMED}.md").read_text()
    runs = _runs(batch_dir, GAMED)
    row = next(line for line in text.splitlines() if line.startswith("| small |"))
    for money in ("total_awards", "business_loss", "delivery_value", "net_value"):
        figure = f"{runs[money].mean():,.0f}".replace(",", "\\,")
        assert figure in row, (money, row)
    assert f"| {len(runs)} |" in row


def test_the_filled_weighting_worksheet_holds_the_plans_weights(filled):
    data = yaml.safe_load((PLANS / f"{GAMED}.yaml").read_text())
    total = sum(m["weight"] for m in data["metrics"])
    sheet = _sheets(filled / "worksheets" / "weighting.xlsx")["Weights"]
    listed = [(row[0], row[1]) for row in sheet[1:] if row[0] and row[0] not in ("total",)]
    listed = [item for item in listed if item[0] != "weights check"]
    assert listed == [(m["kpi"], pytest.approx(100 * m["weight"] / total)) for m in data["metrics"]]


def test_the_filled_baseline_worksheet_holds_a_teams_series(filled, batch_dir):
    book = openpyxl.load_workbook(filled / "worksheets" / "baseline_adjustment.xlsx")
    ws = book["Baselines"]
    directory = _runs(batch_dir, GAMED)["directory"].iloc[0]  # the first seed
    kpis = _team_kpis(batch_dir, directory)
    team = sorted(kpis["team_id"].unique())[0]
    series = kpis[
        (kpis["view"] == "reported") & (kpis["team_id"] == team) & (kpis["kpi"] == ws["B1"].value)
    ].sort_values("period")
    rows = range(workbooks.FIRST_ROW, workbooks.FIRST_ROW + len(series))
    assert [ws.cell(row=r, column=2).value for r in rows] == list(series["period"])
    assert [ws.cell(row=r, column=3).value for r in rows] == pytest.approx(list(series["value"]))
    assert ws["B3"].value == _start_after(GAMED)
    sheet = Sheet(ws)
    last = workbooks.FIRST_ROW + len(series) - 1
    assert isinstance(sheet.value(f"L{last}"), float)  # the formulas compute on the series


def test_the_filled_review_from_a_batch_compares_the_signature_kpis(filled, batch_dir):
    text = (filled / "templates" / "annual_plan_review.md").read_text()
    assert "keeps no event logs" in text
    befores, durings = [], []
    for directory in _runs(batch_dir, GAMED)["directory"]:
        kpis = pd.read_parquet(batch_dir / directory / "kpis.parquet")
        org = kpis[
            (kpis["team_id"] == "ALL")
            & (kpis["service_id"] == "ALL")
            & (kpis["kpi"] == "minor_incident_share")
            & (kpis["view"] == "reported")
        ].sort_values("period")
        start = _start_after(GAMED)
        befores.append(org["value"].iloc[:start].mean())
        durings.append(org["value"].iloc[start:].mean())
    row = next(
        line
        for line in text.splitlines()
        if line.startswith(f"| small | {GAMED.replace('_', chr(92) + '_')} | padding |")
    )
    for value in (np.mean(befores), np.mean(durings)):
        assert f"{value:.4g}".replace(".", "\\.") in row, row


def test_the_filled_review_counts_the_batchs_audits(filled, batch_dir):
    text = (filled / "templates" / "annual_plan_review.md").read_text()
    for plan in (GAMED, "no_incentive"):
        parts = [
            pd.read_parquet(batch_dir / d / "behaviour.parquet")
            for d in _runs(batch_dir, plan)["directory"]
        ]
        behaviour = pd.concat(parts)
        audited = int(behaviour["audited"].sum())
        found = int((behaviour["findings"] != "").sum())
        name = plan.replace("_", "\\_")
        expected = f"| small | {name} | {len(parts)} | {len(behaviour)} | {audited} | {found} |"
        assert expected in text, expected


def test_the_filled_finance_materials_hold_the_batchs_forecast_costs_and_roll_forward(
    filled, batch_dir
):
    from toolkit.course import finance_materials
    from toolkit.finance.forecast import forecast_summary
    from toolkit.finance.transparency import cost_statement, run_costs
    from toolkit.report.data import load_batch
    from toolkit.report.finance import ledger_runs

    batch = load_batch(batch_dir)
    runs = ledger_runs(batch)
    forecast = (filled / "templates" / "liability_forecast.md").read_text()
    summary = forecast_summary(runs)
    assert not summary.empty
    for row in summary.itertuples():
        line = f"| {row.plan.replace('_', chr(92) + '_')} | {int(row.year)} |"
        shown = next(x for x in forecast.splitlines() if x.startswith(line))
        assert f"{row.paid_p90:,.0f}".replace(",", "\\,") in shown, shown
    statement = (filled / "templates" / "business_unit_cost_statement.md").read_text()
    costs = cost_statement(run_costs(runs))
    for row in costs[costs["plan"] == GAMED].itertuples():
        line = f"| {GAMED.replace('_', chr(92) + '_')} | {row.business_unit} |"
        shown = next(x for x in statement.splitlines() if x.startswith(line))
        assert f"{row.earned:,.0f}".replace(",", "\\,") in shown, shown
    book = openpyxl.load_workbook(filled / "worksheets" / "accrual_reconciliation.xlsx")
    roll = Sheet(book[finance_materials.ROLL_SHEET])
    _, quarters = finance_materials.reconciliation_inputs(batch, GAMED, 0, 0.05)
    first = finance_materials.ROLL_HEADER_ROW + 1
    for i, row in enumerate(quarters.itertuples(), start=first):
        assert roll.value(f"J{i}") == pytest.approx(row.closing, abs=0.005)
        assert roll.value(f"N{i}") == "OK"


def test_the_review_of_a_run_directory_holds_the_review_table(tmp_path):
    from toolkit.cli import main
    from toolkit.report.review import review

    run = tmp_path / "run"
    assert main(["simulate", "small", "--plan", GAMED, "--seed", "0", "--out", str(run)]) == 0
    document, table = documents.review_document(run)
    expected, _ = review(run)
    pd.testing.assert_frame_equal(table, expected)
    html = documents.to_html(document)
    for signature in expected.loc[expected["found"].astype(bool), "signature"]:
        assert signature in html
    with pytest.raises(MaterialsError, match="only plan_review renders from runs"):
        render_materials(tmp_path / "out", run)
    assert not (tmp_path / "out").exists()


# ---------------------------------------------------------------------------------------------
# The worksheets' formulas against the toolkit's definitions


CURVE_POINTS = ("threshold", "target", "maximum")
SERIES = [10.0, 12.0, 11.0, 9.0, 8.5, np.nan, 7.0, 9.5, 6.0, 6.5, 11.0, 5.0]


@pytest.mark.parametrize(("direction", "start", "window"), [("lower", 3, 2), ("higher", 4, 4)])
def test_the_baseline_formulas_compute_what_the_plan_engine_computes(direction, start, window):
    points = ((-0.1, 50.0), (0.05, 100.0), (0.25, 200.0))
    if direction == "higher":
        points = ((0.2, 20.0), (0.0, 80.0), (-0.3, 150.0))  # a falling curve
    curve = LinearCurve.model_validate(
        {
            "kind": "linear",
            **{
                name: {"level": level, "payout_pct": pay}
                for name, (level, pay) in zip(
                    ("threshold", "target", "maximum"), points, strict=True
                )
            },
        }
    )
    kpi = "mttr_mean_hours" if direction == "lower" else "change_throughput"
    series = pd.DataFrame({"period": [f"P{i}" for i in range(len(SERIES))], "value": SERIES})
    book = workbooks.baseline_workbook(series, kpi, start, window, curve)
    book = openpyxl.load_workbook(io.BytesIO(workbooks.workbook_bytes(book)))
    sheet = Sheet(book["Baselines"])
    assert sheet.value("B2") == direction
    values = np.array(SERIES)
    for k in range(len(SERIES)):
        row = workbooks.FIRST_ROW + k
        for offset, policy in enumerate(workbooks.POLICIES):
            cells = [f"{letter}{row}" for letter in "DGJ"]
            cells = [f"{chr(ord(c[0]) + offset)}{row}" for c in cells]
            got = [sheet.value(c) for c in cells]
            if k < start:
                assert got == ["", "", ""], (k, policy)
                continue
            base = baseline_values(
                values[None, :k], Baseline(policy=policy, window_periods=window), start, direction
            )
            gain = improvement(values[k : k + 1], base, direction)
            pay = curve_payout(curve, gain)
            assert got[0] == pytest.approx(base[0]), (k, policy)
            if math.isnan(values[k]):
                assert got[1:] == ["", ""], (k, policy)
            else:
                assert got[1] == pytest.approx(gain[0]), (k, policy)
                assert got[2] == pytest.approx(pay[0]), (k, policy)


def test_the_risk_worksheet_scores_and_ranks_by_formula():
    matrix = documents.kpi_matrix()
    book = workbooks.risk_workbook(matrix)
    ws = book["Risk"]
    likelihood = [1 + (3 * i) % 5 for i in range(len(matrix))]
    impact = [1 + (2 * i + 1) % 5 for i in range(len(matrix))]
    for i, (a, b) in enumerate(zip(likelihood, impact, strict=True), start=2):
        ws.cell(row=i, column=5, value=a)
        ws.cell(row=i, column=6, value=b)
    ws.cell(row=2, column=6).value = None  # one KPI left unscored
    sheet = Sheet(ws)
    risk = pd.Series([a * b for a, b in zip(likelihood, impact, strict=True)], dtype=float)
    risk.iloc[0] = np.nan
    ranks = risk.rank(method="min", ascending=False)
    for i in range(len(matrix)):
        if i == 0:
            assert sheet.value("G2") == "" and sheet.value("H2") == ""
            continue
        assert sheet.value(f"G{i + 2}") == risk.iloc[i]
        assert sheet.value(f"H{i + 2}") == ranks.iloc[i]
    (rule,) = ws.data_validations.dataValidation
    assert (rule.type, rule.formula1, rule.formula2) == ("whole", "1", "5")
    assert str(rule.sqref) == f"E2:F{len(matrix) + 1}"


def test_the_weighting_worksheet_checks_the_sum_and_weighs_the_scores():
    book = workbooks.weighting_workbook("balanced")
    ws = book["Weights"]
    metrics = yaml.safe_load((PLANS / "balanced.yaml").read_text())["metrics"]
    scores = [80.0 + 10 * i for i in range(len(metrics))]
    for i, score in enumerate(scores, start=2):
        ws.cell(row=i, column=3, value=score)
    total_row = workbooks.BLANK_ROWS + 2
    sheet = Sheet(ws)
    weights = [100 * m["weight"] / sum(x["weight"] for x in metrics) for m in metrics]
    assert sheet.value(f"B{total_row}") == pytest.approx(100)
    assert sheet.value(f"B{total_row + 1}") == "OK"
    composite = sum(w * s / 100 for w, s in zip(weights, scores, strict=True))
    assert sheet.value(f"D{total_row}") == pytest.approx(composite)
    ws.cell(row=2, column=2, value=weights[0] + 5)  # the learner breaks the sum
    sheet = Sheet(ws)
    assert sheet.value(f"B{total_row + 1}") == "weights sum to 105.0 %, not 100 %"
    (rule,) = [r for rules in ws.conditional_formatting for r in rules.rules]
    assert f"$B${total_row}" in rule.formula[0]


def test_a_blank_weighting_worksheet_has_empty_rows_and_live_formulas():
    ws = workbooks.weighting_workbook(None)["Weights"]
    rows = range(2, workbooks.BLANK_ROWS + 2)
    assert all(ws.cell(row=r, column=1).value is None for r in rows)
    sheet = Sheet(ws)
    assert sheet.value(f"B{workbooks.BLANK_ROWS + 3}") == "weights sum to 0.0 %, not 100 %"


def test_workbooks_are_the_same_bytes_for_the_same_inputs():
    first = workbooks.workbook_bytes(workbooks.weighting_workbook("balanced"))
    second = workbooks.workbook_bytes(workbooks.weighting_workbook("balanced"))
    assert first == second
    props = openpyxl.load_workbook(io.BytesIO(first)).properties
    assert props.created == props.modified == workbooks.FIXED_TIME


# ---------------------------------------------------------------------------------------------
# Documents, names and errors


def test_the_blank_matrix_lists_every_kpi_of_the_catalogue():
    from toolkit.metrics.registry import CATALOGUE

    matrix = documents.kpi_matrix()
    assert sorted(matrix["kpi"]) == sorted(CATALOGUE)
    assert set(documents.GAMING_LEVERS) == set(CATALOGUE)
    levers = {lever for pair in documents.GAMING_LEVERS.values() for part in pair for lever in part}
    from toolkit.behaviour.levers import GAMING_LEVERS

    assert levers <= set(GAMING_LEVERS) and set(documents.LEVERS) == set(GAMING_LEVERS)
    assert not [c for c in matrix.columns if c.startswith("gaming gap")]
    assert (matrix[list(documents.SCORING_COLUMNS)] == "").all().all()


def test_the_plan_document_covers_every_part_of_the_plan():
    document = documents.plan_document("balanced_guarded")
    headings = [b.text for b in document.blocks if isinstance(b, documents.Heading)]
    for heading in (
        "Purpose",
        "Metrics and weights",
        "Curves",
        "Counter-metrics",
        "Gates",
        "Audits",
        "Vesting and deferral",
        "Malus and clawback",
        "Funding and caps",
        "Sign-off",
    ):
        assert heading in headings
    text = documents.to_markdown(document)
    assert "unauthorized\\_count" in text and "40\\%" in text  # the gate, the deferral


def test_user_text_is_escaped_in_markdown_and_html(tmp_path):
    plan = tmp_path / "evil.yaml"
    plan.write_text(
        "name: evil\nextends: balanced\n"
        'description: "<script>alert(1)</script> *bold* [link](http://x) <img onerror=y>"\n'
    )
    document = documents.plan_document(plan, title="<b>title</b>")
    html = documents.to_html(document)
    assert "<script" not in html and "<img" not in html and "<b>" not in html
    assert "&lt;script&gt;" in html
    markdown = documents.to_markdown(document)
    assert "\\<script\\>" in markdown and "\\[link\\]" in markdown


def test_an_unknown_plan_is_refused_naming_it():
    with pytest.raises(MaterialsError, match=r"unknown plan 'balancd'; did you mean 'balanced'"):
        documents.plan_document("balancd")
    with pytest.raises(MaterialsError, match="unknown plan 'balancd'"):
        workbooks.weighting_workbook("balancd")


def test_a_results_dir_that_is_not_a_batch_is_refused_naming_it(tmp_path):
    empty = tmp_path / "notabatch"
    empty.mkdir()
    for call in (
        lambda: documents.kpi_matrix(empty),
        lambda: documents.plan_document("balanced", empty),
        lambda: documents.review_document(empty),
        lambda: render_materials(tmp_path / "out", empty),
    ):
        with pytest.raises(MaterialsError, match=re.escape(str(empty))):
            call()
    missing = tmp_path / "missing"
    with pytest.raises(MaterialsError, match=f"{re.escape(str(missing))}: no such directory"):
        render_materials(tmp_path / "out", missing)
    assert not (tmp_path / "out").exists()  # refused before anything ran


def test_a_plan_or_team_the_batch_does_not_hold_is_refused(batch_dir):
    with pytest.raises(MaterialsError, match="unknown plan 'balanced'.*Known: no_incentive"):
        documents.plan_document("balanced", batch_dir)
    with pytest.raises(MaterialsError, match="unknown team 'nosuch'"):
        workbooks.baseline_series(batch_dir, GAMED, "mttr_mean_hours", team="nosuch")


def test_the_default_plan_is_the_batchs_incentive_plan(batch_dir):
    assert documents.default_plan(batch_dir) == GAMED
    assert documents.default_plan("") == "balanced_guarded"


def test_render_materials_refuses_unknown_notebooks_and_parameters(tmp_path):
    with pytest.raises(MaterialsError, match="unknown template notebook 'kpi'"):
        render_materials(tmp_path, notebooks=["kpi"])
    with pytest.raises(MaterialsError, match="unknown notebook parameter 'plann'.*'plan'"):
        render_materials(tmp_path, parameters={"plann": "balanced"})
    with pytest.raises(MaterialsError, match="set by render_materials"):
        render_materials(tmp_path, parameters={"output_dir": "/"})


@pytest.mark.parametrize("name", ["../x.md", "sub/x.md", ".hidden.md", ""])
def test_a_material_is_never_written_outside_its_folder(tmp_path, name):
    with pytest.raises(MaterialsError):
        documents.material_path(tmp_path, "templates", name)
    with pytest.raises(MaterialsError):
        documents.material_path(tmp_path, "..", "x.md")


def test_file_stems_are_safe_names():
    assert documents.file_stem("../../etc/passwd") == "etc_passwd"
    assert documents.file_stem("a b<c>") == "a_b_c"
    assert documents.file_stem("...") == "unnamed"


def test_documents_are_written_atomically_into_templates(tmp_path):
    document = documents.Document("t")
    document.paragraph("p")
    written = documents.write_document(document, tmp_path, "x y")
    assert [p.relative_to(tmp_path).as_posix() for p in written] == [
        "templates/x_y.md",
        "templates/x_y.html",
    ]
    assert sorted(p.name for p in (tmp_path / "templates").iterdir()) == ["x_y.html", "x_y.md"]
