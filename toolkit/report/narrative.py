"""Text of the report that depends on the batch: its heading and the liability note."""

from __future__ import annotations

from toolkit.experiments.analysis import DEFINITIONS as BATCH_DEFINITIONS
from toolkit.report.data import Batch
from toolkit.report.escaping import md_code, md_text
from toolkit.report.liability import fan, liability_paths
from toolkit.run.summary import DEFINITIONS


def title_block(batch: Batch, title: str) -> str:
    """Return the report's heading, what the batch holds and what each plan is for, as Markdown.

    Parameters
    ----------
    batch : Batch
        A loaded batch.
    title : str
        The report's heading, as the user gave it; it is shown as text, never as markup.

    Returns
    -------
    str
        Markdown in which every name and text from the batch or the user is escaped.
    """
    seeds = batch.seeds
    created = batch.manifest.get("created_at", "(date unknown)")
    version = batch.manifest.get("toolkit_version", "?")
    lines = [
        f"# {md_text(title)}",
        "",
        f"Batch {md_code(batch.directory)}, written {md_text(created)} by toolkit "
        f"{md_text(version)}.",
        "",
        f"- Scenarios: {', '.join(md_code(s) for s in batch.scenarios)}",
        f"- Plans: {', '.join(md_code(p) for p in batch.plans())}; reference: "
        f"{md_code(batch.reference)}",
        f"- Seeds: {len(seeds)} ({', '.join(map(str, seeds))}), the same exogenous events under "
        f"every plan, so plans compare seed by seed",
    ]
    if batch.failures:
        lines.append(
            f"- **{len(batch.failures)} runs failed** in the batch and are missing from every "
            f"number below (see `batch.json`)"
        )
    described = [(name, batch.scenario_model(name)) for name in batch.scenarios]
    described += [(name, batch.plan_model(name)) for name in batch.plans()]
    described = [(name, model) for name, model in described if model is not None]
    if described:
        lines += ["", "What the scenarios and plans are meant to show, as their files say:", ""]
        lines += [f"- {md_code(name)}: {md_text(model.description)}" for name, model in described]
    return "\n".join(lines)


def liability_note(batch: Batch) -> str:
    """Say, per plan, what is owed at the horizon's end and when the run-off is paid."""
    lines = []
    for scenario in batch.scenarios:
        paths = liability_paths(batch, scenario)
        if paths.empty:
            continue
        bands = fan(paths)
        if not (bands["p90"] > 0).any():
            continue
        cashflows = batch.run_table("cashflows")
        vested = cashflows[(cashflows["scenario"] == scenario) & (cashflows["kind"] == "vest")]
        money = batch.currency(scenario)
        where = f" in {md_code(scenario)}" if len(batch.scenarios) > 1 else ""
        if vested.empty:
            lines.append(
                f"- No award vested inside the horizon{where}: every amount earned is still "
                f"owed at its end."
            )
        for plan in batch.plans(scenario):
            band = bands[bands["plan"] == plan]
            recorded = band[~band["projected"]]
            if recorded.empty or recorded["p50"].iloc[-1] <= 0:
                continue
            end = recorded.iloc[-1]
            owed = f"{money} {end['p50']:,.0f}".strip()
            text = (
                f"- {md_code(plan)}{where}: {owed} (P50 over seeds) owed at the end of "
                f"{md_text(end['period'])}"
            )
            future = band[band["projected"]]
            settled = future[future["p90"] <= 0]
            if future.empty:
                text += (
                    "; its plan file is gone or has changed since the batch ran, so the run-off "
                    "is not drawn: this money is still owed after the horizon."
                )
            elif settled.empty:
                text += f", still partly owed at the end of {md_text(future['period'].iloc[-1])}."
            else:
                text += (
                    f", paid out by the end of {md_text(settled['period'].iloc[0])} on its "
                    "schedule."
                )
            lines.append(text)
    return "\n".join(lines) if lines else "No plan owes anything at the horizon's end."


def definitions() -> str:
    """Return the definitions of the headline numbers as Markdown, the batch's and the runs'."""
    return "\n".join(
        f"- **{name}**: {text}." for name, text in {**BATCH_DEFINITIONS, **DEFINITIONS}.items()
    )
