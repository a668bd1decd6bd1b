"""Module 7, data infrastructure: the notebook's exports, tables, paragraphs and checks.

The notebook ``notebooks/modules/07_data_infrastructure.ipynb`` follows the data an award is
computed from: a ServiceNow export generated from a simulated log with planted flaws, ingested
through a mapping that quarantines every bad row with its reason (7.1); how long each record
behind an award must be kept, per country, against the plan's vesting, deferral and clawback
(7.2, :mod:`toolkit.compliance.retention`); who may see which incentive data, and pseudonymised
for whom (7.3, :meth:`toolkit.governance.Governance.view`); HRIS and payroll reconciliation
(7.4) and data-availability SLAs (7.6) from their own helpers; and the audit log of the inputs
every result was computed from (7.5, :func:`toolkit.governance.inputs.record_inputs`). This
module keeps the notebook free of logic: a paragraph per result written from its numbers, and a
checker per exercise.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from toolkit.compliance.retention import (
    PolicyRule,
    RetentionCheck,
    RetentionPolicy,
    retention_check,
)
from toolkit.config.plan import Plan
from toolkit.config.scenario import Scenario
from toolkit.course.exercises import Check, failed, passed
from toolkit.course.wording import listing
from toolkit.events.log import EventLog
from toolkit.governance import Governance
from toolkit.governance.audit import entries
from toolkit.governance.migrations import PERMISSIONS
from toolkit.governance.workflows import VIEWS
from toolkit.ingest import Ingested, ingest
from toolkit.ingest.mapping import shipped_mapping
from toolkit.run.manifest import verify_manifest
from toolkit.run.outputs import OutputError

FORMAT = "servicenow-table"
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
PRIORITY_LABELS = {1: "1 - Critical", 2: "2 - High", 3: "3 - Moderate", 4: "4 - Low"}
RELABELLED = "P{}"  # how a second tool writes the priority (P1 .. P4)
# 7.1: planted flaws, each with the quarantine reason the mapping gives it
FLAWS = {
    "missing_opened_at": "missing_required:opened_at",
    "resolved_before_opened": "resolved_before_opened",
    "duplicate_number": "duplicate_id",
}
RELABEL_REASON = "unmapped_value:priority"
OVER_RETENTION_DAYS = 366  # 7.2: kept at most a year beyond what awards and law need
CAST = ("hr-anna", "fin-cara", "board-fay", "lead-apps", "vendor-mo", "audit-lu")
READ_RIGHTS_PREFIX = "view_"


# -- 7.1 ingestion -------------------------------------------------------------------------------
def servicenow_export(
    log: EventLog,
    path: str | Path,
    seed: int = 0,
    flaws_each: int = 2,
    relabelled_share: float = 0.1,
) -> pd.DataFrame:
    """Write a ServiceNow incident-table export of a log, with flaws planted in known rows.

    Parameters
    ----------
    log : EventLog
        A simulated log; its incidents become the export's rows.
    path : str or Path
        The CSV to write.
    seed : int
        Chooses the rows the flaws go into.
    flaws_each : int
        Rows per kind of flaw in :data:`FLAWS`.
    relabelled_share : float
        Share of the other rows whose priority a second tool wrote as ``P1`` .. ``P4``.

    Returns
    -------
    DataFrame
        The planted rows: ``incident_id``, ``flaw`` and the ``reason`` ingestion should give.
    """
    incidents = log.incidents.sort_values("opened_at", kind="stable").reset_index(drop=True)

    def stamp(values: pd.Series) -> pd.Series:
        return pd.to_datetime(values).dt.strftime(TIME_FORMAT).fillna("")

    cause = incidents["root_cause"]
    export = pd.DataFrame(
        {
            "number": incidents["incident_id"].astype(str),
            "short_description": "incident on " + incidents["service_id"].astype(str),
            "opened_at": stamp(incidents["opened_at"]),
            "work_start": "",
            "resolved_at": stamp(incidents["resolved_at"]),
            "closed_at": stamp(incidents["closed_at"]),
            "priority": incidents["priority"].map(PRIORITY_LABELS),
            "assignment_group": incidents["team_id"].astype(str),
            "business_service": incidents["service_id"].astype(str),
            "made_sla": np.where(incidents["sla_breached"].astype(bool), "false", "true"),
            "reopen_count": incidents["reopen_count"].astype(int).astype(str),
            "reassignment_count": incidents["reassignment_count"].astype(int).astype(str),
            "caused_by": np.where(cause == "change", incidents["change_id"].fillna(""), ""),
            "vendor": np.where(cause == "vendor", incidents["vendor_id"].fillna(""), ""),
        }
    )
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(export))
    planted = []
    for i, flaw in enumerate(FLAWS):
        for row in order[i * flaws_each : (i + 1) * flaws_each]:
            if flaw == "missing_opened_at":
                export.loc[row, "opened_at"] = ""
            elif flaw == "resolved_before_opened":
                opened = pd.Timestamp(export.loc[row, "opened_at"])
                export.loc[row, "resolved_at"] = (opened - pd.Timedelta(hours=1)).strftime(
                    TIME_FORMAT
                )
            else:
                export.loc[row, "number"] = export.loc[order[-1 - i], "number"]
            planted.append((export.loc[row, "number"], flaw, FLAWS[flaw]))
    rest = order[len(FLAWS) * flaws_each : -len(FLAWS)]
    relabel = rest[: round(relabelled_share * len(rest))]
    export.loc[relabel, "priority"] = [
        RELABELLED.format(int(p)) for p in incidents.loc[relabel, "priority"]
    ]
    planted += [
        (export.loc[row, "number"], "relabelled_priority", RELABEL_REASON) for row in relabel
    ]
    export.to_csv(path, index=False)
    return pd.DataFrame(planted, columns=["incident_id", "flaw", "reason"])


def quarantine_table(result: Ingested) -> pd.DataFrame:
    """Return the quarantined rows counted by reason, most frequent first."""
    reasons = result.quarantine["reason"].value_counts().rename_axis("reason")
    table = reasons.rename("rows").reset_index()
    table["share_of_rows_in"] = table["rows"] / result.report["rows_in"]
    return table


def interpret_ingestion(result: Ingested, planted: pd.DataFrame) -> str:
    """Write what ingestion accepted and quarantined, and whether every planted flaw was caught."""
    report = result.report
    found = set(zip(result.quarantine["record_id"], result.quarantine["reason"], strict=True))
    caught = sum((row.incident_id, row.reason) in found for row in planted.itertuples())
    top = quarantine_table(result).iloc[0] if len(result.quarantine) else None
    most = (
        f" The most frequent reason is {top['reason']} ({int(top['rows'])} rows)."
        if top is not None
        else ""
    )
    return (
        f"Of the export's {report['rows_in']:,} rows, {report['rows_accepted']:,} were accepted "
        f"and {report['rows_quarantined']:,} quarantined, each with its reason and line, so "
        f"nothing was lost: {caught} of the {len(planted)} planted flaws were caught.{most} "
        "A row in quarantine is not in any KPI or award until the source is fixed and "
        "ingested again."
    )


def mapping_with_priorities(values: Mapping[str, int], directory: str | Path) -> Path:
    """Write the shipped ServiceNow mapping with priority labels added to its value map.

    Parameters
    ----------
    values : mapping of str to int
        Source label → canonical priority (1 to 4), added to the shipped labels.
    directory : str or Path
        Where the mapping file is written.

    Returns
    -------
    Path
        The mapping file.
    """
    spec = yaml.safe_load(shipped_mapping(FORMAT).read_text(encoding="utf-8"))
    fields = spec["incidents"]["fields"]
    for name in ("priority", "priority_initial"):
        fields[name] = {**fields[name], "values": {**fields[name]["values"], **dict(values)}}
    path = Path(directory) / "servicenow-table-relabelled.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    return path


def check_priority_mapping(
    values: Mapping[str, int], export: str | Path, log: EventLog, directory: str | Path
) -> Check:
    """Check a value map: no row quarantined for its priority, and each mapped correctly.

    Parameters
    ----------
    values : mapping of str to int
        The learner's extra priority labels.
    export : str or Path
        The export of :func:`servicenow_export`.
    log : EventLog
        The log it was made from (the true priorities).
    directory : str or Path
        Where the mapping is written.

    Returns
    -------
    Check
        Met when no row is quarantined but for the other planted flaws and every accepted
        incident has its log's priority.
    """
    try:
        mapping = mapping_with_priorities(values, directory)
        result = ingest(FORMAT, [export], mapping=mapping)
    except Exception as error:  # a malformed map is the learner's to fix, not a crash
        return failed("7.1", f"The mapping does not load: {error}", "Map each label to 1-4.")
    reasons = result.quarantine["reason"]
    unmapped = int((reasons == RELABEL_REASON).sum())
    other = sorted(set(reasons) - set(FLAWS.values()) - {RELABEL_REASON})
    truth = log.incidents.set_index("incident_id")["priority"]
    accepted = result.log.incidents.set_index("incident_id")["priority"]
    common = accepted.index.intersection(truth.index)
    wrong = int((accepted.loc[common] != truth.loc[common]).sum())
    if unmapped:
        return failed(
            "7.1",
            f"{unmapped} rows are still quarantined for an unmapped priority.",
            "Look at the quarantined rows' values: which labels does the second tool write?",
        )
    if other:
        return failed(
            "7.1",
            f"Rows are now quarantined for {listing(other)}.",
            "A priority is a whole number from 1 (highest) to 4.",
        )
    if wrong:
        return failed(
            "7.1",
            f"No priority is unmapped, but {wrong} accepted incidents now carry another priority "
            "than the source system gave them.",
            "Each label must map to the priority it stands for.",
        )
    return passed(
        "7.1",
        f"Every row with a relabelled priority is accepted with its true priority; "
        f"{len(result.quarantine)} rows stay quarantined for the other planted flaws.",
    )


# -- 7.2 retention -------------------------------------------------------------------------------
def interpret_retention(check: RetentionCheck) -> str:
    """Write what the statutory minimum would delete too early, and what must be decided."""
    s = check.settings
    summary = check.summary()
    lead = (
        f"Under {s['plan']} a period's records are needed for up to {s['need_years_at_most']} "
        f"years after it ends ({s['performance_period_years']} years of performance, "
        f"{s['deferral_years']} of deferral, {s['clawback_lookback_years']} of clawback "
        f"lookback)."
    )
    if summary.empty:
        return f"{lead} The policy ({s['policy']}) keeps every record long enough."
    plan = summary[summary["needed_by"] == "plan"]
    kinds = sorted(set(plan["record_kind"]))
    worst = summary.loc[summary["shortfall_days"].idxmax()]
    conflict = check.conflicts.drop_duplicates(["record_kind", "jurisdiction"])
    clash = (
        f" The plan needs {listing(sorted(set(conflict['record_kind'])))} beyond a "
        f"data-protection maximum in {listing(sorted(set(conflict['jurisdiction'])))}: keep "
        "only what the award needs, pseudonymised, and record why."
        if len(conflict)
        else ""
    )
    return (
        f"{lead} Under {s['policy']}, {len(summary)} record kinds and countries would be "
        f"deleted too early: {listing(kinds)} for the awards. The worst is "
        f"{worst['record_kind']} in {worst['jurisdiction']}, {worst['shortfall_years']:.1f} "
        f"years short. No law requires keeping ITSM events or the audit log, so the policy "
        f"must.{clash}"
    )


def policy_of(rules: Sequence[Mapping]) -> RetentionPolicy:
    """Return a retention policy made of the learner's rules (each a mapping)."""
    return RetentionPolicy(
        name="exercise",
        description="the learner's retention policy",
        rules=[PolicyRule(**rule) for rule in rules],
    )


