"""A worked example ledger: the start of the governance module's notebook.

On a fresh database it registers a cast (HR, IT governance, finance, CFO, CIO, four
review-board members, team leads, an auditor and a vendor representative), records the batch
it works on as an input, and plays a quarter's governance: a small adjustment approved by HR and
IT governance, a large one approved by the CFO, one rejected, an approval refused for
separation of duties, an override carried by a board quorum, statements contested inside and
outside their window, a vendor's contest left open, and a checkpoint signed by the auditor.
Amounts are scaled to what the batch's teams earned, so the example speaks in the batch's money.
"""

from __future__ import annotations

from contextlib import suppress
from datetime import date, timedelta
from pathlib import Path

import pandas as pd

from toolkit.governance.audit import Checkpoint, checkpoint
from toolkit.governance.errors import GovernanceError
from toolkit.governance.inputs import record_inputs
from toolkit.governance.workflows import Governance, RefusedError

ISSUED = date(2027, 1, 11)  # statements go out after the quarter closes
WINDOW_DAYS = 14


def _earned(batch: Path | None, reference: str) -> tuple[list[str], str, list[float]]:
    """Return the two best-paid teams of the batch's first plan other than the reference."""
    if batch is None:
        return ["apps", "ops"], "2026Q1", [40_000.0, 25_000.0]
    try:
        runs = pd.read_parquet(batch / "runs.parquet")
    except (OSError, ValueError) as exc:
        raise GovernanceError(f"{batch}: not a batch directory ({exc})") from None
    paid = runs[runs["plan"] != reference].sort_values(["plan", "seed"])
    if paid.empty:
        raise GovernanceError(f"{batch}: holds no run of a plan other than {reference!r}")
    awards = pd.read_parquet(batch / paid["directory"].iloc[0] / "awards.parquet")
    if awards.empty:
        raise GovernanceError(f"{batch}: its first plan's run granted no awards")
    first = awards["cohort"].iloc[0]
    by_team = awards[awards["cohort"] == first].groupby("team_id")["earned"].sum()
    top = by_team.sort_values(ascending=False, kind="stable").head(2)
    if len(top) < 2:
        raise GovernanceError(f"{batch}: the example needs two teams with awards")
    return [str(team) for team in top.index], str(first), [float(v) for v in top.to_numpy()]


def build_demo(
    target: str | Path, batch: str | Path | None = None, reference: str = "no_incentive"
) -> tuple[Governance, Checkpoint]:
    """Write the worked example into a new governance database.

    Parameters
    ----------
    target : str or Path
        The database (path or URL); it must hold no audit entry yet.
    batch : str or Path, optional
        A batch directory whose teams, cohort and awards the example uses (and which it records
        as an input); without one, two teams ``apps`` and ``ops``.
    reference : str
        The batch's reference plan, passed over when picking the run.

    Returns
    -------
    Governance, Checkpoint
        The ledger and the checkpoint the auditor signed at the end.

    Raises
    ------
    GovernanceError
        When the database already holds entries or the batch cannot be read.
    """
    gov = Governance.open(target)
    with gov.engine.connect() as connection:
        if connection.exec_driver_sql("SELECT COUNT(*) FROM audit_log").scalar():
            raise GovernanceError("the example needs an empty governance database")
    folder = Path(batch) if batch is not None else None
    (first, second), period, (earned_first, earned_second) = _earned(folder, reference)
    cast = [
        ("hr-anna", "Anna Berg", ["hr"], None, None),
        ("hr-bo", "Bo Lind", ["hr"], None, None),
        ("itg-ben", "Ben Okafor", ["it_governance"], None, None),
        ("fin-cara", "Cara Diaz", ["finance"], None, None),
        ("cfo-dan", "Dan Meyer", ["cfo"], None, None),
        ("cio-eva", "Eva Novak", ["cio"], None, None),
        ("board-fay", "Fay Chen", ["review_board"], None, None),
        ("board-gus", "Gus Adler", ["review_board"], None, None),
        ("board-hal", "Hal Ruiz", ["review_board"], first, None),
        ("board-ivo", "Ivo Marsh", ["review_board"], None, None),
        (f"lead-{first}", f"Lead of {first}", ["team_lead"], first, None),
        (f"lead-{second}", f"Lead of {second}", ["team_lead"], second, None),
        ("audit-lu", "Lu Sato", ["auditor"], None, None),
        ("vendor-mo", "Mo Reid", ["vendor_rep"], None, "cloudco"),
    ]
    for i, person in enumerate(cast):
        gov.add_person("system" if i == 0 else "hr-anna", *person)
    if folder is not None:
        record_inputs(gov.engine, "fin-cara", folder)

    small = round(min(0.05 * earned_first, 9_000.0), -1) or 500.0
    large = round(max(0.3 * earned_second, 12_000.0), -2)
    fixed = gov.propose(
        "fin-cara", first, period, small, "data_error", "INC-4711 closed twice in the export"
    )
    gov.approve("hr-bo", fixed, "matches the corrected export")
    with suppress(RefusedError):  # refused and logged: a team lead may not approve
        gov.approve(f"lead-{first}", fixed)
    gov.approve("itg-ben", fixed, "records checked")
    moved = gov.propose(
        "fin-cara", second, period, large, "misattribution", "RCA-12: vendor outage booked internal"
    )
    gov.approve("cfo-dan", moved, "root cause confirmed by the vendor")
    declined = gov.propose(
        "hr-anna", second, period, -small, "scope_change", "one engineer moved mid-quarter"
    )
    gov.reject("itg-ben", declined, "the move was after the period closed")
    override = gov.propose_override(
        "board-fay",
        second,
        period,
        round(0.1 * earned_second, -1) or 300.0,
        "regulatory_incident",
        "change freeze ordered by the regulator for six weeks",
        2,
    )
    gov.vote_override("board-gus", override, True)
    gov.vote_override("board-hal", override, True)

    on_time = gov.issue_statement("itg-ben", first, period, earned_first, WINDOW_DAYS, ISSUED)
    late = gov.issue_statement("itg-ben", second, period, earned_second, WINDOW_DAYS, ISSUED)
    contest = gov.contest(
        f"lead-{first}", on_time, "vendor time counted in MTTR", ISSUED + timedelta(days=9)
    )
    gov.decide_contest(
        "board-fay", contest, "upheld", "vendor time excluded", ISSUED + timedelta(days=20)
    )
    with suppress(RefusedError):  # refused and logged: the window closed two days before
        gov.contest(
            f"lead-{second}", late, "priority 2 should have been 3", ISSUED + timedelta(days=16)
        )
    vendor = gov.issue_statement(
        "itg-ben", second, period, 0.0, WINDOW_DAYS, ISSUED, vendor="cloudco"
    )
    gov.contest("vendor-mo", vendor, "outage start taken from our late report", ISSUED)
    return gov, checkpoint(gov.engine, "audit-lu")
