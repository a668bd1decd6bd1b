"""Calibration round trip: simulate a known scenario, export it, ingest it, recover its parameters.

The scenario is ``small.yaml`` with vendor outages, attacks and changes switched off, so that every
incident comes from the service arrival process whose parameters are being recovered, and with SLA
targets unlike the ingest mapping's defaults, so that they must travel through the export.

Tolerances are four standard errors of each estimator (Poisson counts for arrival rates, binomial
shares for the priority mix and the reopen and reassignment probabilities, the normal theory of
the mean and standard deviation of log work times). With about thirty checks per seed and three
fixed seeds, a correct calibration fails a check with probability below 1%, while a biased one
(say, work times measured from opening, which include the queue) fails clearly.
"""

import math

import numpy as np
import pandas as pd
import pytest
import yaml

from toolkit.cli import main
from toolkit.config import load_scenario
from toolkit.events import EventLog
from toolkit.ingest import calibrate
from toolkit.sim import simulate

from .conftest import ROOT, SCENARIOS

SEEDS = (1, 2, 3)
TARGETS = {1: 4.0, 2: 16.0, 3: 48.0, 4: 96.0}
HOUR = pd.Timedelta(1, "h")
Z = 4.0  # standard errors allowed


def servicenow_table(log: EventLog) -> pd.DataFrame:
    """Write a log's incidents as a ServiceNow incident table export (display priorities)."""
    inc = log.incidents

    def when(column):
        return inc[column].dt.strftime("%Y-%m-%d %H:%M:%S").fillna("")

    return pd.DataFrame(
        {
            "number": inc["incident_id"],
            "business_service": inc["service_id"],
            "assignment_group": inc["team_id"],
            "opened_at": when("opened_at"),
            "work_start": when("responded_at"),
            "resolved_at": when("resolved_at"),
            "closed_at": when("closed_at"),
            "priority": inc["priority"]
            .map({1: "1 - Critical", 2: "2 - High", 3: "3 - Moderate"})
            .fillna("4 - Low"),
            "reopen_count": inc["reopen_count"],
            "reassignment_count": inc["reassignment_count"],
            "made_sla": np.where(inc["sla_breached"], "false", "true"),
            "caused_by": inc["change_id"].fillna(""),
            "vendor": inc["vendor_id"].fillna(""),
        }
    )


@pytest.fixture(scope="module")
def known(tmp_path_factory):
    """The known scenario, written to a file so the CLI can use it as --base."""
    data = load_scenario(SCENARIOS / "small.yaml").model_dump()
    for vendor in data["organisation"]["vendors"]:
        vendor["outage_rate_per_year"] = 0.0
        for sub in vendor["subcontractors"]:
            sub["outage_rate_per_year"] = 0.0
    env = data["environment"]
    env["attacks"]["rate_per_year"] = 0.0
    env["changes"]["rate_per_service_per_year"] = 0.0
    env["incidents"]["sla_target_hours"] = TARGETS
    path = tmp_path_factory.mktemp("known") / "known.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path, load_scenario(path)


@pytest.fixture(scope="module")
def round_trips(known, tmp_path_factory):
    """Per seed: the truth, the log ingested from its export, and both calibrations."""
    path, scenario = known
    runs = []
    for seed in SEEDS:
        export = tmp_path_factory.mktemp(f"seed{seed}") / "incidents.csv"
        directory = export.parent / "ingested"
        truth = simulate(scenario, seed)
        servicenow_table(truth).to_csv(export, index=False)
        targets = ",".join(f"{p}={h:g}" for p, h in TARGETS.items())
        argv = ["ingest", "servicenow-table", str(export), "--out", str(directory)]
        assert main([*argv, "--sla-targets", targets]) == 0
        log = EventLog.read_parquet(directory / "reported")
        runs.append(
            {
                "directory": directory,
                "truth": truth,
                "log": log,
                "with_base": calibrate(log, base=scenario),
                "from_log": calibrate(log),
            }
        )
    return runs


def test_the_export_ingests_back_to_the_truth(round_trips):
    for run in round_trips:
        truth, log = run["truth"].incidents, run["log"].incidents
        assert len(log) == len(truth)
        same = [
            "incident_id",
            "service_id",
            "team_id",
            "opened_at",
            "responded_at",
            "resolved_at",
            "closed_at",
            "priority",
            "priority_initial",
            "reopen_count",
            "reassignment_count",
            "sla_target_hours",
            "sla_breached",
        ]
        pd.testing.assert_frame_equal(log[same], truth[same])


