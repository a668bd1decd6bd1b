"""Module 3, governance and approval workflows: the notebook's ledger, paragraphs and checks.

The notebook ``notebooks/modules/03_governance.ipynb`` works on a real governance database
(:mod:`toolkit.governance`) filled with the worked example on a batch of the module's plans:
review-board overrides and their quorum (3.1), the tamper-evident audit trail (3.2), approval
thresholds by money (3.3), contest windows (3.4), roles and separation of duties (3.5) and the
steering committee's agenda (3.6). This module holds what keeps the notebook free of logic: the
ledger it starts from, a paragraph per result written from its numbers, and a checker per
exercise.
"""

from __future__ import annotations

import json
import math
import sqlite3
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from toolkit.course.exercises import Check, failed, passed
from toolkit.course.wording import listing, money, share
from toolkit.experiments.batch import BatchResult
from toolkit.governance import Governance, entries, open_engine, verify
from toolkit.governance.audit import Checkpoint, entry_hash
from toolkit.governance.demo import build_demo
from toolkit.governance.migrations import PERMISSIONS, ROUTING

LEDGER = "governance.db"
ADJUSTMENT_SHARE = 0.1  # 3.3: a recalculation moves a tenth of a team's award for a cohort
CFO_SHARE = 0.2  # 3.3: the CFO and CIO see at most a fifth of the recalculations
ADMITTED_GOAL = 0.8  # 3.4: the window admits at least 80 % of the filings teams need


def example_ledger(directory: str | Path, batch: str | Path | None) -> tuple[Governance, Path]:
    """Write the worked example ledger afresh into ``directory/governance.db``.

    Parameters
    ----------
    directory : str or Path
        The notebook's own output directory (its earlier ledger there is replaced).
    batch : str or Path, optional
        The batch whose teams and awards the example uses.

    Returns
    -------
    Governance, Path
        The ledger and its database file.
    """
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / LEDGER
    for stale in (path, path.with_name(LEDGER + "-wal"), path.with_name(LEDGER + "-shm")):
        stale.unlink(missing_ok=True)
    gov, _ = build_demo(path, batch)
    return gov, path


def audit_table(gov: Governance) -> pd.DataFrame:
    """Return the audit log as a table: position, time, actor, action, subject, short hash."""
    rows = [
        {
            "seq": e.seq,
            "recorded_at": e.recorded_at[:19],
            "actor": e.actor,
            "action": e.action,
            "subject": e.subject,
            "hash": e.hash[:12],
        }
        for e in entries(gov.engine)
    ]
    return pd.DataFrame(rows, columns=["seq", "recorded_at", "actor", "action", "subject", "hash"])


# -- 3.1 overrides ---------------------------------------------------------------------------
def interpret_overrides(gov: Governance, currency: str = "EUR") -> str:
    """Write what the board decided on overrides, from the ledger."""
    overrides = gov.view("audit-lu", "overrides")
    if overrides.empty:
        return "No override was proposed, so the board had nothing to decide."
    parts = []
    for row in overrides.itertuples():
        voters = gov.voters(row.proposed_by, row.team_id)
        parts.append(
            f"override {row.override_id} ({row.circumstance.replace('_', ' ')}, "
            f"{money(row.amount, currency)} for {row.team_id}) is {row.status}: it needed "
            f"{row.quorum} of the {len(voters)} members who may vote"
        )
    board = set(gov.voters("", ""))  # every member, with no proposer or team set aside
    excluded = sorted(
        board
        - {r.proposed_by for r in overrides.itertuples()}
        - set().union(*(gov.voters(r.proposed_by, r.team_id) for r in overrides.itertuples()))
    )
    members = (
        f" Members of the team concerned cannot vote ({listing(excluded)})." if excluded else ""
    )
    text = "; ".join(parts)
    return f"{text[0].upper()}{text[1:]}.{members} The proposer never votes on their own case."


def check_quorum(gov: Governance, proposer: str, team: str, quorum: int) -> Check:
    """Check a quorum: no single member carries an override, one absence does not block it.

    Parameters
    ----------
    gov : Governance
        The ledger (its board).
    proposer, team : str
        Who proposes the override, for which team.
    quorum : int
        The learner's quorum.

    Returns
    -------
    Check
        Met when ``2 <= quorum <= m - 1`` for the ``m`` members who may vote.
    """
    m = len(gov.voters(proposer, team))
    if not isinstance(quorum, int) or quorum < 1:
        return failed("3.1", f"A quorum is a whole number of votes, not {quorum!r}.", "Use 1..m.")
    if quorum < 2:
        return failed(
            "3.1",
            f"With a quorum of {quorum}, one of the {m} members who may vote decides alone.",
            "Raise the quorum so that no single vote carries an override.",
        )
    if quorum > m - 1:
        return failed(
            "3.1",
            f"{m} members may vote; a quorum of {quorum} is blocked as soon as "
            f"{m - quorum + 1} of them is away or abstains.",
            "Count who may vote (the proposer and the team's members may not), then leave "
            "room for one absence.",
        )
    return passed("3.1", f"{quorum} of the {m} members who may vote: no one alone, no one blocks.")


