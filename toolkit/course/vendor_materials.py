"""Module 6's materials: the vendor SLA alignment sheet and three documents for vendor work.

``notebooks/templates/vendor.ipynb`` renders them: ``worksheets/vendor_sla_alignment.xlsx`` (one
row per vendor, its SLA against the internal period, attainment and credit as live formulas),
and under ``templates/`` the penalty-sharing clause sheet, the data-sharing agreement checklist
and the joint vendor/HR review agenda (Markdown and HTML). They are filled from the scenario's
vendor contracts; the agenda also from the worked governance example when one is given.
"""

from __future__ import annotations

import pandas as pd
from openpyxl.workbook import Workbook

from toolkit.config.scenario import Scenario
from toolkit.course.documents import Document
from toolkit.course.vendor_partners import (
    EXAMPLE_CAP_PCT,
    EXAMPLE_PENALTIES,
    FEEDS,
    RULES,
    vendor_disputes,
)
from toolkit.course.workbooks import INPUT, _header, _notes, _widths, new_workbook
from toolkit.finance.vendor_credits import MONTHS
from toolkit.governance import Governance

HOURS_PER_MONTH = 730  # 8,760 hours a year over 12 months
SHEET_COLUMNS = [
    "vendor",
    "SLA period",
    "months per SLA period",
    "services",
    "target %",
    "monthly fee",
    "first credit band %",
    "downtime hours (enter)",
    "attainment %",
    "shortfall points",
    "credit",
    "internal period months",
    "SLA periods per internal period",
    "SLA period split over internal periods",
]


def _vendor_rows(scenario: Scenario) -> list[tuple]:
    rows = []
    internal_months = {"month": 1, "quarter": 3, "year": 12}[scenario.horizon.period]
    for vendor in scenario.organisation.vendors:
        services = sum(vendor.id in s.vendor_dependencies for s in scenario.organisation.services)
        contract = vendor.contract
        period = contract.period if contract else "month"
        fee = contract.monthly_fee if contract else 0.0
        target = (
            contract.availability.target_pct if contract else 100 * vendor.sla_availability_target
        )
        band = contract.availability.credit_bands[0].credit_pct if contract else 0.0
        rows.append(
            (vendor.id, period, MONTHS[period], services, target, fee, band, internal_months)
        )
    return rows


def sla_alignment_workbook(scenario: Scenario) -> Workbook:
    """Return the vendor SLA alignment sheet: each vendor's SLA against the internal period.

    Parameters
    ----------
    scenario : Scenario
        Its vendors' contracts and its incentive period.

    Returns
    -------
    Workbook
        Sheet ``SLA alignment`` with one row per vendor; attainment, shortfall, credit and the
        periods' fit are formulas of the yellow input cells.
    """
    book = new_workbook()
    ws = book.create_sheet("SLA alignment")
    _header(ws, 1, SHEET_COLUMNS)
    for r, (vendor, period, months, services, target, fee, band, internal) in enumerate(
        _vendor_rows(scenario), start=2
    ):
        values = [vendor, period, months, services, target, fee, band, 0.0]
        for c, value in enumerate(values, start=1):
            ws.cell(row=r, column=c, value=value)
        for c in (5, 6, 7, 8):
            ws.cell(row=r, column=c).fill = INPUT
        ws.cell(row=r, column=9, value=f"=100*(1-H{r}/(D{r}*C{r}*{HOURS_PER_MONTH}))")
        ws.cell(row=r, column=10, value=f"=MAX(0,E{r}-I{r})")
        ws.cell(row=r, column=11, value=f"=IF(J{r}>0,G{r}/100*F{r}*C{r},0)")
        ws.cell(row=r, column=12, value=internal).fill = INPUT
        ws.cell(row=r, column=13, value=f"=L{r}/C{r}")
        ws.cell(row=r, column=14, value=f'=IF(C{r}>L{r},"yes","no")')
    _widths(ws, {"A": 14, "B": 12, "H": 22, "N": 34})
    _notes(
        book,
        [
            "Vendor SLA alignment (course topic 6.1).",
            "One row per vendor: its SLA measurement period against the internal incentive "
            "period. Enter a period's vendor downtime (service-hours) in the yellow column: "
            "attainment, shortfall and the first band's credit follow (live formulas).",
            "An SLA period longer than the internal period is split over internal periods: its "
            "credit cannot be booked against the period of the team's loss.",
            f"A month counts {HOURS_PER_MONTH} hours; the toolkit measures calendar hours.",
        ],
    )
    return book


