"""``lc-runtime bench-rest``: course copy, a single-block edit round trip through HTTP, change-log pages.

JSON out. The copy is timed on a generated course of ``--blocks`` leaves (and the demo course with
``--demo-olx``); the round trip is ``--requests`` sequential PATCHes with If-Match against a live
server thread; the change log is queried on a course given ``--changes`` draft changes (bulk
operations, each updating every leaf once, so one change-log record per leaf per operation).
"""
from __future__ import annotations

import statistics
import tempfile
import time
import uuid
from pathlib import Path


def _percentile(values, fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def _generated(leaf_blocks: int, tag: str):
    from opaque_keys.edx.locator import CourseLocator

    from .. import api
    from ..bench import generate_course_olx
    from ..models import LcCourse

    key = CourseLocator("BenchRest", f"{tag}{leaf_blocks}", "2026")
    if not LcCourse.objects.filter(course_key=str(key)).exists():
        with tempfile.TemporaryDirectory(prefix="lc-bench-rest-") as tmp:
            generate_course_olx(Path(tmp), leaf_blocks, org="BenchRest", number=f"{tag}{leaf_blocks}")
            api.import_olx(tmp)
    return key


def _time_copy(source, user) -> dict:
    from ..authoring import api as authoring

    target = source.replace(run=f"copy{uuid.uuid4().hex[:8]}")
    started = time.perf_counter()
    result = authoring.copy_course(source, target, user_id=user.pk)
    return {"source": str(source), "blocks": result.blocks, "seconds": round(time.perf_counter() - started, 3)}


def run_rest_bench(leaf_blocks: int = 1000, requests_count: int = 200, changes: int = 10000,
                   demo_olx: str | None = None) -> dict:
    from django.contrib.auth import get_user_model

    from .. import api as lc_api
    from ..authoring import api as authoring
    from ..models import LcBlock
    from ..roles import api as roles
    from .live import LiveServer, client

    user, _ = get_user_model().objects.get_or_create(username="bench-rest", defaults={"is_superuser": True})
    report: dict = {"copy": []}
    source = _generated(leaf_blocks, "C")
    report["copy"].append({**_time_copy(source, user), "target_seconds": 5.0})
    if demo_olx:
        tree, _ = lc_api.import_olx(demo_olx)
        report["copy"].append(_time_copy(tree.course_key, user))

    server = LiveServer()
    try:
        http = client("bench-rest", server.url)
        roles.grant(http.user, str(source), "admin")
        key = source.make_usage_key("html", LcBlock.objects.filter(
            course__course_key=str(source), block_type="html").values_list("block_id", flat=True).first())
        version = http.get(f"blocks/{key}/").json()["version"]
        samples = []
        for n in range(requests_count):
            started = time.perf_counter()
            response = http.patch(f"blocks/{key}/", json={"fields": {"display_name": f"Bench {n}"}},
                                  headers={"If-Match": version})
            samples.append(time.perf_counter() - started)
            assert response.status_code == 200, response.text
            version = response.json()["version"]
        report["edit_round_trip"] = {"block": str(key), "requests": requests_count,
                                     "p50_seconds": round(_percentile(samples, 0.5), 4),
                                     "p95_seconds": round(_percentile(samples, 0.95), 4)}

        logged = source
        leaves = [logged.make_usage_key(t, i) for t, i in LcBlock.objects.filter(
            course__course_key=str(logged), block_type__in=["html", "problem"]).values_list("block_type", "block_id")]
        have = authoring.change_log(logged, kinds=("draft",), limit=1).total
        rounds = 0
        while have < changes:
            with authoring.bulk_operation(logged, user_id=user.pk):
                for leaf in leaves[: changes - have]:
                    authoring.update_block(leaf, user_id=user.pk, fields={"display_name": f"r{have}"})
            have = authoring.change_log(logged, kinds=("draft",), limit=1).total
            rounds += 1
        pages = {}
        for name, offset in (("first", 0), ("middle", have // 2)):
            started = time.perf_counter()
            page = authoring.change_log(logged, offset=offset, limit=50)
            python_seconds = time.perf_counter() - started
            started = time.perf_counter()
            response = http.get(f"courses/{logged}/changes/", params={"offset": offset, "limit": 50})
            assert response.status_code == 200 and len(response.json()["results"]) == len(page.entries) > 0
            pages[name] = {"offset": offset, "python_seconds": round(python_seconds, 4),
                           "http_seconds": round(time.perf_counter() - started, 4)}
        report["change_log"] = {"course": str(logged), "changes": page.total, "page_size": 50,
                                "target_seconds": 0.1, "pages": pages}
    finally:
        server.stop()
    return report