# -- 3.2 audit trail -------------------------------------------------------------------------
def interpret_audit(gov: Governance, signed: Checkpoint | None = None) -> str:
    """Write what the audit trail holds and whether it verifies."""
    log = audit_table(gov)
    refused = log[log["action"].str.startswith("refused.")]
    result = verify(gov.engine, signed)
    actions = log["action"].str.split(".").str[0].value_counts()
    kinds = listing([f"{n} {kind}" for kind, n in actions.items() if kind != "refused"])
    state = (
        f"the chain verifies over all {result.count} entries"
        if result.ok
        else f"the chain breaks at entry {result.first_bad}: {result.reason}"
    )
    return (
        f"The log holds {len(log)} entries ({kinds}), {len(refused)} of them refusals "
        f"({listing(sorted(set(refused['actor'])))} tried what they may not); {state}. Every "
        "entry's hash covers all its fields and the previous hash, so an edit anywhere shows "
        "at the first entry it touches."
    )


def tampered_copy(database: str | Path, out: str | Path, seed: int = 0) -> Path:
    """Copy a ledger and change one entry's payload the way a careless forger would.

    The entry (one of the adjustment entries, picked by ``seed``) gets a new amount and a
    recomputed hash of its own, but its followers are left alone, as someone editing one record
    would leave them.

    Parameters
    ----------
    database : str or Path
        An SQLite ledger file.
    out : str or Path
        Where to write the copy (replaced if present).
    seed : int
        Picks the entry.

    Returns
    -------
    Path
        The copy.
    """
    target = Path(out)
    target.unlink(missing_ok=True)
    with sqlite3.connect(database) as source, sqlite3.connect(target) as copy:
        source.backup(copy)  # whole, with what the write-ahead log still holds
    engine = open_engine(target)
    with engine.begin() as connection:
        connection.exec_driver_sql("DROP TRIGGER audit_log_no_update")
    candidates = [e for e in entries(engine) if e.action.startswith("adjustment.")]
    entry = candidates[np.random.default_rng(seed).integers(len(candidates))]
    payload = {**entry.payload, "amount": float(entry.payload.get("amount", 0)) * 3 + 1}
    content = {**entry.content(), "payload": payload}
    with engine.begin() as connection:
        connection.exec_driver_sql(
            "UPDATE audit_log SET payload = ?, hash = ? WHERE seq = ?",
            (json.dumps(payload, sort_keys=True), entry_hash(content), entry.seq),
        )
    engine.dispose()
    return target


def check_tampered_entry(copy: str | Path, answer: int | None) -> Check:
    """Check the learner's answer to which entry of the tampered copy was changed.

    Parameters
    ----------
    copy : str or Path
        The copy from :func:`tampered_copy`.
    answer : int or None
        The learner's entry number.

    Returns
    -------
    Check
        Met when the answer is the entry the forger changed.
    """
    engine = open_engine(copy)
    result = verify(engine)
    engine.dispose()
    changed = (result.first_bad or 0) - 1  # the forger rehashed it, so its follower breaks
    if answer is None:
        return failed("3.2", "No entry named yet.", "Run verify on the copy and read its reason.")
    if answer == changed:
        return passed(
            "3.2",
            f"Entry {changed} was changed: its own hash was recomputed, but entry "
            f"{result.first_bad} still points to the old one.",
        )
    if answer == result.first_bad:
        return failed(
            "3.2",
            f"Entry {answer} is where the chain breaks, but it was not edited.",
            "Read the reason: which entry does it say this one no longer follows?",
        )
    return failed("3.2", f"Entry {answer} is intact.", "Verify the copy, not the original.")


