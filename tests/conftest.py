import fcntl
import json
import os
import uuid
from pathlib import Path

import pytest

from toolkit.config import load_scenario

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"


@pytest.fixture(scope="session")
def small_scenario():
    return load_scenario(SCENARIOS / "small.yaml")


@pytest.fixture(scope="session")
def small_log(small_scenario):
    from toolkit.sim import simulate

    return simulate(small_scenario, seed=11)


# The course built once for the whole suite: every module notebook and template notebook
# executed by `lti course build` on small with two seeds, the templates filled from a batch of a
# gameable plan against fixed pay (under `balanced` nothing is gamed on small, so nothing would
# be measured). Module and materials tests read the executed notebooks and files it wrote.
COURSE_PLANS = ("mttr_only", "no_incentive")
COURSE_SEEDS = 2
# fewer variants than module 1's defaults: the same sections, fewer runs
COURSE_PARAMETERS = {
    "kpis": "['availability']",
    "weights": "[1.0]",
    "horizons": "{'one_year_cliff': {'performance_period_years': 1}}",
}


@pytest.fixture(scope="session")
def course(tmp_path_factory, worker_id):
    """The course build, made once for the whole run even when the suite runs on two processes.

    Under pytest-xdist each worker has a session of its own; the first to need the course
    builds it in the run's shared temporary directory while holding a lock, the other waits and
    reads it.
    """
    from toolkit.course.build import build_course

    base = tmp_path_factory.getbasetemp()
    shared = base if worker_id == "master" else base.parent
    out, saved = shared / "course" / "built", shared / "course" / "record.json"
    with open(shared / "course.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not saved.exists():
            record = build_course(
                out,
                scenario="small",
                seeds=COURSE_SEEDS,
                plans=COURSE_PLANS,
                parameters=COURSE_PARAMETERS,
            )
            saved.write_text(json.dumps(record, default=str))
    return out, json.loads(saved.read_text())


POSTGRES_VARIABLE = "LTI_TEST_POSTGRES_URL"


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request, tmp_path):
    """A fresh, empty governance database URL on each backend.

    PostgreSQL comes from ``$LTI_TEST_POSTGRES_URL`` (a server ``.ci/run`` starts); each test
    gets a database of its own, dropped afterwards.
    """
    if request.param == "sqlite":
        yield str(tmp_path / "governance.db")
        return
    server = os.environ.get(POSTGRES_VARIABLE)
    if not server:
        pytest.skip(f"no PostgreSQL server: set {POSTGRES_VARIABLE} (.ci/run starts one)")
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    url = make_url(server).set(drivername="postgresql+psycopg")
    name = f"lti_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()