def check_retention_policy(rules: Sequence[Mapping], plan: Plan, scenario: Scenario) -> Check:
    """Check a policy: nothing deleted too early, ITSM events not kept a year longer than needed.

    Parameters
    ----------
    rules : sequence of mapping
        Policy rules: ``jurisdiction``, ``record_kind``, ``years`` (``months``), ``starts``.
    plan, scenario : Plan, Scenario
        The plan whose awards the records serve, and its people's countries.

    Returns
    -------
    Check
        Met when no record is deleted before the awards or the law stop needing it, and ITSM
        event data an award needs is deleted within :data:`OVER_RETENTION_DAYS` of that.
    """
    try:
        policy = policy_of(rules)
    except Exception as error:  # a wrong key or value is the learner's to fix
        return failed("7.2", f"The policy is not valid: {error}", "Follow the rule layout.")
    check = retention_check(plan, scenario, policy)
    if len(check.too_early):
        summary = check.summary()
        shown = listing([f"{r.record_kind} in {r.jurisdiction}" for r in summary.itertuples()][:4])
        return failed(
            "7.2",
            f"{len(summary)} record kinds and countries are still deleted too early ({shown}).",
            "Count from the end of the calendar year; the clawback lookback runs after the last "
            "deferred payment.",
        )
    events = check.calendar[
        (check.calendar["record_kind"] == "itsm_events") & check.calendar["needed_until"].notna()
    ]
    extra = (
        events["policy_until"] - events[["needed_until", "statutory_until"]].max(axis=1)
    ).dt.days
    if len(extra) and extra.max() > OVER_RETENTION_DAYS:
        return failed(
            "7.2",
            f"Nothing is deleted too early, but ITSM event data is kept up to {int(extra.max())} "
            "days longer than any award needs it.",
            "Personal data is kept only as long as its purpose needs (storage limitation).",
        )
    return passed(
        "7.2",
        "Every record outlives the awards and the statutory minimum, and ticket data goes "
        f"within a year of the last clawback ({int(extra.max()) if len(extra) else 0} days "
        "at most).",
    )


