"""Test setup: a real SQLite database (migrated once per session) and the shared demo course OLX."""
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
    return f"lc-runtime test database: {os.environ['LC_RUNTIME_DB']}; demo OLX: {DEMO_OLX}"


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
    from django.core.cache import cache
    from django.db import transaction

    with transaction.atomic():
        yield
        transaction.set_rollback(True)
    cache.clear()  # nothing cached may outlive the rolled-back rows it describes
