"""The course's eight modules and their 48 topics, in the course's own words.

A module's notebook is ``notebooks/modules/<stem>.ipynb``; each topic is a section of it whose
heading starts with the topic's number (``## 1.1 ...``), which is how the course build and the
tests find a topic's table or figure and its exercise check in an executed notebook.
"""

from __future__ import annotations

from dataclasses import dataclass

# the library plans a course build runs for the templates to be filled from
DEFAULT_PLANS = ("no_incentive", "balanced", "balanced_guarded", "sla_attainment", "careful")


@dataclass(frozen=True)
class Topic:
    """One topic of a module: its number (``"1.1"``) and the question it asks."""

    number: str
    question: str


@dataclass(frozen=True)
class Module:
    """One module of the course: its number, notebook stem, title and topics."""

    number: int
    stem: str
    title: str
    topics: tuple[Topic, ...]


MODULES: tuple[Module, ...] = (
    Module(
        1,
        "01_strategic_alignment",
        "Strategic Alignment of Long-Term Incentives with ITSM Objectives",
        (
            Topic(
                "1.1",
                "Determine which ITSM KPIs (e.g., incident resolution time, change success rate) "
                "are appropriate for inclusion in long-term incentive plans without encouraging "
                "metric gaming.",
            ),
            Topic(
                "1.2",
                "Negotiate the weighting of service reliability versus innovation velocity in "
                "incentive models for IT operations leaders.",
            ),
            Topic(
                "1.3",
                "Align bonus cycles with IT service lifecycle phases to ensure accountability for"
                " long-term service health, not just short-term delivery.",
            ),
            Topic(
                "1.4",
                "Integrate customer satisfaction metrics from service reviews into incentive "
                "calculations while accounting for external factors beyond IT control.",
            ),
            Topic(
                "1.5",
                "Define escalation paths for disputes over performance attribution when multiple "
                "teams contribute to a shared service outcome.",
            ),
            Topic(
                "1.6",
                "Establish thresholds for disqualification from incentives due to repeated non-"
                "compliance with change or incident management protocols.",
            ),
        ),
    ),
    Module(
        2,
        "02_performance_metrics",
        "Designing Performance Metrics for Service Ownership",
        (
            Topic(
                "2.1",
                "Select lagging versus leading indicators for service managers, balancing outcome"
                " accountability with influence over inputs.",
            ),
            Topic(
                "2.2",
                "Implement normalized scoring for incident volume across services to prevent bias"
                " against teams managing complex legacy systems.",
            ),
            Topic(
                "2.3",
                "Adjust performance baselines annually to reflect system maturity, avoiding "
                "penalization of teams maintaining stable but aging platforms.",
            ),
            Topic(
                "2.4",
                "Exclude externally caused outages (e.g., vendor downtime, cyberattacks) from "
                "individual performance calculations using documented root cause data.",
            ),
            Topic(
                "2.5",
                "Define acceptable variance ranges for SLA adherence to prevent punitive "
                "treatment of minor, transient breaches.",
            ),
            Topic(
                "2.6",
                "Develop composite scores for cross-functional service teams that fairly "
                "distribute credit for joint outcomes.",
            ),
        ),
    ),
    Module(
        3,
        "03_governance",
        "Governance and Approval Workflows for Incentive Adjustments",
        (
            Topic(
                "3.1",
                "Design a formal review board process for overriding incentive outcomes due to "
                "extraordinary circumstances (e.g., major mergers, regulatory incidents).",
            ),
            Topic(
                "3.2",
                "Document audit trails for all manual adjustments to performance scores to "
                "support transparency and compliance.",
            ),
            Topic(
                "3.3",
                "Define escalation thresholds requiring CFO or CIO approval for incentive "
                "recalculations above a certain monetary value.",
            ),
            Topic(
                "3.4",
                "Implement time-bound windows for contesting performance assessments to prevent "
                "indefinite disputes.",
            ),
            Topic(
                "3.5",
                "Restrict access to incentive adjustment functions to a defined set of HR and IT "
                "governance roles with separation of duties.",
            ),
            Topic(
                "3.6",
                "Integrate incentive governance decisions into existing IT steering committee "
                "agendas to maintain strategic oversight.",
            ),
        ),
    ),
    Module(
        4,
        "04_financial_management",
        "Integration with IT Financial Management and Budgeting",
        (
            Topic(
                "4.1",
                "Allocate incentive funding pools based on service budget size and business "
                "criticality, not headcount alone.",
            ),
            Topic(
                "4.2",
                "Forecast long-term incentive liabilities for IT leadership roles in annual "
                "financial planning cycles.",
            ),
            Topic(
                "4.3",
                "Track incentive payouts as part of IT cost transparency reporting to business "
                "units.",
            ),
            Topic(
                "4.4",
                "Cap variable pay as a percentage of total IT personnel costs to maintain budget "
                "predictability.",
            ),
            Topic(
                "4.5",
                "Coordinate with procurement to adjust vendor incentive models when internal "
                "teams are rewarded for cost savings.",
            ),
            Topic(
                "4.6",
                "Reconcile incentive accruals quarterly with finance to ensure GAAP compliance in"
                " financial statements.",
            ),
        ),
    ),
    Module(
        5,
        "05_behavioural_risk",
        "Behavioral Risk Mitigation in Incentive Structures",
        (
            Topic(
                "5.1",
                "Implement clawback provisions for incentives paid based on performance later "
                "invalidated by audit findings.",
            ),
            Topic(
                "5.2",
                "Monitor for risk-averse behavior in change management due to fear of incident-"
                "related penalty deductions.",
            ),
            Topic(
                "5.3",
                "Balance rewards for speed of delivery with penalties for post-implementation "
                "defects in service releases.",
            ),
            Topic(
                "5.4",
                "Conduct annual reviews of incentive plans to identify unintended consequences, "
                "such as underreporting of incidents.",
            ),
            Topic(
                "5.5",
                "Introduce counter-metrics to detect gaming, such as spike in minor incident "
                "logging to improve resolution time averages.",
            ),
            Topic(
                "5.6",
                "Require documented justification for skipping CAB approvals when teams are "
                "incentivized for rapid change throughput.",
            ),
        ),
    ),
    Module(
        6,
        "06_vendor_coordination",
        "Cross-Functional and Vendor Incentive Coordination",
        (
            Topic(
                "6.1",
                "Align internal ITSM incentive cycles with external SLAs from managed service "
                "providers to ensure shared accountability.",
            ),
            Topic(
                "6.2",
                "Negotiate penalty-sharing clauses with vendors when joint failures impact "
                "internally incentivized outcomes.",
            ),
            Topic(
                "6.3",
                "Define data-sharing agreements to access vendor performance data required for "
                "accurate internal incentive calculations.",
            ),
            Topic(
                "6.4",
                "Coordinate incentive payout timing across internal teams and outsourced partners"
                " to maintain alignment.",
            ),
            Topic(
                "6.5",
                "Establish joint review meetings between vendor account managers and internal HR "
                "to resolve performance disputes.",
            ),
            Topic(
                "6.6",
                "Include subcontractor performance in the incentive metrics of primary vendor "
                "relationship owners.",
            ),
        ),
    ),
    Module(
        7,
        "07_data_infrastructure",
        "Data Infrastructure and System Integration Requirements",
        (
            Topic(
                "7.1",
                "Map data sources from ITSM tools (e.g., ServiceNow, Jira) to incentive "
                "calculation engines with automated validation rules.",
            ),
            Topic(
                "7.2",
                "Ensure data retention policies support multi-year performance tracking for long-"
                "term incentive vesting periods.",
            ),
            Topic(
                "7.3",
                "Implement role-based access controls on incentive data to comply with privacy "
                "regulations and labor laws.",
            ),
            Topic(
                "7.4",
                "Design reconciliation processes between HRIS, payroll systems, and IT "
                "performance databases to prevent discrepancies.",
            ),
            Topic(
                "7.5",
                "Build audit logs for all data inputs used in incentive calculations to support "
                "dispute resolution.",
            ),
            Topic(
                "7.6",
                "Establish SLAs for data availability from IT operations teams to meet incentive "
                "processing deadlines.",
            ),
        ),
    ),
    Module(
        8,
        "08_compliance",
        "Legal, Regulatory, and Labor Compliance Considerations",
        (
            Topic(
                "8.1",
                "Review incentive plan documentation for compliance with local labor laws in each"
                " jurisdiction where IT staff are based.",
            ),
            Topic(
                "8.2",
                "Obtain legal sign-off on discretionary clauses to ensure enforceability in "
                "employment disputes.",
            ),
            Topic(
                "8.3",
                "Classify incentive payments correctly for tax withholding and reporting in "
                "multi-country environments.",
            ),
            Topic(
                "8.4",
                "Consult works councils or employee representatives in EU countries before "
                "implementing changes to variable pay structures.",
            ),
            Topic(
                "8.5",
                "Archive all incentive plan communications and decisions for minimum statutory "
                "retention periods.",
            ),
            Topic(
                "8.6",
                "Conduct equal pay impact assessments to ensure incentive models do not "
                "disproportionately affect protected groups.",
            ),
        ),
    ),
)


def module(number: int) -> Module:
    """Return a module by its number.

    Parameters
    ----------
    number : int
        1 to 8.

    Returns
    -------
    Module
        The module.

    Raises
    ------
    KeyError
        For a number the course does not have, naming the modules it has.
    """
    for candidate in MODULES:
        if candidate.number == number:
            return candidate
    raise KeyError(f"the course has no module {number}; it has modules 1 to {len(MODULES)}")


def topic(number: str) -> Topic:
    """Return a topic by its number, e.g. ``"1.4"``.

    Parameters
    ----------
    number : str
        ``"<module>.<topic>"``.

    Returns
    -------
    Topic
        The topic.

    Raises
    ------
    KeyError
        For a number the course does not have.
    """
    for candidate in MODULES:
        for item in candidate.topics:
            if item.number == number:
                return item
    raise KeyError(f"the course has no topic {number!r}")