# -- 7.3 access control --------------------------------------------------------------------------
def access_matrix(gov: Governance, cast: Sequence[str] = CAST) -> pd.DataFrame:
    """Return, per person and view, what they see: all, some or no rows, and whether pseudonymised.

    Every look is itself an audit entry, as any access to incentive data should be.
    """
    full = {view: len(gov.view("audit-lu", view)) for view in VIEWS}
    rows = []
    for actor in cast:
        row = {"person": actor}
        for view in VIEWS:
            if not gov.may_view(actor, view):
                row[view] = "-"
                continue
            seen = gov.view(actor, view)
            scope = "all" if len(seen) == full[view] else f"{len(seen)} of {full[view]}"
            hidden = any(
                seen[column].astype(str).str.startswith("person-").any() for column in seen.columns
            )
            row[view] = f"{scope}, pseudonymised" if hidden else scope
        rows.append(row)
    return pd.DataFrame(rows).set_index("person")


def interpret_access(matrix: pd.DataFrame) -> str:
    """Write who sees identities, who sees only their own rows and who sees nothing."""
    names = matrix["people"]
    identities = [p for p in matrix.index if names[p] == "all"]
    pseudonymous = [p for p in matrix.index if "pseudonymised" in names[p]]
    partial = [p for p in matrix.index if any(" of " in str(v) for v in matrix.loc[p])]
    return (
        f"{listing(identities)} see people by name; {listing(pseudonymous) or 'nobody'} see "
        f"them only under stable pseudonyms; {listing(partial) or 'nobody'} see only their own "
        "team's or vendor's rows. Scope and pseudonyms are applied by the ledger itself, and "
        "every view is written to the audit log, so an access review reads who looked at what."
    )


