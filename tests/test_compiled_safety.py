"""Compiled documents are data, never code (#14): hostile, foreign, truncated or oversized rows are
refused with an error naming the course and row, and the facade recompiles the course from Learning
Core instead. Also: what one process publishes, another process's facade serves on its next request,
and nothing a rolled-back transaction compiled is ever served (#14 item 11, #15 item 6, #9)."""
from __future__ import annotations

import datetime
import json
import pickle
import subprocess
import sys
import textwrap
import tracemalloc
import zlib
from pathlib import Path

import pytest
from django.db import transaction
from django.test import override_settings
from opaque_keys.edx.locator import CourseLocator

from lc_runtime import api as lc_api
from lc_runtime.stages import set_stage
from modulestore_compat.facade import codec
from modulestore_compat.facade.codec import CompiledDataError, CompiledRow, CompiledTooLargeError
from modulestore_compat.facade.compiler import recompile
from modulestore_compat.facade.store import LearningCoreModuleStore
from modulestore_compat.models import CompiledChunk, CompiledCourse

from .olx_builder import standard_course

KEY = CourseLocator("TestX", "T101", "2026")
PUBLISHED = KEY.for_branch("published-branch")
H1 = PUBLISHED.make_usage_key("html", "h1")
H1_BODY = "<p>Hello <b>world</b></p>"
ROW = CompiledRow(str(KEY), "chunk", "0123456789abcdef0123456789abcdef01234567")


@pytest.fixture
def course(rollback, tmp_path):
    lc_api.import_olx(standard_course(tmp_path / "course"))
    set_stage(KEY, "full")
    recompile(str(KEY))


# -- the format ---------------------------------------------------------------------------------------

