"""Strict scenario configuration: the bad-input corpus, the shipped scenarios, fingerprints."""

import copy
import math
from collections import defaultdict
from pathlib import Path

import pytest
import yaml

from toolkit.config import ConfigError, Scenario, load_scenario
from toolkit.config.loading import validate_mapping

ROOT = Path(__file__).parent.parent
SCENARIOS = ROOT / "scenarios"
BAD_DIR = ROOT / "tests" / "data" / "bad_scenarios"
HOURS_PER_YEAR = 8766

# Every file in the corpus has exactly one thing wrong: file -> (key path, reason fragment).
# An empty key path means the problem concerns the whole file.
EXPECTED = {
    "aggregate_service_id.yaml": ("organisation.services[6].id", "'ALL' is reserved"),
    "aggregate_team_id.yaml": ("organisation.teams[3].id", "'ALL' is reserved"),
    "alias_bomb.yaml": ("", "expands through aliases to more than 100,000 values"),
    "date_before_pandas.yaml": ("horizon.start", "must lie between 1700-01-01 and 2200-01-01"),
    "deep_nesting.yaml": ("", "nested more than 32 levels deep"),
    "horizon_end_overflows.yaml": ("horizon", "ends after 2200-01-01 (2195-01-01 plus 10 years)"),
    "huge_salary.yaml": (
        "organisation.teams[2].people[1].base_salary",
        "less than or equal to 1000000000 (got 1e+300)",
    ),
    "infinite_rate.yaml": (
        "environment.incidents.base_rate_per_service_per_year",
        "must be a finite number (got '.inf')",
    ),
    "missing_sla_target_for_priority.yaml": (
        "environment.incidents.sla_target_hours",
        "no entry for priorities [4]; every priority 1..4 needs a target",
    ),
    "nan_in_mapping.yaml": (
        "environment.incidents.tier_multiplier.2",
        "must be a finite number (got '.nan')",
    ),
    "negative_infinity_in_list.yaml": (
        "organisation.teams[2].people[1].base_salary",
        "must be a finite number (got '-.inf')",
    ),
    "recursive_alias.yaml": ("", "refers to a node that contains it"),
    "too_many_incidents.yaml": (
        "environment.incidents.base_rate_per_service_per_year",
        "more than the 1,000,000 a run may simulate",
    ),
    "bad_country_code.yaml": (
        "organisation.teams[0].people[1].country",
        "two-letter country code in capitals (ISO 3166-1, e.g. DE) (got 'Germany')",
    ),
    "bad_identifier.yaml": ("organisation.teams[0].people[3].id", "identifier: a letter or digit"),
    "change_mix_not_summing_to_one.yaml": ("environment.changes.mix", "must sum to 1"),
    "duplicate_person_id.yaml": (
        "organisation.teams[2].people[1].id",
        "person id 'a02' is used",
    ),
    "duplicate_service_id.yaml": ("organisation.services[6].id", "service id 'crm' is used"),
    "duplicate_team_id.yaml": ("organisation.teams[2].id", "team id 'apps' is used"),
    "duplicate_yaml_key.yaml": (
        "organisation.teams[0].capacity",
        "key 'capacity' is given twice (first on line 22, again on line 23)",
    ),
    "empty.yaml": ("", "file is empty"),
    "invalid_date.yaml": (
        "horizon.start",
        "'2025-02-30' is not a valid date (day is out of range for month)",
    ),
    "invalid_date_quoted.yaml": ("horizon.start", "valid date"),
    "missing_nested_required_key.yaml": (
        "organisation.vendors[0].mean_outage_hours",
        "required key is missing",
    ),
    "missing_required_key.yaml": ("seed", "required key is missing"),
    "missing_work_time_for_priority.yaml": (
        "environment.incidents.work_time",
        "no entry for priority 4",
    ),
    "misspelt_key_in_list_item.yaml": (
        "organisation.teams[2].people[1].base_salery",
        "did you mean 'base_salary'",
    ),
    "misspelt_nested_key.yaml": ("organisation.teams[0].capcity", "did you mean 'capacity'"),
    "misspelt_top_level_key.yaml": ("enviroment", "did you mean 'environment'"),
    "negative_rate.yaml": (
        "environment.incidents.base_rate_per_service_per_year",
        "greater than 0",
    ),
    "not_utf8_binary.yaml": ("", "not UTF-8 text"),
    "not_yaml_unbalanced_brackets.yaml": ("", "not valid YAML: line 5"),
    "priority_five_in_mix.yaml": ("environment.incidents.priority_mix.5", "1, 2, 3 or 4"),
    "priority_mix_not_summing_to_one.yaml": (
        "environment.incidents.priority_mix",
        "must sum to 1 (they sum to 0.9)",
    ),
    "probability_above_one.yaml": (
        "environment.incidents.reopen_probability",
        "less than or equal to 1",
    ),
    "scalar_top_level.yaml": ("", "top level must be a mapping of keys, not a str"),
    "top_level_list.yaml": ("", "top level must be a mapping of keys, not a list"),
    "unknown_business_unit.yaml": (
        "organisation.services[0].business_unit",
        "no business unit has id 'wholesale'",
    ),
    "unknown_gender.yaml": ("organisation.teams[0].people[2].gender", "'female', 'male'"),
    "unknown_owning_team.yaml": ("organisation.services[0].owning_team", "no team has id 'appz'"),
    "unknown_period.yaml": ("horizon.period", "'month', 'quarter' or 'year'"),
    "unknown_vendor_dependency.yaml": (
        "organisation.services[1].vendor_dependencies[1]",
        "no vendor has id 'netlnk'",
    ),
    "unknown_work_time_distribution.yaml": (
        "environment.incidents.work_time.3.distribution",
        "unknown distribution 'weibull'; expected one of 'lognormal', 'exponential'",
    ),
    "wrong_type_boolean_for_number.yaml": ("organisation.teams[0].capacity", "valid integer"),
    "wrong_type_float_for_integer.yaml": ("organisation.teams[0].capacity", "valid integer"),
    "wrong_type_list_for_mapping.yaml": ("horizon", "must be a mapping of keys (got a list)"),
    "wrong_type_number_for_string.yaml": (
        "organisation.teams[0].people[0].grade",
        "valid string",
    ),
    "wrong_type_string_for_number.yaml": (
        "organisation.teams[0].capacity",
        "valid integer (got '4')",
    ),
}