def expected_rates(scenario, log) -> pd.Series:
    """Mean incidents per year of each service over the window, from the scenario's formula."""
    cfg = scenario.environment.incidents
    years = (log.end - log.start) / HOUR / 8766
    growth = cfg.age_effect_per_year * years
    average = (math.exp(growth) - 1) / growth
    return pd.Series(
        {
            s.id: cfg.base_rate_per_service_per_year
            * s.complexity**cfg.complexity_exponent
            * math.exp(cfg.age_effect_per_year * s.platform_age_years)
            * cfg.tier_multiplier[s.criticality]
            * average
            for s in scenario.organisation.services
        }
    )


def test_arrival_rates_per_service_are_recovered(known, round_trips):
    _, scenario = known
    exponent = scenario.environment.incidents.complexity_exponent
    true_complexity = {s.id: s.complexity for s in scenario.organisation.services}
    for run in round_trips:
        log = run["log"]
        years = (log.end - log.start) / HOUR / 8766
        rates = expected_rates(scenario, log)
        # With the base: complexity, through the base's rate formula.
        fitted = {
            s["id"]: s["complexity"] for s in run["with_base"].scenario["organisation"]["services"]
        }
        for service, rate in rates.items():
            relative_se = 1 / math.sqrt(rate * years) / exponent
            assert fitted[service] / true_complexity[service] - 1 == pytest.approx(
                0, abs=Z * relative_se
            ), service
        # From the log alone: base rate x complexity is the service's rate.
        free = run["from_log"].scenario
        base_rate = free["environment"]["incidents"]["base_rate_per_service_per_year"]
        for service in free["organisation"]["services"]:
            rate = rates[service["id"]]
            assert base_rate * service["complexity"] == pytest.approx(
                rate, abs=Z * math.sqrt(rate * years) / years
            ), service["id"]


def test_priority_mix_is_recovered(known, round_trips):
    _, scenario = known
    mix = scenario.environment.incidents.priority_mix
    for run in round_trips:
        n = len(run["log"].incidents)
        for calibration in (run["with_base"], run["from_log"]):
            fitted = calibration.scenario["environment"]["incidents"]["priority_mix"]
            assert sum(fitted.values()) == pytest.approx(1, abs=1e-9)
            for priority, share in mix.items():
                se = math.sqrt(share * (1 - share) / n)
                assert fitted[priority] == pytest.approx(share, abs=Z * se), priority


def test_lognormal_work_times_are_recovered(known, round_trips):
    _, scenario = known
    work = scenario.environment.incidents.work_time
    for run in round_trips:
        fits = run["from_log"].fits.set_index("priority")
        assert set(fits["work_time_from"]) == {"fitted"}
        fitted = run["from_log"].scenario["environment"]["incidents"]["work_time"]
        for priority, spec in work.items():
            n = fits.loc[priority, "fitted"]
            assert n > 50
            sigma = spec.sigma
            got = fitted[priority]
            assert math.log(got["median_hours"] / spec.median_hours) == pytest.approx(
                0, abs=Z * sigma / math.sqrt(n)
            ), priority
            assert got["sigma"] == pytest.approx(sigma, abs=Z * sigma / math.sqrt(2 * (n - 1)))
        assert run["with_base"].scenario["environment"]["incidents"]["work_time"] == fitted


def test_reopen_and_reassignment_probabilities_are_recovered(known, round_trips):
    _, scenario = known
    cfg = scenario.environment.incidents
    for run in round_trips:
        inc = run["log"].incidents
        fitted = run["from_log"].scenario["environment"]["incidents"]
        resolved = inc.loc[inc["resolved_at"].notna(), "reopen_count"]
        resolutions = len(resolved) + resolved.sum()
        p = cfg.reopen_probability
        assert fitted["reopen_probability"] == pytest.approx(
            p, abs=Z * math.sqrt(p * (1 - p) / resolutions)
        )
        q = cfg.reassignment_probability
        assert fitted["reassignment_probability"] == pytest.approx(
            q, abs=Z * (1 - q) * math.sqrt(q / len(inc))
        )
        assert fitted["closure_delay_hours"] == cfg.closure_delay_hours
        assert fitted["sla_target_hours"] == TARGETS


def test_capacity_from_the_log_is_the_true_capacity(known, round_trips):
    """Hands-on work never exceeds capacity, and teams this busy reach it 5% of the time."""
    _, scenario = known
    capacity = {t.id: t.capacity for t in scenario.organisation.teams}
    for run in round_trips:
        teams = run["from_log"].scenario["organisation"]["teams"]
        assert {t["id"] for t in teams} == set(capacity)
        for team in teams:
            assert capacity[team["id"]] - 1 <= team["capacity"] <= capacity[team["id"]]


