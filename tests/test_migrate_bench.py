"""``bench migrate``: a generated course migrated split → full with every check, then a second one of the
same size in the same process, each reported with its own rate (the numbers themselves are not tested)."""
from __future__ import annotations

import pytest

from .rolled_back import rolled_back


@pytest.fixture
def rollback():
    with rolled_back():  # the cache cleared after: other tests count the embedded store's courses
        yield


def test_the_bench_migrates_a_first_and_a_warm_course_and_reports_both(rollback):
    from conformance.migrate_bench import run_migrate_bench

    out = run_migrate_bench(5)
    warm = out["warm"]
    assert out["course"] != warm["course"]
    for run in (out, warm):
        assert run["blocks"] == warm["blocks"] and run["differences"] == 0 and run["checks"] > 0
        assert [(s["from"], s["to"], s["switched"]) for s in run["steps"]] == [
            ("split", "components", True), ("components", "full", True)]
        assert run["verified_blocks_per_second"] > 0 and run["migrate_cpu_seconds"] > 0