BAD = sorted(BAD_DIR.glob("*.yaml"))


def _refusal(path) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load_scenario(path)
    return caught.value


# -- the bad-input corpus ------------------------------------------------------------------


def test_corpus_and_expectations_list_the_same_files():
    assert len(BAD) >= 18
    assert sorted(p.name for p in BAD) == sorted(EXPECTED)


def test_corpus_files_say_what_is_wrong():
    for path in BAD:
        raw = path.read_bytes()
        if path.name == "empty.yaml":
            assert raw.strip() == b""
        else:
            assert raw.startswith(b"# BAD SCENARIO: "), path.name


@pytest.mark.parametrize("path", BAD, ids=[p.stem for p in BAD])
def test_each_bad_file_is_refused_with_one_problem(path):
    err = _refusal(path)
    assert len(err.problems) == 1, str(err)
    text = str(err)
    assert "\n" not in text
    assert text.startswith(f"{path}: ")

    key_path, fragment = EXPECTED[path.name]
    problem = err.problems[0]
    assert problem.path == key_path, text
    assert fragment in problem.reason, text
    if key_path:
        assert text == f"{path}: {key_path}: {problem.reason}"
    else:
        assert text == f"{path}: {problem.reason}"


def test_missing_file_and_directory_are_refused(tmp_path):
    assert str(_refusal(tmp_path / "nope.yaml")) == f"{tmp_path / 'nope.yaml'}: file not found"
    assert "is a directory" in str(_refusal(tmp_path))


def test_whitespace_only_file_counts_as_empty(tmp_path):
    path = tmp_path / "blank.yaml"
    path.write_text("  \n\n   \n")
    assert _refusal(path).problems[0].reason == "file is empty"


# -- the shipped scenarios -----------------------------------------------------------------

SHIPPED = sorted(SCENARIOS.glob("*.yaml"))