def check_analyst_rights(rights: Sequence[str]) -> Check:
    """Check an equal-pay analyst's role: sees everyone, under pseudonyms, and changes nothing.

    Parameters
    ----------
    rights : sequence of str
        Rights from :data:`toolkit.governance.migrations.PERMISSIONS`.

    Returns
    -------
    Check
        Met when the role holds ``view_all`` and nothing else but other read rights, and not
        ``view_identities``.
    """
    known = {right for granted in PERMISSIONS.values() for right in granted}
    unknown = sorted(set(rights) - known)
    if unknown:
        return failed("7.3", f"Unknown rights: {listing(unknown)}.", f"Known: {sorted(known)}.")
    if "view_all" not in rights:
        return failed(
            "7.3",
            "The analyst cannot see every team's people, so no organisation-wide gap can be "
            "computed.",
            "Which right shows all rows?",
        )
    if "view_identities" in rights:
        return failed(
            "7.3",
            "The analyst sees names, which a pay-gap analysis does not need.",
            "Data minimisation: pseudonyms are enough to compare groups.",
        )
    writes = sorted(r for r in rights if not r.startswith(READ_RIGHTS_PREFIX))
    if writes:
        return failed(
            "7.3",
            f"The analyst may also {listing(writes)}, which an analysis role must not.",
            "Keep reading apart from changing.",
        )
    return passed("7.3", "The analyst sees every team's rows under pseudonyms and changes nothing.")