def penalty_clause_document() -> Document:
    """Return the penalty-sharing clause sheet (course topic 6.2)."""
    doc = Document("Penalty-sharing clause for joint failures (course topic 6.2)")
    doc.paragraph(
        "A joint failure is an incident both the vendor and the internal team contributed to; "
        "the vendor's contribution is its share of the incident's open time covered by its "
        "outage. The clause gives each joint failure a penalty by priority and splits it."
    )
    doc.heading("Split rule (choose one)")
    meaning = {
        "proportional": "each side pays its contribution",
        "primary_owner": "the larger contributor pays all (the vendor above one half)",
        "capped": "proportional, the vendor's total per SLA period capped at a % of its fees",
    }
    doc.table(pd.DataFrame([(r, meaning[r]) for r in RULES], columns=["rule", "meaning"]))
    doc.heading("Penalty per incident by priority (example values)")
    doc.table(
        pd.DataFrame(
            [(str(p), f"{v:,.0f}") for p, v in EXAMPLE_PENALTIES.items()],
            columns=["priority", "penalty"],
        )
    )
    doc.paragraph(f"Example cap under the capped rule: {EXAMPLE_CAP_PCT:.0f} % of the fees.")
    doc.heading("Agreed terms")
    doc.blanks(
        [
            "Rule",
            "Penalty per priority 1 / 2 / 3 / 4",
            "Cap (% of the SLA period's fees)",
            "Evidence of contribution (outage records, monitoring)",
            "Disputes go to (joint review, 6.5)",
            "Signed for the vendor",
            "Signed for the customer",
        ]
    )
    return doc


def data_sharing_document(scenario: Scenario) -> Document:
    """Return the data-sharing agreement checklist, with the contracts' current deliveries."""
    doc = Document("Data-sharing agreement checklist (course topic 6.3)")
    doc.paragraph(
        "Which vendor data each internal measure needs, by when after the period and how "
        "complete; a measure whose data arrives after the statement date is provisional."
    )
    doc.table(
        pd.DataFrame(list(FEEDS.items()), columns=["internal measure", "vendor delivery needed"])
    )
    doc.heading("Deliveries in the contracts")
    rows = [
        (v.id, d.id, d.content, str(d.due_days_after_period_end), f"{d.completeness_pct:g}")
        for v in scenario.organisation.vendors
        if v.contract is not None
        for d in v.contract.data_deliveries
    ]
    doc.table(
        pd.DataFrame(rows, columns=["vendor", "delivery", "content", "due days", "complete %"])
    )
    doc.heading("Checklist")
    doc.blanks(
        [
            "Every measure's delivery named (outages, incidents, SLA report)",
            "Due date before the statement date",
            "Completeness required (100 % or the share accepted)",
            "Format and fields (canonical event log columns)",
            "What happens when late: provisional score, true-up date",
            "Audit right on the vendor's monitoring",
            "Retention and confidentiality",
        ]
    )
    return doc


def joint_review_agenda(gov: Governance | None) -> Document:
    """Return the joint vendor/HR review meeting agenda, with the open vendor contests if any."""
    doc = Document("Joint vendor/HR review meeting (course topic 6.5)")
    doc.paragraph(
        "The vendor's account manager and HR review contested statements together, with a "
        "review-board member who may decide and nobody whose pay the outcome changes."
    )
    doc.heading("Attendees")
    doc.blanks(["Vendor account manager", "HR", "Review board (decides)", "Minutes by"])
    doc.heading("Open vendor contests")
    if gov is None:
        doc.blanks(["Statement", "Vendor", "Team", "Grounds", "Evidence"])
    else:
        table = vendor_disputes(gov)
        shown = table[["statement_id", "vendor_id", "team_id", "filed_by", "status"]]
        doc.table(shown.astype(str))
    doc.heading("Agenda")
    doc.blanks(
        [
            "1. SLA attainment true against reported, per vendor period",
            "2. Joint failures and the penalty split",
            "3. Late or missing data and provisional scores",
            "4. Each contest: evidence, decision, reason",
            "5. Actions and owners",
        ]
    )
    return doc
