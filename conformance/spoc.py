"""The two SPOC flows of #12 through HTTP, each checked against the same content built on Split.

Why here: the check needs the Split reference and the conformance suite (this layer), and the same
code serves the CI test (a small course) and ``lc-runtime bench spoc`` (the demo course).

* **subset**: copy the course into a new run, set the root's start and the first chapter's due, delete
  the last chapter and the last component of the first unit, publish the root;
* **compile**: into another run of the course, compile the source's last chapter (every id collides,
  so each block gets Split's next ``<type><n>`` id), date the new chapter, publish the root.

Both courses start on Split (the OLX imported into the Split reference) and are copied into Learning
Core as a migration does, so both sides hold the same content (generated ids such as a video's
``edx_video_id`` included). The Split side of the subset flow is Split's rerun of the source (edx's
``rerun_course``: ``clone_course`` — a new course index on the source's structures — and the course
files copied as ``copy_all_course_assets`` does), then the same edits through Split's writer. The two
sides are compared through the facade and through the Learning Core runtime (0 differences
expected); the facade must serve the course, and its change log must show every step with its user.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from opaque_keys.edx.keys import UsageKey

DATES = {"start": "2031-09-01T00:00:00Z", "due": "2031-12-01T00:00:00Z"}


@dataclass
class FlowResult:
    name: str
    course: str
    http_seconds: float
    steps: list[str]
    facade_differences: int = -1
    runtime_differences: int = -1
    checks_run: int = 0
    first_differences: list[str] = field(default_factory=list)
    #: the OLX round trip of a value naming the source run's files (kept by a rerun, as Split's clone
    #: shares the source's definitions; an import maps it to the importing run): counted apart
    rerun_round_trip: list[str] = field(default_factory=list)
    served_by_facade: bool = False
    logged_steps: list[str] = field(default_factory=list)  # flow steps found in the change log
    log_users: list[str] = field(default_factory=list)
    conformance_seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return (self.facade_differences == 0 and self.runtime_differences == 0 and self.served_by_facade
                and sorted(self.logged_steps) == sorted(self.steps) and len(self.log_users) == 1)


class _Flow:
    def __init__(self, http, course_key):
        self.http, self.course_key, self.steps, self.split_steps = http, course_key, [], []

    def read(self, key) -> dict:
        response = self.http.get(f"blocks/{key}/")
        assert response.status_code == 200, response.text
        return response.json()

    def call(self, method: str, path: str, step: tuple[str, str], **kwargs):
        response = getattr(self.http, method)(path, **kwargs)
        if response.status_code >= 300:
            raise AssertionError(f"{method.upper()} {path}: {response.status_code} {response.text[:300]}")
        self.steps.append(f"{step[0]} {step[1]}")
        return response

    def set_dates(self, dates: dict) -> None:
        root = self.root()
        response = self.http.post(f"blocks/{root}/dates/", json={"dates": dates})
        assert response.status_code == 200, response.text
        for key, values in dates.items():
            self.steps.append(f"update {key}")
            self.split_steps.append(("update", _ref(key), values))

    def delete(self, key) -> None:
        self.call("delete", f"blocks/{key}/", ("delete", key), headers={"If-Match": self.read(key)["version"]})
        self.split_steps.append(("delete", _ref(key), None))

    def publish_root(self) -> None:
        root = self.root()
        self.call("post", f"blocks/{root}/publish/", ("publish", root), json={})
        self.split_steps.append(("publish", _ref(root), None))

    def root(self) -> str:
        return self.http.get(f"courses/{self.course_key}/").json()["root"]


def _ref(key) -> tuple[str, str]:
    usage = UsageKey.from_string(str(key))
    return usage.block_type, usage.block_id


def _first_unit(flow: _Flow, key) -> dict | None:
    block = flow.read(key)
    if block["type"] == "vertical":
        return block
    for child in block["children"]:
        unit = _first_unit(flow, child)
        if unit is not None:
            return unit
    return None


def subset_flow(http, source, target) -> _Flow:
    flow = _Flow(http, target)
    response = http.post(f"courses/{target}/copy/", json={"source": str(source)})
    assert response.status_code == 201, response.text
    root = flow.root()
    chapters = flow.read(root)["children"]
    flow.set_dates({root: {"start": DATES["start"]}, chapters[0]: {"due": DATES["due"]}})
    if len(chapters) > 1:
        flow.delete(chapters[-1])
    unit = _first_unit(flow, chapters[0])
    if unit is not None and len(unit["children"]) > 1:
        flow.delete(unit["children"][-1])
    flow.publish_root()
    return flow


def compile_flow(http, source, target) -> tuple[_Flow, dict]:
    flow = _Flow(http, target)
    source_root = http.get(f"courses/{source}/").json()["root"]
    chapter = flow.read(source_root)["children"][-1]
    root = flow.root()
    response = http.post(f"blocks/{root}/compile/", json={"sources": [chapter]})
    assert response.status_code == 201, response.text
    mapping = {k: v for k, v in response.json()["blocks"].items() if not k.startswith("asset-v1:")}
    for new in mapping.values():
        flow.steps.append(f"create {new}")
        flow.split_steps.append(("create", _ref(new), None))
    flow.set_dates({mapping[chapter]: DATES})
    flow.publish_root()
    return flow, mapping


def _apply_on_split(writer, course_key, flow: _Flow, mapping: dict) -> None:
    from lc_runtime.authoring import api as authoring

    from .authoring.sides import partition

    sources = {v: k for k, v in mapping.items()}
    for op, ref, values in flow.split_steps:
        if op == "create":
            new = course_key.make_usage_key(*ref)
            info = authoring.get_block_info(sources[str(new)])
            parent = authoring.get_block_info(new).parent
            settings, content = partition(ref[0], {**info.fields["settings"], **info.fields["content"]})
            writer.create_child(course_key, (parent.block_type, parent.block_id), ref[0], ref[1],
                                settings=settings, content=content)
        elif op == "update":
            writer.update_item(course_key, ref, settings=dict(values))
        elif op == "delete":
            writer.delete_item(course_key, ref)
        elif op == "publish":
            writer.publish(course_key, ref)


def _rerun_on_split(documents, source, target) -> None:
    """Split's ``clone_course`` (a new index on the source's structure versions) and edx's
    ``copy_all_course_assets`` (every file under the new run, metadata as is)."""
    from bson import ObjectId

    from modulestore_compat.contentstore import StaticContent, contentstore_for, compute_location
    from modulestore_compat.split.documents.base import utcnow

    index = documents.get_course_index(source.org, source.course, source.run)
    when = utcnow()
    documents.insert_course_index({**index, "_id": ObjectId(), "org": target.org, "course": target.course,
                                   "run": target.run, "edited_on": when, "last_update": when})
    contentstore = contentstore_for(documents)
    for document, data in list(contentstore.course_files(source)):
        contentstore.save(StaticContent(
            compute_location(target, document["asset_key"].block_id), document["displayname"],
            document.get("contentType"), data, thumbnail_location=document.get("thumbnail_location"),
            import_path=document.get("import_path"), locked=bool(document.get("locked", False))))


def _rerun_round_trip(difference, rerun_of, course_key) -> bool:
    """An ``olx.round_trip`` difference that is only the source run's key becoming the new run's."""
    import json

    if rerun_of is None or difference.check != "olx.round_trip":
        return False
    source, target = (f"{k.org}+{k.course}+{k.run}+" for k in (rerun_of, course_key))
    left, right = (json.dumps(v, sort_keys=True, default=str) for v in (difference.left, difference.right))
    return left != right and left.replace(source, target) == right


def check_flow(result: FlowResult, flow: _Flow, documents, mapping: dict, *, render: bool = True,
               since=None, rerun_of=None) -> FlowResult:
    """Fill ``result`` with the Split comparison (Split's side rolled back afterwards), the facade's
    reads and the change log. ``rerun_of``: the Split course the flow's course is a rerun of."""
    from django.db import transaction

    from modulestore_compat.facade.store import LearningCoreModuleStore
    from modulestore_compat.split.api import SplitModuleStore, SplitWriter

    from .adapters import ModulestoreAdapter
    from .migration import adapter_for
    from .runner import compare

    course_key = flow.course_key
    started = time.perf_counter()
    with transaction.atomic():
        if rerun_of is not None:
            _rerun_on_split(documents, rerun_of, course_key)
        writer = SplitWriter(documents, user_id=None)
        with writer.bulk_operations(course_key):
            _apply_on_split(writer, course_key, flow, mapping)
        reference = ModulestoreAdapter(SplitModuleStore(documents), course_key, "split")
        facade = compare(course_key, reference, ModulestoreAdapter(LearningCoreModuleStore(), course_key, "facade"),
                         render=render)
        runtime = compare(course_key, reference, adapter_for("full", documents, course_key), render=render)
        transaction.set_rollback(True)
    result.conformance_seconds = round(time.perf_counter() - started, 2)
    counted = []
    for report in (facade, runtime):
        kept = [d for d in report.result.differences if not _rerun_round_trip(d, rerun_of, course_key)]
        result.rerun_round_trip += [f"{report.right} {d.branch} {d.block}" for d in report.result.differences
                                    if d not in kept]
        counted.append(kept)
    result.facade_differences, result.runtime_differences = (len(c) for c in counted)
    result.checks_run = facade.checks_run + runtime.checks_run
    result.first_differences = [str(d) for d in [*counted[0], *counted[1]][:5]]
    store = LearningCoreModuleStore()
    course = store.get_course(course_key)
    expected = flow.read(flow.root())["children"]
    result.served_by_facade = (course is not None and [(c.block_type, c.block_id) for c in course.children] == [
        _ref(k) for k in expected] and all(store.get_item(UsageKey.from_string(k)) is not None for k in expected))
    params = {"limit": 200, **({"since": since} if since else {})}
    log, offset = [], 0
    while True:
        response = flow.http.get(f"courses/{course_key}/changes/", params={**params, "offset": offset})
        if response.status_code != 200:
            raise AssertionError(f"change log of {course_key} at offset {offset}: {response.status_code} "
                                 f"{response.text[:300]}")
        page = response.json()
        log += page["results"]
        offset += len(page["results"])
        if not page["results"] or offset >= page["count"]:
            break
    if since:
        log = [e for e in log if e["at"] > since]
    logged = {f"{e['operation']} {e['block']}" for e in log}
    result.logged_steps = [step for step in flow.steps if step in logged]
    result.log_users = sorted({str(e["username"]) for e in log})
    return result


def _on_split_and_learning_core(documents, olx: Path, course_key) -> None:
    """The course imported into Split, then copied into Learning Core as a migration to ``full`` does."""
    from lc_runtime.olx.reader import read_course
    from lc_runtime.stages import set_stage
    from modulestore_compat.migration import copy_to_learning_core
    from modulestore_compat.split.api import SplitModuleStore, SplitWriter

    SplitWriter(documents, user_id=None).import_tree(read_course(olx, course_key))
    copy_to_learning_core(SplitModuleStore(documents), course_key)
    set_stage(course_key, "full", changed_by="spoc flows", reason="#12 SPOC flows")


def run_spoc_flows(olx: Path, *, server_url: str, org: str = "Spoc", render: bool = True) -> list[FlowResult]:
    """Both flows on the course at ``olx`` (on both sides twice: the source, and the compile's target)."""
    import uuid

    from opaque_keys.edx.locator import CourseLocator

    from lc_runtime.rest.live import client
    from lc_runtime.roles import api as roles
    from modulestore_compat.split.api import DjangoDocumentStore

    tag = uuid.uuid4().hex[:6]
    documents = DjangoDocumentStore()
    source = CourseLocator(f"{org}A{tag}", "C", "src")
    compile_target = CourseLocator(f"{org}B{tag}", "C", "main")
    for key in (source, compile_target):
        _on_split_and_learning_core(documents, olx, key)
    http = client(f"spoc-{tag}", server_url)
    for key in (source, compile_target):
        roles.grant(http.user, f"org:{key.org}", "publisher")
    results = []

    started = time.perf_counter()
    target = source.replace(run="spoc")
    flow = subset_flow(http, source, target)
    result = FlowResult("subset", str(target), round(time.perf_counter() - started, 2), flow.steps)
    results.append(check_flow(result, flow, documents, {}, render=render, rerun_of=source))

    since = http.get(f"courses/{compile_target}/changes/", params={"limit": 1}).json()["results"][0]["at"]
    started = time.perf_counter()
    flow, mapping = compile_flow(http, source, compile_target)
    result = FlowResult("compile", str(compile_target), round(time.perf_counter() - started, 2), flow.steps)
    results.append(check_flow(result, flow, documents, mapping, render=render, since=since))
    return results


def report(results: list[FlowResult]) -> dict:
    return {"flows": [{**asdict(r), "steps": len(r.steps), "logged_steps": len(r.logged_steps), "ok": r.ok}
                      for r in results]}
