"""The course's spreadsheets: KPI matrix, gaming-risk, weighting and baseline worksheets.

The worksheets compute with live Excel formulas, so a learner who changes a score, a weight
or a window sees the result change, in any spreadsheet program. The baseline worksheet's
formulas implement the toolkit's own definitions (:func:`toolkit.plans.baselines.baseline_values`,
:func:`toolkit.plans.curves.improvement`, :func:`toolkit.plans.curves.curve_payout`), so that
what a learner computes by hand is what the plan engine pays. Workbooks are saved with fixed
properties and fixed archive timestamps: the same inputs give the same bytes.
"""

from __future__ import annotations

import datetime
import io
import zipfile
from pathlib import Path

import pandas as pd
from openpyxl import Workbook
from openpyxl.formatting.rule import FormulaRule
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet
from openpyxl.writer.excel import ExcelWriter

from toolkit.config.plan import LinearCurve, Plan
from toolkit.course.documents import (
    LEVERS,
    WORKSHEETS,
    MaterialsError,
    material_path,
    require_batch,
    resolve_plan,
    write_atomic,
)
from toolkit.metrics.context import ALL
from toolkit.metrics.registry import CATALOGUE

FIXED_TIME = datetime.datetime(2026, 1, 1)
ZIP_TIME = (2026, 1, 1, 0, 0, 0)
BOLD = Font(bold=True)
INPUT = PatternFill("solid", fgColor="FFF2CC")  # cells the learner fills in
ALARM = PatternFill("solid", fgColor="F4CCCC")
SCORE_RANGE = (1, 5)
BLANK_ROWS = 8  # metric rows of a blank weighting worksheet
BLANK_PERIODS = 12  # periods of a blank baseline worksheet (three years of quarters)
# The curve a blank baseline worksheet starts with: mttr_only's improvement curve.
DEFAULT_CURVE = ((-0.10, 50.0), (0.05, 100.0), (0.25, 200.0))
DEFAULT_START = 4
DEFAULT_WINDOW = 4


def new_workbook() -> Workbook:
    """Return an empty workbook with fixed document properties (creator, times)."""
    workbook = Workbook()
    workbook.remove(workbook.active)
    workbook.properties.creator = "LTI-ITSM toolkit"
    workbook.properties.created = FIXED_TIME
    workbook.properties.modified = FIXED_TIME
    return workbook