# -- 3.3 thresholds --------------------------------------------------------------------------
def recalculations(
    batch: BatchResult, reference: str | None = None, share_moved: float = ADJUSTMENT_SHARE
) -> pd.Series:
    """Return the sums at stake if each team's cohort award in a batch were recalculated.

    Parameters
    ----------
    batch : BatchResult
        A finished batch; every run of a plan other than the reference counts.
    reference : str, optional
        The plan set aside (default: the batch's reference).
    share_moved : float
        The share of a team's cohort award a recalculation moves.

    Returns
    -------
    Series
        Money at stake per plan, seed, team and cohort (positive), largest first.
    """
    skip = reference if reference is not None else batch.reference
    parts = []
    for run in batch.runs[batch.runs["plan"] != skip].itertuples():
        awards = pd.read_parquet(batch.directory / run.directory / "awards.parquet")
        earned = awards.groupby(["team_id", "cohort"])["earned"].sum()
        parts.append(pd.concat({(run.plan, run.seed): earned}, names=["plan", "seed"]))
    if not parts:
        return pd.Series(dtype=float, name="at_stake")
    stakes = (pd.concat(parts) * share_moved).round(-1).rename("at_stake")
    return stakes[stakes > 0].sort_values(ascending=False)


def route(
    stakes: pd.Series, table: Sequence[tuple[float, Sequence[Sequence[str]]]]
) -> pd.DataFrame:
    """Route each sum through a routing table: who must sign it.

    Parameters
    ----------
    stakes : Series
        Money at stake per item.
    table : sequence
        ``(from_amount, role groups)`` rows, rising from 0.

    Returns
    -------
    DataFrame
        ``at_stake``, ``signers`` (groups joined), ``needs_cfo_or_cio``.
    """
    amounts = [float(amount) for amount, _ in table]
    if not amounts or amounts[0] != 0 or amounts != sorted(set(amounts)):
        raise ValueError("routing amounts must start at 0 and rise strictly")
    position = np.searchsorted(amounts, stakes.to_numpy(), side="right") - 1
    groups = [table[i][1] for i in position]
    return pd.DataFrame(
        {
            "at_stake": stakes.to_numpy(),
            "signers": [" and ".join("/".join(g) for g in gs) for gs in groups],
            "needs_cfo_or_cio": [any({"cfo", "cio"} & set(g) for g in gs) for gs in groups],
        },
        index=stakes.index,
    )


def threshold_goal(stakes: pd.Series, share_seen: float = CFO_SHARE) -> tuple[float, int]:
    """Return the exercise's goal: every sum above ``above`` goes to the CFO/CIO, at most n do.

    ``above`` is the 80th percentile of the sums, kept below the largest so that at least one
    sum lies above it; ``n`` is a fifth of the sums, and never fewer than lie above ``above``,
    so a threshold just above ``above`` meets both.

    Parameters
    ----------
    stakes : Series
        The sums at stake (:func:`recalculations`).
    share_seen : float
        The share of sums the CFO and CIO may see.

    Returns
    -------
    tuple
        ``above`` (money) and ``limit`` (a count).
    """
    values = np.sort(stakes.to_numpy())
    if not len(values):
        return 0.0, 0
    above = float(values[max(0, math.ceil(0.8 * len(values)) - 1)])
    lower = values[values < values[-1]]
    if above >= values[-1]:
        above = float(lower[-1]) if len(lower) else float(values[-1]) / 2
    limit = max(int(share_seen * len(values)), int((values > above).sum()))
    return above, limit


def check_thresholds(
    table: Sequence[tuple[float, Sequence[Sequence[str]]]],
    stakes: pd.Series,
    above: float,
    limit: int,
    currency: str = "EUR",
) -> Check:
    """Check a routing table: large recalculations reach the CFO/CIO, who are not swamped."""
    try:
        routed = route(stakes, table)
    except (ValueError, TypeError, IndexError) as error:
        return failed("3.3", f"That is not a routing table: {error}.", "Start the rows at 0.")
    missed = routed[(routed["at_stake"] > above) & ~routed["needs_cfo_or_cio"]]
    seen = int(routed["needs_cfo_or_cio"].sum())
    if len(missed):
        return failed(
            "3.3",
            f"{len(missed)} recalculation(s) above {money(above, currency)} pass without the "
            f"CFO or CIO (the largest {money(missed['at_stake'].max(), currency)}).",
            "Lower the amount from which the CFO or CIO must sign.",
        )
    if seen > limit:
        return failed(
            "3.3",
            f"The CFO/CIO would sign {seen} of {len(routed)} recalculations (goal: at most "
            f"{limit}).",
            "Raise the threshold: small sums belong with HR and IT governance.",
        )
    return passed(
        "3.3",
        f"Every recalculation above {money(above, currency)} reaches the CFO or CIO, who sign "
        f"{seen} of {len(routed)} (at most {limit}).",
    )