# -- 7.5 audit log of data inputs ----------------------------------------------------------------
def input_entries(gov: Governance) -> pd.DataFrame:
    """Return the audit log's input entries: what each recorded result was computed from."""
    rows = []
    for entry in entries(gov.engine):
        if not entry.action.startswith("input."):
            continue
        manifest = entry.payload["manifest"]
        named = manifest.get("inputs") or {}
        if isinstance(named, dict):
            fingerprints = {k: v.get("fingerprint", "")[:12] for k, v in named.items()}
        else:  # an ingest lists its files with their SHA-256
            fingerprints = {Path(i["path"]).name: i["sha256"][:12] for i in named}
        rows.append(
            {
                "seq": entry.seq,
                "action": entry.action,
                "subject": Path(entry.subject).name,
                "manifest_sha256": entry.payload["manifest_sha256"][:12],
                "inputs": json.dumps(fingerprints, sort_keys=True),
                "outputs": len(manifest.get("outputs") or {}),
            }
        )
    return pd.DataFrame(
        rows, columns=["seq", "action", "subject", "manifest_sha256", "inputs", "outputs"]
    )


def interpret_inputs(table: pd.DataFrame, run: str | Path) -> str:
    """Write what the input entries prove, and whether a run's outputs are unchanged."""
    try:
        manifest = verify_manifest(run)
        state = f"all {len(manifest['outputs'])} of its output files match their SHA-256"
    except OutputError as error:
        state = f"it does not verify: {error}"
    kinds = listing(sorted({a.removeprefix("input.") for a in table["action"]}))
    return (
        f"The audit log holds {len(table)} input entries ({kinds}), each with the whole "
        "manifest and its SHA-256: the fingerprints of the scenario, plans and export files a "
        "result was computed from, and of every file it wrote. A dispute over an award starts "
        f"there. For the first run of the batch, {state}."
    )


def tampered_run(run: str | Path, target: str | Path, seed: int = 0) -> tuple[Path, str]:
    """Copy a run directory and change one of its output files after the fact.

    Parameters
    ----------
    run : str or Path
        A run directory of a batch (with its ``manifest.json``).
    target : str or Path
        Where the copy goes (replaced).
    seed : int
        Chooses the file.

    Returns
    -------
    Path, str
        The copy, and the name of the file that was changed (for the tests; the learner finds
        it from the manifest).
    """
    target = Path(target)
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(run, target)
    names = sorted(json.loads((target / "manifest.json").read_text())["outputs"])
    name = names[np.random.default_rng(seed).integers(len(names))]
    table = pd.read_parquet(target / name)
    numeric = table.select_dtypes("number").columns
    if len(table) and len(numeric):
        table.loc[table.index[0], numeric[0]] = table[numeric[0]].iloc[0] + 1
    else:
        table.attrs["edited"] = "yes"
    table.to_parquet(target / name, index=False)
    return target, name


def check_tampered_file(copy: str | Path, answer: str | None) -> Check:
    """Check the learner named the output file that no longer matches its manifest.

    Parameters
    ----------
    copy : str or Path
        The run directory of :func:`tampered_run`.
    answer : str or None
        The learner's file name (e.g. ``"kpis.parquet"``).

    Returns
    -------
    Check
        Met when ``answer`` is the file :func:`toolkit.run.manifest.verify_manifest` finds
        changed.
    """
    try:
        verify_manifest(copy)
    except OutputError as error:
        changed = Path(str(error).split(": ", 1)[0]).name
    else:
        return failed("7.5", "The copy verifies: nothing was changed.", "Run tampered_run again.")
    if answer == changed:
        return passed("7.5", f"{answer} no longer matches the SHA-256 its manifest recorded.")
    if answer and Path(copy, answer).is_file():
        return failed(
            "7.5",
            f"{answer} still matches the SHA-256 its manifest recorded.",
            "verify_manifest names the file it finds changed.",
        )
    return failed(
        "7.5",
        "No file of the run was named." if not answer else f"The run has no file {answer}.",
        "Call verify_manifest(copy) and read its message.",
    )