def workbook_bytes(workbook: Workbook) -> bytes:
    """Serialise a workbook deterministically: fixed properties and archive timestamps.

    openpyxl's own ``save`` stamps the time of saving into the properties and the archive;
    here the parts are written as openpyxl writes them and repacked with fixed timestamps.
    """
    workbook.properties.modified = FIXED_TIME
    raw = io.BytesIO()
    with zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED) as archive:
        ExcelWriter(workbook, archive).save()
    packed = io.BytesIO()
    with (
        zipfile.ZipFile(raw) as source,
        zipfile.ZipFile(packed, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for item in source.infolist():
            info = zipfile.ZipInfo(item.filename, date_time=ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o600 << 16
            target.writestr(info, source.read(item.filename))
    return packed.getvalue()


def save_workbook(
    workbook: Workbook, output_dir: str | Path, name: str, folder: str = WORKSHEETS
) -> Path:
    """Write a workbook into ``output_dir/folder/`` under a hidden name, then rename it.

    Parameters
    ----------
    workbook : Workbook
        The workbook.
    output_dir : path
        The output directory.
    name : str
        The file name, ending in ``.xlsx``.
    folder : str
        ``worksheets`` (what a learner fills in) or ``templates`` (what a practitioner adapts).

    Returns
    -------
    Path
        The file written.
    """
    return write_atomic(material_path(output_dir, folder, name), workbook_bytes(workbook))


def sheet_frame(workbook: Workbook, sheet: str | None = None) -> pd.DataFrame:
    """Return a sheet's cells as a frame (formulas as their text), for a preview in a notebook.

    Parameters
    ----------
    workbook : Workbook
        The workbook.
    sheet : str, optional
        The sheet's name; the first sheet by default.

    Returns
    -------
    DataFrame
        One row per sheet row, columns named by their letters.
    """
    ws = workbook[sheet] if sheet else workbook.worksheets[0]
    rows = [["" if v is None else v for v in row] for row in ws.iter_rows(values_only=True)]
    columns = [get_column_letter(i + 1) for i in range(ws.max_column)]
    return pd.DataFrame(rows, columns=columns, index=range(1, len(rows) + 1))


def _header(ws: Worksheet, row: int, names: list[str]) -> None:
    for col, name in enumerate(names, start=1):
        cell = ws.cell(row=row, column=col, value=name)
        cell.font = BOLD
    ws.freeze_panes = ws.cell(row=row + 1, column=1)


def _widths(ws: Worksheet, widths: dict[str, float]) -> None:
    for letter, width in widths.items():
        ws.column_dimensions[letter].width = width


def _notes(workbook: Workbook, lines: list[str]) -> None:
    ws = workbook.create_sheet("How to use")
    for row, line in enumerate(lines, start=1):
        ws.cell(row=row, column=1, value=line)
    ws.column_dimensions["A"].width = 110


def _frame_sheet(ws: Worksheet, frame: pd.DataFrame, start: int = 1) -> None:
    _header(ws, start, [str(c) for c in frame.columns])
    for r, row in enumerate(frame.itertuples(index=False), start=start + 1):
        for c, value in enumerate(row, start=1):
            ws.cell(row=r, column=c, value=None if pd.isna(value) or value == "" else value)


# ---------------------------------------------------------------------------------------------
# KPI selection matrix (a template) and the gaming-risk worksheet


def kpi_matrix_workbook(matrix: pd.DataFrame) -> Workbook:
    """Return the KPI selection matrix as a workbook: the matrix and the gaming levers.

    Parameters
    ----------
    matrix : DataFrame
        From :func:`toolkit.course.documents.kpi_matrix`.

    Returns
    -------
    Workbook
        Sheets ``Matrix`` (one row per KPI, the scoring columns blank, with input cells
        shaded and scores validated) and ``Levers``.
    """
    workbook = new_workbook()
    ws = workbook.create_sheet("Matrix")
    _frame_sheet(ws, matrix)
    _widths(ws, {"A": 28, "B": 18, "C": 16, "D": 10, "E": 50, "F": 30})
    last = len(matrix) + 1
    for name in ("likelihood (1-5)", "impact (1-5)"):
        if name in matrix.columns:
            letter = get_column_letter(list(matrix.columns).index(name) + 1)
            _score_validation(ws, f"{letter}2:{letter}{last}")
    for col, name in enumerate(matrix.columns, start=1):
        if name in ("likelihood (1-5)", "impact (1-5)", "use in the plan?", "guard", "notes"):
            for row in range(2, last + 1):
                ws.cell(row=row, column=col).fill = INPUT
    levers = workbook.create_sheet("Levers")
    _frame_sheet(
        levers, pd.DataFrame({"lever": list(LEVERS), "what it does": list(LEVERS.values())})
    )
    _widths(levers, {"A": 22, "B": 80})
    return workbook


def _validation(ws: Worksheet, cells: str, kind: str, low: float, high: float, error: str) -> None:
    """Accept only numbers of ``kind`` (``whole`` or ``decimal``) from ``low`` to ``high``."""
    rule = DataValidation(
        type=kind,
        operator="between",
        formula1=f"{low:g}",
        formula2=f"{high:g}",
        allow_blank=True,
        showErrorMessage=True,
        errorTitle="Out of range",
        error=error,
    )
    rule.add(cells)
    ws.add_data_validation(rule)


def _score_validation(ws: Worksheet, cells: str) -> None:
    low, high = SCORE_RANGE
    _validation(ws, cells, "whole", low, high, f"Enter a whole number from {low} to {high}.")


RISK_COLUMNS = ["kpi", "unit", "direction", "gamed by", "likelihood (1-5)", "impact (1-5)"]


def risk_workbook(matrix: pd.DataFrame) -> Workbook:
    """Return the KPI gaming-risk worksheet: scores entered, risk and rank by live formulas.

    Parameters
    ----------
    matrix : DataFrame
        From :func:`toolkit.course.documents.kpi_matrix`; its measured gaming gaps, if any,
        are shown beside the scores.

    Returns
    -------
    Workbook
        Sheet ``Risk``: per KPI the learner's likelihood (E) and impact (F), validated as whole
        numbers 1..5; ``risk score`` (G) ``=E*F`` once both are entered; ``rank`` (H) by
        ``RANK`` among the scored KPIs (1 = highest risk); then the measured gaps.
    """
    workbook = new_workbook()
    ws = workbook.create_sheet("Risk")
    gaps = [c for c in matrix.columns if c.startswith("gaming gap under ")]
    _header(ws, 1, [*RISK_COLUMNS, "risk score", "rank", *gaps])
    last = len(matrix) + 1
    for r, row in enumerate(matrix.itertuples(index=False), start=2):
        values = dict(zip(matrix.columns, row, strict=True))
        for c, name in enumerate(["kpi", "unit", "direction", "gamed by"], start=1):
            ws.cell(row=r, column=c, value=values[name])
        for c in (5, 6):
            ws.cell(row=r, column=c).fill = INPUT
        ws.cell(row=r, column=7, value=f'=IF(AND(ISNUMBER(E{r}),ISNUMBER(F{r})),E{r}*F{r},"")')
        ws.cell(row=r, column=8, value=f'=IF(ISNUMBER(G{r}),RANK(G{r},$G$2:$G${last}),"")')
        for c, name in enumerate(gaps, start=9):
            value = values[name]
            ws.cell(row=r, column=c, value=None if pd.isna(value) else float(value))
    _score_validation(ws, f"E2:F{last}")
    _widths(ws, {"A": 28, "B": 18, "C": 16, "D": 50, "E": 16, "F": 13, "G": 11, "H": 7})
    _notes(
        workbook,
        [
            "KPI gaming-risk worksheet (course topics 1.1 and 5.5).",
            "Enter for each KPI the likelihood (1-5) that teams game it under your plan and the "
            "impact (1-5) if they do, in the shaded cells.",
            "risk score = likelihood x impact, and rank = its rank among the KPIs scored "
            "(1 = the highest risk), are computed by the sheet.",
            "'gamed by' lists the gaming levers that flatter the KPI (see the KPI selection "
            "matrix); measured gaming gaps, when shown, come from a batch: record minus truth "
            "in the KPI's unit, positive = the record flatters.",
        ],
    )
    return workbook


# ---------------------------------------------------------------------------------------------
# Weighting worksheet


def weighting_workbook(plan: str | Path | Plan | None = None) -> Workbook:
    """Return the weighting worksheet: weights and scores entered, sums checked by formulas.

    Parameters
    ----------
    plan : str, path or Plan, optional
        A plan (library name, file or model) whose metrics and weights prefill the sheet, the
        weights as % of their total; None leaves the rows blank.

    Returns
    -------
    Workbook
        Sheet ``Weights``: metric (A), weight % (B), score as payout % of target (C), and
        weighted points ``=B*C/100`` (D); a total row with the weights' sum and the composite
        score (the sum of the weighted points), a check cell that says ``OK`` only when the
        weights sum to 100 %, and conditional formatting that marks a sum other than 100.

    Raises
    ------
    MaterialsError
        For an unknown plan or a plan file that does not load.
    """
    model = plan if isinstance(plan, Plan) or plan is None else resolve_plan(plan)
    metrics = list(model.metrics) if model is not None else []
    total = sum(m.weight for m in metrics)
    rows = max(BLANK_ROWS, len(metrics))
    workbook = new_workbook()
    ws = workbook.create_sheet("Weights")
    _header(ws, 1, ["metric", "weight (%)", "score (payout % of target)", "weighted points"])
    last = rows + 1
    for r in range(2, last + 1):
        if r - 2 < len(metrics):
            metric = metrics[r - 2]
            ws.cell(row=r, column=1, value=metric.kpi)
            ws.cell(row=r, column=2, value=round(100 * metric.weight / total, 10))
        for c in (1, 2, 3):
            ws.cell(row=r, column=c).fill = INPUT
        ws.cell(row=r, column=4, value=f'=IF(AND(ISNUMBER(B{r}),ISNUMBER(C{r})),B{r}*C{r}/100,"")')
    _validation(ws, f"B2:B{last}", "decimal", 0, 100, "A weight is a percentage from 0 to 100.")
    _validation(ws, f"C2:C{last}", "decimal", 0, 1000, "A score is a payout from 0 to 1000 %.")
    total_row, check_row = last + 1, last + 2
    ws.cell(row=total_row, column=1, value="total").font = BOLD
    ws.cell(row=total_row, column=2, value=f"=SUM(B2:B{last})")
    ws.cell(row=total_row, column=3, value="composite score")
    ws.cell(row=total_row, column=4, value=f"=SUM(D2:D{last})")
    ws.cell(row=check_row, column=1, value="weights check").font = BOLD
    ws.cell(
        row=check_row,
        column=2,
        value=(
            f'=IF(ABS(B{total_row}-100)<0.000001,"OK","weights sum to "'
            f'&TEXT(B{total_row},"0.0")&" %, not 100 %")'
        ),
    )
    ws.conditional_formatting.add(
        f"B{total_row}:B{check_row}",
        FormulaRule(formula=[f"ABS($B${total_row}-100)>=0.000001"], fill=ALARM),
    )
    _widths(ws, {"A": 28, "B": 26, "C": 26, "D": 16})
    name = model.name if model is not None else "your plan"
    _notes(
        workbook,
        [
            "Weighting worksheet (course topic 1.2): reliability against innovation velocity.",
            f"Metrics and weights: {name}. Enter or change the metrics and their weights (in %) "
            "in the shaded cells; the weights must sum to 100 % (the check cell says OK, and "
            "the total is marked while it does not).",
            "Enter each metric's score (its payout in % of target, 100 = on target); the sheet "
            "weighs them into the composite score.",
            "Try shifting weight between reliability metrics (MTTR, availability) and delivery "
            "(change throughput), and compare the composite under different scores.",
        ],
    )
    return workbook


# ---------------------------------------------------------------------------------------------
# Baseline adjustment worksheet

# Layout of the baseline worksheet: parameter cells, then one row per period from FIRST_ROW.
KPI_CELL, DIRECTION_CELL, START_CELL, WINDOW_CELL = "B1", "B2", "B3", "B4"
CURVE_ROWS = (5, 6, 7)  # threshold, target, maximum: level in B, payout % in C
SIGN_CELL = "B8"
HEADER_ROW = 10
FIRST_ROW = 11
POLICIES = ("fixed", "rolling", "ratchet")
BASELINE_HEADERS = [
    "k",
    "period",
    "value",
    *(f"{p} baseline" for p in POLICIES),
    *(f"improvement ({p})" for p in POLICIES),
    *(f"payout % ({p})" for p in POLICIES),
]


def baseline_series(
    results_dir: str | Path, plan: str, kpi: str, team: str = "", seed: int | None = None
) -> pd.DataFrame:
    """Return one team's reported KPI series from one run of a batch, period by period.

    Parameters
    ----------
    results_dir : path
        The batch directory the series is read from.
    plan : str
        The name of the plan whose run is read; the batch must hold it.
    kpi : str
        A KPI of the catalogue (or a per-priority variant).
    team : str
        A team id; ``""`` takes the first team by id.
    seed : int, optional
        A seed of the batch; the first by default.

    Returns
    -------
    DataFrame
        Columns ``period, value`` (team level, all services, on the record), in time order;
        a period without a value is missing. ``attrs`` holds the ``kpi``, ``plan``, ``team``
        and ``seed`` chosen.

    Raises
    ------
    MaterialsError
        If ``results_dir`` is not a batch, or the plan, seed, team or KPI is not in it
        (naming the ones that are).
    """
    from toolkit.report.data import unknown_name

    batch = require_batch(results_dir)
    where = f"results_dir {batch.directory}: "
    if plan not in batch.plans():
        raise MaterialsError(where + unknown_name("plan", plan, batch.plans()))
    seed = batch.seeds[0] if seed is None else seed
    if seed not in batch.seeds:
        raise MaterialsError(where + unknown_name("seed", seed, [str(s) for s in batch.seeds]))
    kpis = batch.run_table("kpis")
    run = kpis[(kpis["plan"] == plan) & (kpis["seed"] == seed)]
    run = run[run["scenario"] == run["scenario"].min()]
    teams = sorted(set(run["team_id"]) - {ALL})
    team = team or (teams[0] if teams else "")
    if team not in teams:
        raise MaterialsError(where + unknown_name("team", team, teams))
    measured = sorted(run["kpi"].unique())
    if kpi not in measured:
        raise MaterialsError(where + unknown_name("KPI", kpi, measured))
    periods = sorted(run["period"].unique())
    rows = run[
        (run["view"] == "reported")
        & (run["team_id"] == team)
        & (run["service_id"] == ALL)
        & (run["kpi"] == kpi)
    ].set_index("period")["value"]
    series = pd.DataFrame({"period": periods, "value": rows.reindex(periods).to_numpy()})
    series.attrs.update(kpi=kpi, plan=plan, team=team, seed=int(seed))
    return series


def _direction(kpi: str) -> str:
    from toolkit.plans.loading import kpi_by_name

    entry = kpi_by_name().get(kpi)
    return entry.direction if entry is not None else "lower"


def baseline_workbook(
    series: pd.DataFrame | None = None,
    kpi: str = "mttr_mean_hours",
    start: int = DEFAULT_START,
    window: int = DEFAULT_WINDOW,
    curve: LinearCurve | None = None,
    title: str = "",
) -> Workbook:
    """Return the baseline adjustment worksheet: fixed, rolling and ratchet baselines by formula.

    The formulas implement :func:`toolkit.plans.baselines.baseline_values` for the period of
    each row ``k`` from the values of periods ``0 .. k-1``: fixed, the mean of the pre-plan
    periods ``0 .. start-1``; rolling, the mean of the last ``N`` periods; ratchet, the best
    in the KPI's better direction of the fixed baseline and every rolling baseline since the
    plan started. Then the improvement over each (:func:`toolkit.plans.curves.improvement`)
    and the payout of a linear curve on it (:func:`toolkit.plans.curves.curve_payout`).
    Missing values are skipped, as the toolkit skips them.

    Parameters
    ----------
    series : DataFrame, optional
        Columns ``period, value`` (:func:`baseline_series`); None gives blank value cells for
        :data:`BLANK_PERIODS` periods.
    kpi : str
        The KPI the values are of; its better direction fills the direction cell.
    start : int
        Pre-plan periods (the plan's ``start_after_periods``), in cell B3.
    window : int
        The rolling window ``N``, in cell B4.
    curve : LinearCurve, optional
        The improvement curve (threshold, target, maximum) in B5:C7; by default
        :data:`DEFAULT_CURVE`.
    title : str
        Where the values come from, shown on the sheet.

    Returns
    -------
    Workbook
        Sheet ``Baselines``: parameters in B1:C8, one row per period from row
        :data:`FIRST_ROW` (``k``, period, value, three baselines, three improvements, three
        payouts), baselines blank before the plan starts.
    """
    points = (
        DEFAULT_CURVE
        if curve is None
        else tuple((p.level, p.payout_pct) for p in (curve.threshold, curve.target, curve.maximum))
    )
    workbook = new_workbook()
    ws = workbook.create_sheet("Baselines")
    labels = [
        ("KPI", kpi),
        ("better direction (lower or higher)", _direction(kpi)),
        ("pre-plan periods (start)", start),
        ("rolling window N (periods)", window),
    ]
    for row, (label, value) in enumerate(labels, start=1):
        ws.cell(row=row, column=1, value=label).font = BOLD
        ws.cell(row=row, column=2, value=value).fill = INPUT
    for row, name, (level, payout) in zip(
        CURVE_ROWS, ("threshold", "target", "maximum"), points, strict=True
    ):
        ws.cell(row=row, column=1, value=f"curve {name}: improvement, payout %").font = BOLD
        ws.cell(row=row, column=2, value=level).fill = INPUT
        ws.cell(row=row, column=3, value=payout).fill = INPUT
    ws.cell(row=8, column=1, value="curve direction (1 rising, -1 falling)").font = BOLD
    ws[SIGN_CELL] = "=IF(B7>B5,1,-1)"
    if title:
        ws.cell(row=9, column=1, value=title)
    direction = DataValidation(type="list", formula1='"lower,higher"', allow_blank=False)
    direction.add(DIRECTION_CELL)
    ws.add_data_validation(direction)
    _validation(ws, f"{START_CELL}:{WINDOW_CELL}", "whole", 1, 40, "Whole periods from 1 to 40.")
    _header(ws, HEADER_ROW, BASELINE_HEADERS)
    periods = (
        list(zip([""] * BLANK_PERIODS, [None] * BLANK_PERIODS, strict=True))
        if series is None
        else [(str(p), None if pd.isna(v) else float(v)) for p, v in series.itertuples(index=False)]
    )
    last = FIRST_ROW + len(periods) - 1
    ks, values = f"$A${FIRST_ROW}:$A${last}", f"$C${FIRST_ROW}:$C${last}"
    for i, (label, value) in enumerate(periods):
        r = FIRST_ROW + i
        ws.cell(row=r, column=1, value=i)
        ws.cell(row=r, column=2, value=label or None)
        ws.cell(row=r, column=3, value=value).fill = INPUT
        before = f"A{r}<$B$3"
        best = 'IF($B$2="lower",MIN({0},{1}),MAX({0},{1}))'
        ws.cell(row=r, column=4, value=f'=IF({before},"",AVERAGEIFS({values},{ks},"<"&$B$3))')
        ws.cell(
            row=r,
            column=5,
            value=f'=IF({before},"",AVERAGEIFS({values},{ks},">="&(A{r}-$B$4),{ks},"<"&A{r}))',
        )
        ws.cell(
            row=r,
            column=6,
            value=(
                f'=IF({before},"",IF(A{r}=$B$3,{best.format(f"D{r}", f"E{r}")},'
                f"{best.format(f'F{r - 1}', f'E{r}')}))"
            ),
        )
        for offset in range(3):
            base = get_column_letter(4 + offset)
            gain = f'IF($B$2="lower",{base}{r}-C{r},C{r}-{base}{r})'
            ws.cell(
                row=r,
                column=7 + offset,
                value=(
                    f'=IF(OR({base}{r}="",NOT(ISNUMBER(C{r}))),"",IF({base}{r}=0,'
                    f"IF({gain}>0,1E+300,IF({gain}<0,-1E+300,0)),{gain}/{base}{r}))"
                ),
            )
            x = f"{get_column_letter(7 + offset)}{r}"
            ws.cell(
                row=r,
                column=10 + offset,
                value=(
                    f'=IF({x}="","",IF($B$8*{x}<$B$8*$B$5,0,IF($B$8*{x}>=$B$8*$B$7,$C$7,'
                    f"IF($B$8*{x}<=$B$8*$B$6,$C$5+({x}-$B$5)*($C$6-$C$5)/($B$6-$B$5),"
                    f"$C$6+({x}-$B$6)*($C$7-$C$6)/($B$7-$B$6)))))"
                ),
            )
    _widths(ws, {"A": 38, "B": 12, "C": 12})
    for col in range(4, 13):
        ws.column_dimensions[get_column_letter(col)].width = 17
    _notes(
        workbook,
        [
            "Baseline adjustment worksheet (course topic 2.3): fixed, rolling and ratchet "
            "baselines on an ageing platform.",
            "Enter the KPI's value per period in column C (or change the prefilled ones), the "
            "better direction, the pre-plan periods and the rolling window N in B2:B4, and "
            "the improvement curve in B5:C7.",
            "For each plan period k: fixed = mean of the pre-plan periods 0..start-1; rolling "
            "= mean of periods k-N..k-1; ratchet = the best (lowest for 'lower', highest for "
            "'higher') of the fixed baseline and every rolling baseline since the plan "
            "started, so a target only gets harder.",
            "improvement = (baseline - value) / baseline for a KPI where lower is better, "
            "(value - baseline) / baseline where higher is better; payout % = the linear "
            "curve: nothing below the threshold, interpolated to the target and the maximum, "
            "the maximum's payout beyond it. These are the plan engine's definitions.",
        ],
    )
    return workbook


def metric_baseline(plan: Plan, kpi: str) -> tuple[int, int, LinearCurve | None]:
    """Return a plan's pre-plan periods, and the rolling window and curve of its metric on ``kpi``.

    The window and curve are the defaults (:data:`DEFAULT_WINDOW`, no curve) unless the plan
    scores an improvement of ``kpi`` on a linear curve.
    """
    for metric in plan.metrics:
        if metric.kpi == kpi and metric.basis == "improvement":
            curve = metric.curve if isinstance(metric.curve, LinearCurve) else None
            return plan.start_after_periods, metric.baseline.window_periods, curve
    return plan.start_after_periods, DEFAULT_WINDOW, None


def known_kpi(kpi: str) -> str:
    """Return ``kpi`` if the catalogue has it, else raise :class:`MaterialsError` naming it."""
    from toolkit.plans.loading import kpi_by_name
    from toolkit.report.data import unknown_name

    if kpi not in kpi_by_name():
        raise MaterialsError(unknown_name("KPI", kpi, sorted(CATALOGUE)))
    return kpi