def interpret_thresholds(routed: pd.DataFrame, currency: str = "EUR") -> str:
    """Write how the current routing spreads the recalculations over the signers."""
    if routed.empty:
        return "The batch paid no awards, so no recalculation has anything at stake."
    top = routed["needs_cfo_or_cio"]
    return (
        f"Of {len(routed)} possible recalculations (a tenth of each team's cohort award), "
        f"{int(top.sum())} ({share(top.mean())}) need the CFO or CIO, holding "
        f"{share(routed.loc[top, 'at_stake'].sum() / routed['at_stake'].sum())} of the money at "
        f"stake; the largest is {money(routed['at_stake'].max(), currency)}, the median "
        f"{money(routed['at_stake'].median(), currency)}."
    )


# -- 3.4 contest windows ---------------------------------------------------------------------
def contest_table(gov: Governance) -> pd.DataFrame:
    """Return statements with their contests, filed or refused, and the days after issue."""
    statements = gov.view("audit-lu", "statements")
    contests = gov.view("audit-lu", "contests").drop(columns=["team_id", "vendor_id"])
    table = statements.merge(contests, on="statement_id", how="left")
    refused = [
        e
        for e in entries(gov.engine)
        if e.action == "refused.contest" and "closed" in str(e.payload)
    ]
    rows = table.assign(
        filed_after_days=[
            (pd.Timestamp(f) - pd.Timestamp(i)).days if isinstance(f, str) else None
            for f, i in zip(table["filed_on"], table["issued_on"], strict=True)
        ]
    )
    late = pd.DataFrame(
        {
            "statement_id": [int(e.subject.split(":")[1]) for e in refused],
            "status": "refused: window closed",
            "filed_by": [e.actor for e in refused],
        }
    )
    columns = ["statement_id", "team_id", "vendor_id", "issued_on", "window_days", "filed_by"]
    columns += ["filed_on", "filed_after_days", "status", "decision"]
    late = late.merge(statements[columns[:5]], on="statement_id", how="left")
    return pd.concat([rows, late], ignore_index=True).reindex(columns=columns)


def interpret_contests(table: pd.DataFrame) -> str:
    """Write how the example's contests ended, from :func:`contest_table`."""
    tried = table.dropna(subset=["filed_by"])
    status = tried["status"].astype(str)
    late = int(status.str.startswith("refused").sum())
    open_ = int((status == "open").sum())
    return (
        f"{len(tried)} contest(s) were filed or tried: {late} after the window closed "
        f"(refused, with the date it closed), {int((status == 'upheld').sum())} upheld, "
        f"{int((status == 'dismissed').sum())} dismissed and {open_} still open, waiting for "
        "the review board. A window ends the argument about a statement; the decision still "
        "has to come before payroll."
    )


def check_window(
    window_days: int, filing_days: Sequence[int], payroll_days: int, decision_days: int
) -> Check:
    """Check a contest window: wide enough for most filings, closed in time for payroll.

    Parameters
    ----------
    window_days : int
        The learner's window.
    filing_days : sequence of int
        Days after a statement that teams need to file a contest.
    payroll_days : int
        Days from statement to the payroll cut-off.
    decision_days : int
        Days the board needs to decide a contest.

    Returns
    -------
    Check
        Met when the window admits at least 80 % of the filings and a contest filed on its last
        day can still be decided before payroll.
    """
    if not isinstance(window_days, int) or window_days < 1:
        return failed("3.4", f"A window is a whole number of days, not {window_days!r}.", "")
    admitted = float(np.mean(np.asarray(filing_days) <= window_days))
    latest = window_days + decision_days
    if latest > payroll_days:
        return failed(
            "3.4",
            f"A contest filed on day {window_days} is decided by day {latest}, after the payroll "
            f"cut-off on day {payroll_days}.",
            "Shorten the window, or the time the board takes.",
        )
    if admitted < ADMITTED_GOAL:
        return failed(
            "3.4",
            f"The window admits {share(admitted)} of the filings (goal: {share(ADMITTED_GOAL)}).",
            "Look at how long teams take to file, and widen the window.",
        )
    return passed(
        "3.4",
        f"{window_days} days admit {share(admitted)} of the filings, and the last is decided by "
        f"day {latest} of {payroll_days}.",
    )


# -- 3.5 separation of duties ----------------------------------------------------------------
def approval_matrix(permissions: Mapping[str, Sequence[str]] = PERMISSIONS) -> pd.DataFrame:
    """Return roles against permissions: a cross where a role holds the right."""
    rights = sorted({p for granted in permissions.values() for p in granted})
    return pd.DataFrame(
        [["x" if p in permissions[role] else "" for p in rights] for role in permissions],
        index=list(permissions),
        columns=rights,
    )