def test_cli_calibrations_pass_lti_validate_and_simulate(known, round_trips, tmp_path, capsys):
    path, scenario = known
    directory = round_trips[0]["directory"]
    with_base, from_log = tmp_path / "with_base.yaml", tmp_path / "from_log.yaml"
    assert main(["calibrate", str(directory), "--out", str(with_base), "--base", str(path)]) == 0
    assert main(["calibrate", str(directory), "--out", str(from_log), "--name", "client"]) == 0
    printed = capsys.readouterr().out
    assert "passes lti validate" in printed and "placeholder" in printed
    assert main(["validate", str(with_base), str(from_log)]) == 0
    calibrated = load_scenario(from_log)
    assert calibrated.name == "client"
    assert "placeholders" in calibrated.description
    based = load_scenario(with_base)
    assert based.organisation.teams == scenario.organisation.teams
    assert based.environment.csat == scenario.environment.csat
    # The calibrated world produces as many incidents as the one it was fitted to.
    truth = round_trips[0]["truth"].incidents
    simulated = simulate(calibrated, seed=5).incidents
    per_year = len(simulated) / calibrated.horizon.years
    assert per_year == pytest.approx(len(truth) / 2, rel=0.1)


def test_incidents_from_modelled_causes_are_left_out(small_scenario, small_log):
    """With vendors and attacks in the base, their incidents do not distort arrivals or the mix."""
    result = calibrate(small_log, base=small_scenario)
    inc = small_log.incidents
    drawn = inc[~inc["root_cause"].isin(["vendor", "external"])]
    shares = drawn["priority_initial"].value_counts(normalize=True)
    fitted = result.scenario["environment"]["incidents"]["priority_mix"]
    for priority, share in shares.items():
        assert fitted[priority] == pytest.approx(share, abs=2e-6)
    assert any("left out of the service arrival rates" in note for note in result.notes)


def test_calibrating_an_empty_window_is_refused(small_log):
    empty = EventLog(
        incidents=small_log.incidents.iloc[:0],
        changes=small_log.changes,
        outages=small_log.outages,
        services=small_log.services,
        start=small_log.start,
        end=small_log.end,
    )
    with pytest.raises(ValueError, match="no incident inside its window"):
        calibrate(empty)


def test_a_log_whose_incidents_bunch_at_the_end_is_flagged(small_log, round_trips):
    late = small_log.start + 0.9 * (small_log.end - small_log.start)
    bunched = EventLog(
        incidents=small_log.incidents[small_log.incidents["opened_at"] > late],
        changes=small_log.changes,
        outages=small_log.outages,
        services=small_log.services,
        start=small_log.start,
        end=small_log.end,
    )
    assert any(n.startswith("warning: half the incidents") for n in calibrate(bunched).notes)
    assert not any(n.startswith("warning") for n in round_trips[0]["from_log"].notes)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("scenario.txt", "give a file name ending in .yaml"),
        ("folder.yaml", "is a directory"),
        ("afile/below.yaml", "afile is a file"),
        ("mine.yaml", "exists and was not written by lti calibrate"),
    ],
)
def test_calibrate_refuses_an_unfit_out_before_reading_the_log(tmp_path, capsys, name, message):
    (tmp_path / "folder.yaml").mkdir()
    (tmp_path / "afile").write_text("not a directory")
    (tmp_path / "mine.yaml").write_text("my notes\n")
    missing = tmp_path / "no-such-run"  # never read: the output is judged first
    assert main(["calibrate", str(missing), "--out", str(tmp_path / name)]) == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line.startswith(f"lti calibrate: {tmp_path / name}: ") and message in line
    assert (tmp_path / "mine.yaml").read_text() == "my notes\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile", "folder.yaml", "mine.yaml"]


def test_calibrate_replaces_its_own_scenario_and_another_file_only_when_forced(tmp_path, capsys):
    export = ROOT / "tests" / "data" / "bad_exports" / "impossible_timestamp.servicenow-table.csv"
    assert main(["ingest", "servicenow-table", str(export), "--out", str(tmp_path / "in")]) == 0
    out = tmp_path / "fitted.yaml"
    for _ in range(2):  # the second run replaces what the first wrote
        assert main(["calibrate", str(tmp_path / "in"), "--out", str(out)]) == 0
    mine = tmp_path / "mine.yaml"
    mine.write_text("my notes\n")
    assert main(["calibrate", str(tmp_path / "in"), "--out", str(mine), "--force"]) == 0
    assert load_scenario(mine) == load_scenario(out)