def test_the_three_scenarios_are_shipped():
    assert {"default.yaml", "small.yaml", "mmc.yaml"} <= {p.name for p in SHIPPED}


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_shipped_scenario_loads(path):
    scenario = load_scenario(path)
    assert isinstance(scenario, Scenario)
    assert scenario.name == path.stem


def incidents_per_year(scenario: Scenario) -> dict[str, float]:
    """Incidents per year per team at the start of the horizon, by the rate formula."""
    cfg = scenario.environment.incidents
    per_team: dict[str, float] = defaultdict(float)
    for s in scenario.organisation.services:
        per_team[s.owning_team] += (
            cfg.base_rate_per_service_per_year
            * s.complexity**cfg.complexity_exponent
            * math.exp(cfg.age_effect_per_year * s.platform_age_years)
            * cfg.tier_multiplier.get(s.criticality, 1.0)
        )
    return per_team


def utilisation(scenario: Scenario) -> dict[str, float]:
    """Rule-of-thumb utilisation per team: incident work hours over capacity hours."""
    cfg = scenario.environment.incidents
    work = sum(share * cfg.work_time[p].mean_hours for p, share in cfg.priority_mix.items())
    work *= 1 + cfg.reopen_probability * cfg.reopen_work_fraction
    per_team = incidents_per_year(scenario)
    return {
        t.id: per_team[t.id] * work / (HOURS_PER_YEAR * t.capacity)
        for t in scenario.organisation.teams
    }


@pytest.fixture(scope="module")
def default():
    return load_scenario(SCENARIOS / "default.yaml")


def test_default_scenario_has_the_promised_shape(default):
    org = default.organisation
    assert 9 <= len(org.teams) <= 12
    assert 45 <= len(org.services) <= 55
    assert len(org.vendors) == 3
    assert sum(len(v.subcontractors) > 0 for v in org.vendors) >= 1
    assert len(org.business_units) == 3
    people = [p for t in org.teams for p in t.people]
    assert len({p.country for p in people}) >= 3
    assert len({p.gender for p in people}) >= 2
    assert all(5 <= len(t.people) <= 9 for t in org.teams)
    assert default.horizon.years == 3
    assert default.horizon.period == "quarter"
    ages = [s.platform_age_years for s in org.services]
    assert any(15 <= a <= 30 for a in ages) and any(1 <= a <= 6 for a in ages)
    assert all(s.owning_team in {t.id for t in org.teams} for s in org.services)
    assert all(any(s.owning_team == t.id for s in org.services) for t in org.teams)


def test_default_scenario_has_realistic_magnitudes(default):
    cfg = default.environment.incidents
    assert 8000 <= sum(incidents_per_year(default).values()) <= 12000
    assert 0.01 <= cfg.reopen_probability <= 0.05
    lowest_two = cfg.priority_mix.get(3, 0) + cfg.priority_mix.get(4, 0)
    assert lowest_two > 0.5
    for team, rho in utilisation(default).items():
        assert 0.55 <= rho <= 0.80, (team, rho)


def test_mmc_scenario_is_an_m_m_3_queue_at_two_per_hour():
    scenario = load_scenario(SCENARIOS / "mmc.yaml")
    (team,) = scenario.organisation.teams
    (service,) = scenario.organisation.services
    cfg = scenario.environment.incidents
    assert team.capacity == 3
    assert incidents_per_year(scenario)[team.id] / HOURS_PER_YEAR == pytest.approx(2.0)
    assert cfg.priority_mix == {3: 1.0}
    assert cfg.work_time[3].distribution == "exponential"
    assert cfg.work_time[3].mean_hours == 1
    assert cfg.reopen_probability == 0 and cfg.reassignment_probability == 0
    assert scenario.environment.changes.rate_per_service_per_year == 0
    assert scenario.environment.attacks.rate_per_year == 0
    assert scenario.organisation.vendors == [] and service.vendor_dependencies == []
    assert utilisation(scenario)[team.id] == pytest.approx(2 / 3)


# -- strictness on in-memory data ----------------------------------------------------------


@pytest.fixture()
def data():
    """A fresh, valid scenario mapping to mutate."""
    return yaml.safe_load((SCENARIOS / "small.yaml").read_text())