def _to_the_millisecond(value):
    if isinstance(value, datetime.datetime):
        return value.replace(microsecond=value.microsecond // 1000 * 1000)
    if isinstance(value, dict):
        return {k: _to_the_millisecond(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_to_the_millisecond(v) for v in value]
    return value


def test_compiled_documents_round_trip_as_the_split_reference_store_keeps_them(rollback, demo_olx):
    """What the compiler builds comes back equal (pickle gave it back as built): dates to the millisecond
    as MongoDB keeps them, and exactly as the embedded Split store's extended JSON gives them back."""
    from modulestore_compat.facade.compiler import compile_course
    from modulestore_compat.split.documents import extjson

    tree, _ = lc_api.import_olx(demo_olx, replace=True)
    for branch in ("draft-branch", "published-branch"):
        compiled = compile_course(str(tree.course_key), branch)
        assert len(compiled.written_chunks) == len(compiled.digests) > 3  # nothing stored yet: every chunk built
        documents = [compiled.manifest] + [part for chunk in compiled.written_chunks
                                           for part in (chunk.blocks, chunk.definitions)]
        for value in documents:
            restored = codec.unpack(codec.pack(value), ROW)
            assert restored == _to_the_millisecond(value) == extjson.loads(extjson.dumps(value))
        dates = [v for chunk in compiled.written_chunks for block in chunk.blocks for v in block["fields"].values()
                 if isinstance(v, datetime.datetime)]
        assert dates and all(d.tzinfo is not None for d in dates)  # field dates (start, due) are among them
        manifest = codec.unpack(codec.pack(compiled.manifest), ROW)
        assert manifest["children"] and all(isinstance(k, str) for k in manifest["children"])


@pytest.mark.parametrize("value, expected", [
    ({"big": 2**80, "negative": -(2**70)}, None),
    ({"surrogate": "\ud800 lone", "nested": [{"s": "\udfff"}]}, None),
    ({"nul\0key": 1, "ok": "x"}, None),
    ({3: "int key", "ok": [2**64]}, None),
    ({"$lc$": "looks like an escape", "other": 2**64}, None),
    ({"$lc$": "looks like an escape", "plain": 1}, None),
    ({"tuple": (1, 2), "bytes": b"\x00\x01", "float": 1.5, "none": None, "bool": True},
     {"tuple": [1, 2], "bytes": b"\x00\x01", "float": 1.5, "none": None, "bool": True}),
])
def test_values_bson_cannot_hold_natively_still_round_trip(value, expected):
    """Authored JSON may hold what BSON refuses (huge ints, lone surrogates, NUL in keys): kept exactly
    (tuples come back as lists, as from any JSON store)."""
    assert codec.unpack(codec.pack(value), ROW) == (value if expected is None else expected)


def _blob(payload: bytes, *, declared: int | None = None, magic=codec.MAGIC, version=codec.FORMAT_VERSION,
          flags=0) -> bytes:
    return codec.HEADER.pack(magic, version, flags, len(payload) if declared is None else declared) + payload


def _bson_doc() -> bytes:
    import bson

    return bson.encode({"v": [1, 2, 3]})


BAD_BLOBS = {
    "empty": (b"", "truncated"),
    "truncated header": (codec.MAGIC + b"\x01", "truncated"),
    "truncated body": (lambda: _blob(zlib.compress(_bson_doc()), declared=len(_bson_doc()))[:-4], "truncated"),
    "old pickle compile": (lambda: zlib.compress(pickle.dumps([{"a": 1}], protocol=5), 1), "magic"),
    "wrong magic": (lambda: _blob(zlib.compress(_bson_doc()), magic=b"NOPE", declared=len(_bson_doc())), "magic"),
    "future format": (lambda: _blob(zlib.compress(_bson_doc()), version=99, declared=len(_bson_doc())), "format"),
    "unknown flag": (lambda: _blob(zlib.compress(_bson_doc()), flags=0x80, declared=len(_bson_doc())), "flag"),
    "declared zero": (lambda: _blob(zlib.compress(_bson_doc()), declared=0), "declares"),
    "declared too short": (lambda: _blob(zlib.compress(_bson_doc()), declared=5), "beyond"),
    "declared too long": (lambda: _blob(zlib.compress(_bson_doc()), declared=1000), "inflates to"),
    "trailing bytes": (lambda: _blob(zlib.compress(_bson_doc()) + b"junk", declared=len(_bson_doc())), "after"),
    "not zlib": (lambda: _blob(b"\x00" * 40, declared=40), "zlib"),
    "not bson": (lambda: _blob(zlib.compress(b"\x05\x00\x00\x00\x07"), declared=5), "BSON"),
    "no wrapper": (lambda: _blob(zlib.compress(b"\x05\x00\x00\x00\x00"), declared=5), "wrapper"),
}


@pytest.mark.parametrize("name", BAD_BLOBS)
def test_a_damaged_or_foreign_blob_is_refused_in_one_line_naming_course_and_row(name):
    blob, reason = BAD_BLOBS[name]
    blob = blob() if callable(blob) else blob
    with pytest.raises(CompiledDataError) as caught:
        codec.unpack(blob, ROW)
    message = str(caught.value)
    assert "\n" not in message and str(KEY) in message and f"chunk {ROW.name}" in message
    assert reason in message


def _bomb(inflated: int) -> bytes:
    """``inflated`` zero bytes compressed (about 1/1000 of that), built without holding them in memory."""
    squeezer, piece, out = zlib.compressobj(9), bytes(1 << 20), []
    for _ in range(inflated >> 20):
        out.append(squeezer.compress(piece))
    out.append(squeezer.flush())
    return b"".join(out)


@pytest.fixture(scope="module")
def bomb():
    return _bomb(512 << 20)


def _peak_bytes(fn) -> int:
    tracemalloc.start()
    try:
        fn()
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak


def test_a_zlib_bomb_declaring_its_size_is_refused_before_decompression(bomb):
    assert len(bomb) < (1 << 20)
    blob = _blob(bomb, declared=512 << 20)

    def refuse():
        with pytest.raises(CompiledDataError, match=r"declares 536870912 bytes uncompressed, over the limit "
                                                    r"LC_RUNTIME_COMPILED_MAX_BYTES=268435456"):
            codec.unpack(blob, ROW)

    assert _peak_bytes(refuse) < (4 << 20)
    with override_settings(LC_RUNTIME_COMPILED_MAX_BYTES=1 << 30):  # a larger limit is honoured
        assert codec.max_bytes() == 1 << 30
        with pytest.raises(CompiledDataError, match="inflates to 1 bytes but declares 536870912"):
            codec.unpack(_blob(zlib.compress(b"x"), declared=512 << 20), ROW)  # past the size check now


def test_a_zlib_bomb_lying_about_its_size_never_inflates_past_the_declared_length(bomb):
    for declared in (100, 2 << 20):
        blob = _blob(bomb, declared=declared)

        def refuse():
            with pytest.raises(CompiledDataError, match=f"inflates beyond its declared {declared} bytes"):
                codec.unpack(blob, ROW)

        assert _peak_bytes(refuse) < declared + (4 << 20)
    with override_settings(LC_RUNTIME_COMPILED_MAX_BYTES=1 << 20):
        with pytest.raises(CompiledDataError, match="over the limit LC_RUNTIME_COMPILED_MAX_BYTES=1048576"):
            codec.unpack(_blob(bomb, declared=2 << 20), ROW)
        with pytest.raises(CompiledTooLargeError, match="over the limit"):
            codec.pack({"big": "x" * (1 << 20)}, ROW)


# -- hostile rows in the database -----------------------------------------------------------------------

def _gadget(module: str, name: str, argument: str) -> bytes:
    """A pickle calling ``module.name(argument)``, reached through a module the old restricted unpickler
    admitted (each of them imports ``os``). Compressed as the old compiled rows were."""
    payload = b"\x80\x04c" + f"{module}\n{name}\n".encode() + b"(V" + argument.encode() + b"\ntR."
    return zlib.compress(payload, 1)


GADGETS = {
    "pytz -> os.system": lambda marker: (_gadget("pytz", "os.system", f"touch {marker}"), False),
    "dateutil.tz.tz -> os.remove": lambda marker: (_gadget("dateutil.tz.tz", "os.remove", str(marker)), True),
    "bson.objectid -> os.system": lambda marker: (_gadget("bson.objectid", "os.system", f"touch {marker}"), False),
    "zoneinfo._tzpath -> os.system": lambda marker: (_gadget("zoneinfo", "_tzpath.os.system", f"touch {marker}"),
                                                     False),
    "zlib bomb": lambda marker: (_blob(_bomb(64 << 20), declared=4096), False),
    "truncated row": lambda marker: (_blob(zlib.compress(_bson_doc()), declared=len(_bson_doc()))[:-3], False),
    "wrong magic": lambda marker: (b"PK\x03\x04" + bytes(40), False),
}
COLUMNS = ("header structure", "chunk blocks", "chunk definitions")


def _tamper(column: str, blob: bytes) -> None:
    """Every row of that kind gets the blob (so the old code's first read hits it, whatever it reads first)."""
    if column == "header structure":
        CompiledCourse.objects.filter(course_key=str(KEY)).update(structure=blob)
    elif column == "chunk blocks":
        CompiledChunk.objects.filter(course_key=str(KEY)).update(blocks=blob)
    else:
        CompiledChunk.objects.filter(course_key=str(KEY)).update(definitions=blob)


@pytest.mark.parametrize("column", COLUMNS)
@pytest.mark.parametrize("gadget", GADGETS)
def test_a_hostile_row_never_runs_and_the_course_is_recompiled(course, tmp_path, caplog, gadget, column):
    marker = tmp_path / "marker"
    blob, marker_exists = GADGETS[gadget](marker)
    if marker_exists:
        marker.write_text("must survive")
    _tamper(column, blob)
    with caplog.at_level("WARNING", logger="modulestore_compat"):
        h1 = LearningCoreModuleStore().get_item(H1)
        assert (h1.display_name, h1.data) == ("Text 1", H1_BODY)
    assert marker.exists() is marker_exists, "the payload ran"
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert any(str(KEY) in w and "recompil" in w for w in warnings), warnings
    for blob in [*CompiledCourse.objects.filter(course_key=str(KEY)).values_list("structure", flat=True),
                 *(b for row in CompiledChunk.objects.filter(course_key=str(KEY)).values_list("blocks", "definitions")
                   for b in row)]:
        assert bytes(blob[:4]) == codec.MAGIC  # every unreadable row went


def test_a_hostile_previous_compile_makes_the_next_recompile_a_full_one(course, caplog):
    runtime = lc_api.LearningCoreRuntime(KEY)
    block = runtime.get_block(KEY.make_usage_key("html", "h1"))
    block.display_name = "Edited"
    block.save()
    _tamper("chunk blocks", GADGETS["pytz -> os.system"]("/nonexistent/marker")[0])
    with caplog.at_level("WARNING", logger="modulestore_compat"):
        (compiled,) = recompile(str(KEY), ["draft-branch"])
    assert compiled.mode == "full"
    assert any("chunk" in r.getMessage() and str(KEY) in r.getMessage() for r in caplog.records)
    draft = LearningCoreModuleStore().get_item(KEY.for_branch("draft-branch").make_usage_key("html", "h1"))
    assert draft.display_name == "Edited" and draft.data == H1_BODY


# -- freshness and transactions -------------------------------------------------------------------------

def _edit_h1(display_name: str, data: str | None = None, *, publish: bool = True) -> None:
    runtime = lc_api.LearningCoreRuntime(KEY)
    block = runtime.get_block(KEY.make_usage_key("html", "h1"))
    block.display_name = display_name
    if data is not None:
        block.data = data
    block.save()
    if publish:
        runtime.publish_block(block.scope_ids.usage_id)


def _log_ids():
    from openedx_content.models_api import DraftChangeLog, PublishLog

    return (list(PublishLog.objects.order_by("id").values_list("id", flat=True)),
            list(DraftChangeLog.objects.order_by("id").values_list("id", flat=True)))


@pytest.mark.parametrize("redo", ["reimport", "edit"])
@pytest.mark.mysql
def test_a_store_never_serves_what_a_rolled_back_transaction_compiled(rollback, tmp_path, redo):
    """SQLite hands the rolled-back log and version ids out again: the next compile must still get a
    structure (and chunks) the store has never seen (#15 item 6)."""
    store = LearningCoreModuleStore()
    original = standard_course(tmp_path / "original")
    if redo == "edit":
        lc_api.import_olx(original)
        set_stage(KEY, "full")
        assert store.get_item(H1).display_name == "Text 1"
    before = _log_ids()
    with transaction.atomic():
        if redo == "reimport":
            lc_api.import_olx(original)
            set_stage(KEY, "full")
        else:
            _edit_h1("Rolled back", "<p>rolled back</p>")
        h1 = store.get_item(H1)
        assert (h1.display_name, h1.data) in (("Text 1", H1_BODY), ("Rolled back", "<p>rolled back</p>"))
        during = _log_ids()
        transaction.set_rollback(True)
    assert _log_ids() == before
    if redo == "reimport":
        changed = standard_course(tmp_path / "changed", files={
            "html/h1.xml": '<html filename="h1" display_name="Reimported"/>', "html/h1.html": "<p>new</p>"})
        lc_api.import_olx(changed)
        set_stage(KEY, "full")
        expected = ("Reimported", "<p>new</p>")
    else:
        _edit_h1("Kept", "<p>kept</p>")
        expected = ("Kept", "<p>kept</p>")
    if transaction.get_connection().vendor == "sqlite":
        assert _log_ids() == during  # the very same ids again (MySQL never hands a rolled-back id out again)
    h1 = store.get_item(H1)
    assert (h1.display_name, h1.data) == expected


@pytest.mark.mysql
def test_a_compile_rolled_back_never_leaves_the_store_serving_empty_content(rollback, tmp_path):
    """#9: the store read a compile made inside a transaction that was rolled back; later reads must
    not find its definitions gone and fall back to defaults."""
    lc_api.import_olx(standard_course(tmp_path / "course"))
    set_stage(KEY, "full")
    store = LearningCoreModuleStore()
    with transaction.atomic():
        assert store.get_item(H1).display_name == "Text 1"  # compiled here; content not read yet
        transaction.set_rollback(True)
    assert not CompiledCourse.objects.filter(course_key=str(KEY)).exists()
    h1 = store.get_item(H1)
    assert (h1.display_name, h1.data) == ("Text 1", H1_BODY)


WORKER = textwrap.dedent("""
    import json, sys
    sys.path.insert(0, sys.argv[2])
    from lc_runtime import bootstrap
    bootstrap.setup(sys.argv[1])
    from opaque_keys.edx.locator import CourseLocator
    from lc_runtime import api
    from lc_runtime.stages import set_stage
    from modulestore_compat import signals
    from modulestore_compat.facade.store import LearningCoreModuleStore
    from openedx_content.api import signals as content_signals

    key = CourseLocator("TestX", "T101", "2026")
    store = LearningCoreModuleStore()  # long-lived, as in an LMS worker
    print(json.dumps("ready"), flush=True)
    for line in sys.stdin:
        command = json.loads(line)
        if command["op"] == "import":
            api.import_olx(command["olx"])
            set_stage(key, "full")
            answer = "imported"
        elif command["op"] == "read":
            block = store.get_item(key.for_branch(command["branch"]).make_usage_key("html", "h1"))
            answer = block.display_name
        else:  # edit and publish h1, recompiling after commit (the signal handlers) or not
            if not command["recompile"]:
                content_signals.ENTITIES_PUBLISHED.disconnect(dispatch_uid="lc_facade_published")
                content_signals.ENTITIES_DRAFT_CHANGED.disconnect(dispatch_uid="lc_facade_draft")
            runtime = api.LearningCoreRuntime(key)
            block = runtime.get_block(key.make_usage_key("html", "h1"))
            block.display_name = command["value"]
            block.save()
            runtime.publish_block(block.scope_ids.usage_id)
            signals.connect()
            answer = "published"
        print(json.dumps(answer), flush=True)
""")


class Worker:
    """A separate Python process on the same SQLite file, driven one JSON command per line."""

    def __init__(self, db: Path):
        repo = Path(__file__).resolve().parents[1]
        self.process = subprocess.Popen([sys.executable, "-c", WORKER, str(db), str(repo)], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, text=True)
        assert self._answer() == "ready"

    def _answer(self):
        line = self.process.stdout.readline()
        assert line, f"worker exited with {self.process.wait(timeout=60)}"
        return json.loads(line)

    def ask(self, op, **args):
        self.process.stdin.write(json.dumps({"op": op, **args}) + "\n")
        self.process.stdin.flush()
        return self._answer()

    def close(self):
        self.process.stdin.close()
        self.process.wait(timeout=60)


def test_another_process_publishing_is_served_on_the_next_request(tmp_path):
    """#14 item 11: process B holds a facade store; process A publishes (and recompiles after commit, or
    leaves that to the readers); B's very next read has the new value."""
    import sqlite3

    from django.conf import settings

    db = tmp_path / "shared.sqlite3"
    with sqlite3.connect(settings.DATABASES["default"]["NAME"]) as source, sqlite3.connect(db) as target:
        source.backup(target)  # a migrated database, committed state only
    author, reader = Worker(db), Worker(db)
    try:
        assert author.ask("import", olx=str(standard_course(tmp_path / "course"))) == "imported"
        assert reader.ask("read", branch="published-branch") == "Text 1"
        assert author.ask("publish", value="Published by A", recompile=True) == "published"
        assert reader.ask("read", branch="published-branch") == "Published by A"
        assert author.ask("publish", value="Not yet recompiled", recompile=False) == "published"
        assert reader.ask("read", branch="published-branch") == "Not yet recompiled"
        assert reader.ask("read", branch="draft-branch") == "Not yet recompiled"
    finally:
        author.close()
        reader.close()


def _queries(fn) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        fn()
    return len(queries)


@pytest.fixture
def web_request():
    """Request boundaries as Django signals them (without closing the test's connection, as Django's
    test client does); call the fixture for the next request."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)

    def next_request():
        request_finished.send(sender=None)
        request_started.send(sender=None)

    request_started.send(sender=None)
    try:
        yield next_request
    finally:
        request_finished.send(sender=None)
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def test_inside_a_web_request_the_index_is_checked_once_per_request(course, web_request, monkeypatch):
    """One freshness query per course and request; the next request sees what another process published
    meanwhile, and a compile made in this process (a publish's rebuild) lapses every verdict at once."""
    from modulestore_compat.facade import freshness

    store = LearningCoreModuleStore()
    assert store.get_item(H1).display_name == "Text 1"
    assert _queries(lambda: store.get_item(H1)) == 0
    with monkeypatch.context() as elsewhere:  # as another process would: nothing this process notices
        elsewhere.setattr(freshness, "changed", lambda: None)
        _edit_h1("Published elsewhere")
        recompile(str(KEY), ["published-branch"])
    assert store.get_item(H1).display_name == "Text 1"  # not looked at again within the request
    web_request()
    assert store.get_item(H1).display_name == "Published elsewhere"
    assert _queries(lambda: store.get_item(H1)) == 0
    _edit_h1("Rebuilt here")
    recompile(str(KEY), ["published-branch"])  # what the after-commit signal handler does
    assert store.get_item(H1).display_name == "Rebuilt here"


def test_outside_a_web_request_every_call_checks_the_index(course):
    store = LearningCoreModuleStore()
    assert store.get_item(H1).display_name == "Text 1"
    assert _queries(lambda: store.get_item(H1)) == 1


@pytest.mark.mysql
def test_inside_a_web_request_a_rolled_back_savepoint_lapses_the_check(course, web_request):
    store = LearningCoreModuleStore()
    assert store.get_item(H1).display_name == "Text 1"
    with transaction.atomic():
        _edit_h1("Rolled back")
        recompile(str(KEY), ["published-branch"])
        assert store.get_item(H1).display_name == "Rolled back"
        transaction.set_rollback(True)
    assert store.get_item(H1).display_name == "Text 1"
