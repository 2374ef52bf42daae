"""Test setup: a real database per process (SQLite, or MySQL/MariaDB) and the shared demo course OLX.

MySQL: ``LC_RUNTIME_TEST_DATABASE=mysql`` starts a private MariaDB for the session (the controller
process starts it; xdist workers inherit its address), or ``LC_RUNTIME_DATABASE_URL=mysql://...``
names a server to use. Every process gets its own database on it, cloned from a migrated template.
``./run test`` runs the tests marked ``mysql`` that way after the SQLite run.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

_TMP = tempfile.mkdtemp(prefix="lc-runtime-tests-")
os.environ["LC_RUNTIME_DB"] = str(Path(_TMP) / "test.sqlite3")
os.environ["LC_RUNTIME_MEDIA"] = str(Path(_TMP) / "media")
# Every new test database (each xdist worker, each CLI subprocess on a fresh --db) starts as a copy of
# one migrated template instead of running the migrations again (lc_runtime/schema_template.py).
os.environ.setdefault("LC_RUNTIME_SCHEMA_CACHE", str(Path(__file__).resolve().parents[1] / "var" / "schema-cache"))


def _use_mysql_if_asked() -> None:
    from lc_runtime import database_url

    base = os.environ.get("LC_RUNTIME_TEST_MYSQL_URL") or os.environ.get(database_url.URL_ENV)
    if not base and os.environ.get("LC_RUNTIME_TEST_DATABASE") == "mysql":
        import atexit

        from lc_runtime.localservers.api import start_mariadb

        from lc_runtime.localservers.api import LocalServerError

        try:
            server = start_mariadb(port=int(os.environ.get("LC_RUNTIME_TEST_MYSQL_PORT") or 0) or None)
        except LocalServerError as exc:
            pytest.exit(f"cannot run the tests on MySQL: {exc}", returncode=3)
        atexit.register(server.stop)
        base = server.url("lc_test")
    if not base:
        return
    os.environ["LC_RUNTIME_TEST_MYSQL_URL"] = base  # xdist workers start from the same server
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    url = database_url.with_database(base, f"{database_url.database_name(base)}_{worker}")
    database_url.recreate_mysql_database(url)
    os.environ[database_url.URL_ENV] = url


_use_mysql_if_asked()

from lc_runtime import bootstrap  # noqa: E402

bootstrap.setup()

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("LC_RUNTIME_SHARED", REPO.parent / "shared"))
DEMO_OLX = SHARED / "fixtures" / "olx" / "demo-course" / "course"
DEMO_KEY = "course-v1:OpenedX+DemoX+DemoCourse"


def pytest_collection_modifyitems(items):
    """Tests marked ``slow`` (whole courses, several processes: minutes each) are collected first, so
    pytest-xdist starts them while the many short tests fill the other workers; collected last, one of
    them ran alone at the end while the other core idled (a clean CI run: 23.6 CPU-minutes in 22.6 minutes
    on 2 workers). The sort is stable: every other test keeps its order."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


def pytest_report_header(config):
    database = os.environ.get("LC_RUNTIME_DATABASE_URL") or os.environ["LC_RUNTIME_DB"]
    return f"lc-runtime test database: {database}; demo OLX: {DEMO_OLX}"


def pytest_collection_modifyitems(config, items):
    """On MySQL only the tests marked ``mysql`` apply (the rest assume SQLite or are not worth twice)."""
    if not os.environ.get("LC_RUNTIME_DATABASE_URL"):
        return
    skip = pytest.mark.skip(reason="SQLite only (not marked mysql)")
    for item in items:
        if item.get_closest_marker("mysql") is None:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def demo_olx() -> Path:
    if not DEMO_OLX.is_dir():
        pytest.fail(f"The demo course OLX is missing at {DEMO_OLX} (CI needs ../shared beside the checkout)")
    return DEMO_OLX


@pytest.fixture(scope="session")
def demo_course(demo_olx):
    """The demo course imported once, committed; tests that write use ``rollback``."""
    from lc_runtime import api

    tree, result = api.import_olx(demo_olx, replace=True)
    return tree, result


@pytest.fixture(autouse=True)
def _earlier_rollbacks_settled():
    """Files an earlier test's import saved inside a transaction its ``rollback`` fixture then rolled back
    are deleted at this thread's next outermost ``atomic_with_files`` (lc_runtime/storage/filejournal.py).
    Settle them before each test, so that they do not vanish in the middle of a later test that compares
    the media directory before and after (seen in CI when the test order changed)."""
    from lc_runtime.storage import filejournal

    filejournal.settle_pending()


@pytest.fixture
def rollback():
    """Run the test inside a transaction that is rolled back afterwards."""
    from .rolled_back import rolled_back

    with rolled_back():
        yield


_SUBPROCESS_DATABASES: dict[str, str] = {}


def subprocess_database_env(db) -> dict:
    """Environment for a subprocess that a test points at its own database ``db`` (a SQLite path).

    On MySQL the path stands for a database of its own on the session's server, created empty (it
    starts from the migrated template) the first time a test names it.
    """
    base = os.environ.get("LC_RUNTIME_TEST_MYSQL_URL")
    if not base or not os.environ.get("LC_RUNTIME_DATABASE_URL"):
        return {}
    import hashlib

    from lc_runtime import database_url

    key = str(Path(db).resolve())
    if key not in _SUBPROCESS_DATABASES:
        worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
        name = f"{database_url.database_name(base)}_{worker}_{hashlib.sha1(key.encode()).hexdigest()[:10]}"
        url = database_url.with_database(base, name)
        database_url.recreate_mysql_database(url)
        _SUBPROCESS_DATABASES[key] = url
    return {"LC_RUNTIME_DATABASE_URL": _SUBPROCESS_DATABASES[key]}