def _problems(data) -> list[tuple[str, str]]:
    with pytest.raises(ConfigError) as caught:
        validate_mapping(Scenario, data, "x.yaml")
    return [(p.path, p.reason) for p in caught.value.problems]


def test_valid_mapping_validates(data):
    scenario = validate_mapping(Scenario, data, "x.yaml")
    assert scenario.organisation.teams[0].capacity == data["organisation"]["teams"][0]["capacity"]
    assert (
        scenario.organisation.teams[0].people[0].id
        == data["organisation"]["teams"][0]["people"][0]["id"]
    )


def test_string_is_not_coerced_to_an_integer(data):
    data["organisation"]["teams"][0]["capacity"] = "3"
    [(path, reason)] = _problems(data)
    assert path == "organisation.teams[0].capacity"
    assert "valid integer" in reason and "'3'" in reason


@pytest.mark.parametrize("value", [True, 3.0, "3", [3], None])
def test_capacity_refuses_anything_but_an_integer(data, value):
    data["organisation"]["teams"][0]["capacity"] = value
    [(path, _)] = _problems(data)
    assert path == "organisation.teams[0].capacity"


def test_string_is_not_coerced_to_a_float(data):
    data["organisation"]["services"][0]["complexity"] = "2.5"
    assert _problems(data) == [
        ("organisation.services[0].complexity", "Input should be a valid number (got '2.5')")
    ]


def test_integer_is_accepted_for_a_float_field(data):
    data["organisation"]["services"][0]["complexity"] = 2
    data["environment"]["incidents"]["reopen_probability"] = 0
    scenario = validate_mapping(Scenario, data, "x.yaml")
    assert scenario.organisation.services[0].complexity == 2.0
    assert isinstance(scenario.organisation.services[0].complexity, float)
    assert scenario.environment.incidents.reopen_probability == 0.0


def test_priority_keys_are_plain_integers_in_paths(data):
    data["environment"]["incidents"]["work_time"][2]["median_hours"] = "8"
    [(path, _)] = _problems(data)
    assert path == "environment.incidents.work_time.2.median_hours"


def test_list_indexes_are_bracketed_in_paths(data):
    data["organisation"]["teams"][1]["people"][2]["base_salary"] = -1
    [(path, reason)] = _problems(data)
    assert path == "organisation.teams[1].people[2].base_salary"
    assert "greater than 0" in reason


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ({"distribution": "lognormal", "median_hours": -1, "sigma": 1.0}, "median_hours"),
        ({"distribution": "lognormal", "median_hours": 8, "sigma": 9}, "sigma"),
        ({"distribution": "exponential", "mean_hours": 0}, "mean_hours"),
    ],
)
def test_discriminated_union_tags_stay_out_of_paths(data, spec, field):
    data["environment"]["incidents"]["work_time"][2] = spec
    [(path, _)] = _problems(data)
    assert path == f"environment.incidents.work_time.2.{field}"
    assert spec["distribution"] not in path


def test_misspelt_key_in_a_union_member_is_named_with_a_hint(data):
    data["environment"]["incidents"]["work_time"][2] = {
        "distribution": "exponential",
        "mean_hour": 2,
    }
    [(path, reason)] = _problems(data)
    assert path == "environment.incidents.work_time.2.mean_hour"
    assert "did you mean 'mean_hours'" in reason


def test_refused_mapping_key_ends_the_path(data):
    data["environment"]["incidents"]["sla_target_hours"]["2"] = 30
    [(path, reason)] = _problems(data)
    assert path == "environment.incidents.sla_target_hours.2"
    assert "(got '2')" in reason


def test_typo_never_becomes_a_default(data):
    # closure_delay_hours has a default; its misspelling must be refused, not ignored
    data["environment"]["incidents"]["closure_delay_hour"] = 10
    del data["environment"]["incidents"]["closure_delay_hours"]
    [(path, reason)] = _problems(data)
    assert path == "environment.incidents.closure_delay_hour"
    assert "did you mean 'closure_delay_hours'" in reason


@pytest.mark.parametrize("value", [20250101, "tomorrow", 1.5, True])
def test_a_date_that_is_not_a_date_says_how_to_write_one(data, value):
    data["horizon"]["start"] = value
    [(path, reason)] = _problems(data)
    assert path == "horizon.start"
    assert reason == f"must be a valid date written as YYYY-MM-DD (got {value!r})"