def separation_problems(
    permissions: Mapping[str, Sequence[str]],
    routing: Sequence[tuple[float, Sequence[Sequence[str]]]] = ROUTING,
) -> list[str]:
    """List breaches of the role-level duties: propose and approve apart, groups signable."""
    problems = []
    both = sorted(r for r, p in permissions.items() if "propose" in p and "approve" in p)
    if both:
        problems.append(f"{listing(both)} may both propose and approve")
    if not any("propose" in p for p in permissions.values()):
        problems.append("nobody may propose an adjustment")
    for amount, groups in routing:
        for group in groups:
            if not any("approve" in permissions.get(role, ()) for role in group):
                problems.append(f"from {amount:,.0f}, nobody in {'/'.join(group)} may approve")
    changing = {"propose", "approve", "edit_routing", "manage_people", "vote_override"}
    if set(permissions.get("auditor", ())) & changing:
        problems.append("the auditor may change what they audit")
    return problems


def check_separation(
    permissions: Mapping[str, Sequence[str]],
    routing: Sequence[tuple[float, Sequence[Sequence[str]]]] = ROUTING,
) -> Check:
    """Check a permission table against the role-level separation of duties."""
    if set(permissions) != set(PERMISSIONS):
        missing = sorted(set(PERMISSIONS) - set(permissions))
        extra = sorted(set(permissions) - set(PERMISSIONS))
        return failed(
            "3.5",
            f"The table must keep every role (missing {missing}, unknown {extra}).",
            "Edit the rights, not the roles.",
        )
    problems = separation_problems(permissions, routing)
    if problems:
        return failed(
            "3.5",
            f"{len(problems)} breach(es): {'; '.join(problems)}.",
            "Give proposing to roles that do not sign, and keep a signer in every group.",
        )
    return passed(
        "3.5",
        "No role both proposes and approves, every routing group has a signer, and the "
        "auditor changes nothing.",
    )


def interpret_separation(gov: Governance, permissions: Mapping = PERMISSIONS) -> str:
    """Write how duties are separated now: per item always, per role where the table says."""
    refused = [e for e in entries(gov.engine) if e.action.startswith("refused.")]
    problems = separation_problems(permissions)
    role_level = (
        f"At the level of roles the table still allows: {'; '.join(problems)}."
        if problems
        else "At the level of roles, too, proposing and approving are apart."
    )
    return (
        f"Per item the ledger enforces the duties: {len(refused)} action(s) were refused and "
        f"logged ({listing(sorted({e.action.split('.')[1] for e in refused}))}). {role_level}"
    )


# -- 3.6 steering committee ------------------------------------------------------------------
def interpret_agenda(items: pd.DataFrame, currency: str = "EUR") -> str:
    """Write what the steering committee has to settle, from the agenda."""
    if items.empty:
        return "Nothing is open: the committee only notes the decision log."
    oldest = items.loc[items["days_open"].idxmax()]
    first = items.iloc[0]
    total = money(items["amount"].abs().sum(), currency)
    return (
        f"{len(items)} item(s) wait for the committee, worth {total} in all; the largest is "
        f"{first['item']} ({money(abs(first['amount']), currency)}, waiting for "
        f"{first['waiting_for']}), the oldest {oldest['item']}, open "
        f"{int(oldest['days_open'])} days."
    )


def check_cadence(
    every_days: int, window_days: int, payroll_days: int, max_meetings: int = 26
) -> Check:
    """Check a steering cadence: contests decided before payroll, few enough meetings.

    Parameters
    ----------
    every_days : int
        Days between meetings (the learner's answer).
    window_days : int
        The contest window (from 3.4).
    payroll_days : int
        Days from statement to payroll cut-off.
    max_meetings : int
        Meetings a year the committee will hold at most.

    Returns
    -------
    Check
        Met when a contest filed on the window's last day meets the committee before payroll
        and the cadence needs at most ``max_meetings`` meetings a year.
    """
    if not isinstance(every_days, int) or every_days < 1:
        return failed("3.6", f"A cadence is a whole number of days, not {every_days!r}.", "")
    meetings = math.ceil(365 / every_days)
    if window_days + every_days > payroll_days:
        return failed(
            "3.6",
            f"A contest filed on day {window_days} may wait {every_days} days for a meeting, "
            f"past the payroll cut-off on day {payroll_days}.",
            "Meet more often, or shorten the window.",
        )
    if meetings > max_meetings:
        return failed(
            "3.6",
            f"Every {every_days} days is {meetings} meetings a year (at most {max_meetings}).",
            "Meet less often: the window leaves room.",
        )
    return passed(
        "3.6", f"Every {every_days} days ({meetings} a year) decides every contest before payroll."
    )