def test_every_unknown_key_of_a_mapping_is_reported_with_its_hint(data):
    team = data["organisation"]["teams"][0]
    team["capcity"] = team.pop("capacity")
    team["integrety"] = 0.5
    team["colour"] = "blue"
    problems = dict(_problems(data))
    base = "organisation.teams[0]"
    assert set(problems) == {f"{base}.capcity", f"{base}.integrety", f"{base}.colour"}
    assert "did you mean 'capacity'" in problems[f"{base}.capcity"]
    assert "did you mean 'integrity'" in problems[f"{base}.integrety"]
    assert "did you mean" not in problems[f"{base}.colour"]
    assert all("Known keys: " in reason for reason in problems.values())


def test_yaml_problems_are_all_reported_with_key_paths(tmp_path):
    text = (SCENARIOS / "small.yaml").read_text()
    text = text.replace("  start: 2025-01-01", "  start: 2025-02-30\n  start: 2025-01-01")
    text = text.replace("seed: 7", "seed: 7\nseed: 8")
    path = tmp_path / "twice.yaml"
    path.write_text(text)
    err = _refusal(path)
    by_path = {p.path: p.reason for p in err.problems}
    assert set(by_path) == {"seed", "horizon.start"}, str(err)
    assert "given twice" in by_path["seed"] and "given twice" in by_path["horizon.start"]
    # a date both impossible and repeated: the repeat is reported, the date as well
    assert len(err.problems) == 3
    assert any("not a valid date" in p.reason for p in err.problems)


def test_independent_problems_are_all_reported(data):
    data["seed"] = -1
    data["organisation"]["teams"][0]["capacity"] = 0
    data["environment"]["csat"]["base_score"] = 6
    paths = [path for path, _ in _problems(data)]
    assert sorted(paths) == [
        "environment.csat.base_score",
        "organisation.teams[0].capacity",
        "seed",
    ]
    with pytest.raises(ConfigError) as caught:
        validate_mapping(Scenario, data, "x.yaml")
    lines = str(caught.value).splitlines()
    assert len(lines) == 3 and all(line.startswith("x.yaml: ") for line in lines)


# -- fingerprint ---------------------------------------------------------------------------


def _reordered(node):
    """The same content with every mapping's keys in reverse order."""
    if isinstance(node, dict):
        return {k: _reordered(node[k]) for k in reversed(list(node))}
    if isinstance(node, list):
        return [_reordered(item) for item in node]
    return node


def test_fingerprint_ignores_layout_and_key_order(tmp_path):
    original = load_scenario(SCENARIOS / "small.yaml")
    data = yaml.safe_load((SCENARIOS / "small.yaml").read_text())
    relaid = tmp_path / "relaid.yaml"
    relaid.write_text(
        "# same content, block style, every mapping's keys reversed\n"
        + yaml.safe_dump(_reordered(data), sort_keys=False, default_flow_style=False, indent=4)
    )
    assert relaid.read_text() != (SCENARIOS / "small.yaml").read_text()
    again = load_scenario(relaid)
    assert again == original
    assert again.fingerprint() == original.fingerprint()
    assert len(original.fingerprint()) == 64


def test_fingerprint_changes_with_any_value(data):
    base = validate_mapping(Scenario, data, "x.yaml").fingerprint()
    changed = copy.deepcopy(data)
    changed["environment"]["incidents"]["work_time"][4]["sigma"] = 1.25
    assert validate_mapping(Scenario, changed, "x.yaml").fingerprint() != base
    raised = copy.deepcopy(data)
    raised["organisation"]["teams"][2]["people"][0]["base_salary"] = 52001
    assert validate_mapping(Scenario, raised, "x.yaml").fingerprint() != base


def test_fingerprint_counts_defaults_as_content(data):
    base = validate_mapping(Scenario, data, "x.yaml").fingerprint()
    del data["environment"]["incidents"]["closure_delay_hours"]  # 72, the default
    assert validate_mapping(Scenario, data, "x.yaml").fingerprint() == base
