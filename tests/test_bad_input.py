"""Hostile OLX (issue #14): a corpus of bad courses, each refused by ``import-olx`` and ``split import-olx``.

For every case and both commands: exit status 1, exactly one line on stderr that starts with
``lc-runtime: error:``, names the offending file (or archive member, or argument) and says what is
wrong — never a traceback; the database (every table, row by row) and the media directory (Learning
Core's files and edx-val's transcripts) are exactly as before; an unpacked archive leaves no temp dir.

In-process runs go through ``lc_runtime.cli.main`` (``--db`` is ignored there: Django is already set up
on the test database); :func:`test_as_a_separate_process` runs a few cases as a user does, on a fresh
database whose SQL dump is compared.
"""
from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import sqlite3
import subprocess
import sys
import tarfile
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pytest
from django.conf import settings
from django.db import connection
from django.test import override_settings

from lc_runtime.cli import main

from .olx_builder import standard_course

ORG = "BadX"  # no other test uses it: a case that wrongly succeeded cannot disturb them
KEY = f"course-v1:{ORG}+T101+2026"


# -- building bad courses ------------------------------------------------------------------------------
def course(tmp: Path, files: dict[str, str | bytes] | None = None, **kwargs) -> Path:
    """The standard test course (10 blocks) under ``tmp/course``, with ``files`` written over it."""
    root = standard_course(tmp / "course", org=ORG, **kwargs)
    for path, content in (files or {}).items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content)
    return root


def files(mapping: dict[str, str | bytes]) -> Callable[[Path], Path]:
    """A builder writing ``mapping`` over the standard course."""
    return lambda tmp: course(tmp, mapping)


def in_v2(inner: str) -> Callable[[Path], Path]:
    """vertical/v2.xml holding ``inner`` (after its html h2)."""
    return files({"vertical/v2.xml": f'<vertical><html url_name="h2"/>{inner}</vertical>'})


def policy(value) -> Callable[[Path], Path]:
    text = value if isinstance(value, (str, bytes)) else json.dumps(value)
    return files({"policies/2026/policy.json": text})


def grading(value, path="policies/2026/grading_policy.json") -> Callable[[Path], Path]:
    text = value if isinstance(value, (str, bytes)) else json.dumps(value)
    return files({path: text})


def course_xml(text: str) -> Callable[[Path], Path]:
    return files({"course.xml": text})


BILLION_LAUGHS = ('<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
                  + "".join(f'<!ENTITY lol{i} "{("&lol%s;" % (i - 1 if i > 1 else "")) * 10}">' for i in range(1, 10))
                  + ']>\n<vertical display_name="&lol9;"><html url_name="h1"/><problem url_name="p1"/></vertical>')
XXE = ('<?xml version="1.0"?>\n<!DOCTYPE problem [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
       '<problem display_name="x"><p>&xxe;</p></problem>')
EXTERNAL_DTD = '<!DOCTYPE html SYSTEM "http://127.0.0.1:9/evil.dtd">\n<html filename="h1" display_name="x"/>'
XINCLUDE = '<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="/etc/passwd" parse="text"/>'


def symlink(link: str, target: str | Callable[[Path], str], **extra) -> Callable[[Path], Path]:
    def build(tmp: Path) -> Path:
        root = course(tmp, extra.get("files"))
        path = root / link
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():
            path.unlink()
        os.symlink(target(tmp) if callable(target) else target, path)
        return root
    return build


def outside_dir(tmp: Path) -> str:
    """A directory beside the course, holding a secret."""
    secret = tmp / "outside"
    secret.mkdir(exist_ok=True)
    (secret / "secret.txt").write_text("host secret")
    (secret / "policy.json").write_text('{"course/2026": {"display_name": "stolen"}}')
    (secret / "h1.html").write_text("stolen")
    return str(secret)


def fifo(path: str) -> Callable[[Path], Path]:
    def build(tmp: Path) -> Path:
        root = course(tmp)
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists():
            target.unlink()
        os.mkfifo(target)
        return root
    return build


def raw_name(relative: bytes) -> Callable[[Path], Path]:
    """A static file whose name is given as bytes (not UTF-8, or with control characters)."""
    def build(tmp: Path) -> Path:
        root = course(tmp)
        (root / "static").mkdir(exist_ok=True)
        with open(os.fsencode(root) + b"/" + relative, "wb") as handle:
            handle.write(b"x")
        return root
    return build


def static_files(count: int, size: int = 1, depth: int = 0) -> Callable[[Path], Path]:
    def build(tmp: Path) -> Path:
        root = course(tmp)
        directory = root / "static" / Path(*(["d"] * depth)) if depth else root / "static"
        directory.mkdir(parents=True, exist_ok=True)
        for index in range(count):
            (directory / f"f{index:05}.bin").write_bytes(b"x" * size)
        return root
    return build


def sparse_static(size: int) -> Callable[[Path], Path]:
    def build(tmp: Path) -> Path:
        root = course(tmp)
        (root / "static").mkdir(exist_ok=True)
        with open(root / "static" / "big.bin", "wb") as handle:
            handle.truncate(size)  # sparse: costs no disk, reading it would cost `size` bytes of memory
        return root
    return build


def vertical_chain(levels: int) -> Callable[[Path], Path]:
    """v1 holds vertical d1, which holds d2, … (each its own file)."""
    chain = {f"vertical/d{i}.xml": f'<vertical display_name="D{i}"><vertical url_name="d{i + 1}"/></vertical>'
             for i in range(1, levels)}
    chain[f"vertical/d{levels}.xml"] = '<vertical display_name="last"/>'
    chain["vertical/v1.xml"] = '<vertical><html url_name="h1"/><vertical url_name="d1"/></vertical>'
    return files(chain)


def video_then_broken_xml(tmp: Path) -> Path:
    """A video whose transcript edx-val stores while parsing, then malformed XML later in the course."""
    video_id = str(uuid.uuid4())
    return course(tmp, {
        "vertical/v1.xml": '<vertical><html url_name="h1"/><video url_name="vid1"/></vertical>',
        "video/vid1.xml": (f'<video display_name="V" edx_video_id="{video_id}" youtube_id_1_0="abcdefghijk" '
                           f'transcripts="{{&quot;en&quot;: &quot;{video_id}-en.srt&quot;}}">'
                           f'<video_asset client_video_id="c" duration="0.0"><transcripts>'
                           f'<transcript language_code="en" file_format="srt" provider="Custom"/>'
                           f'</transcripts></video_asset><transcript language="en" src="{video_id}-en.srt"/></video>'),
        f"static/{video_id}-en.srt": "1\n00:00:01,000 --> 00:00:02,000\nhello\n\n",
        "vertical/v2.xml": "<vertical><html url_name='h2'/>",
    })


# -- archives --------------------------------------------------------------------------------------------
def member(name: str, data: bytes = b"", kind=tarfile.REGTYPE, linkname: str = "") -> tuple:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, linkname
    info.size = len(data) if kind == tarfile.REGTYPE else 0
    return info, data


def archive(*extra: tuple, fmt=tarfile.PAX_FORMAT, with_course=True, raw_tail: bytes = b"") -> Callable[[Path], Path]:
    """``course.tar.gz``: the standard course under ``course/`` plus ``extra`` members (and raw bytes)."""
    def build(tmp: Path) -> Path:
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w", format=fmt) as tar:
            if with_course:
                tar.add(course(tmp), arcname="course")
            for info, data in extra:
                tar.addfile(info, io.BytesIO(data) if info.isreg() else None)
            body = buffer.getvalue()  # before close(): raw_tail goes where the end-of-archive blocks would
        path = tmp / "course.tar.gz"
        path.write_bytes(gzip.compress(body + raw_tail + (b"" if raw_tail else b"\0" * 1024)))
        return path
    return build


def forged_size_header(name: str, size: int) -> bytes:
    """A member header that claims ``size`` bytes, followed by far fewer."""
    info = tarfile.TarInfo(name)
    info.size = size
    return info.tobuf(tarfile.GNU_FORMAT) + b"\0" * 512


def truncated_archive(tmp: Path) -> Path:
    path = archive()(tmp)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def not_gzip(tmp: Path) -> Path:
    path = tmp / "course.tar.gz"
    path.write_text("this is not a gzip file")
    return path


def gzip_not_tar(tmp: Path) -> Path:
    path = tmp / "course.tar.gz"
    path.write_bytes(gzip.compress(b"hello, not a tar archive " * 100))
    return path


def many_members(count: int) -> Callable[[Path], Path]:
    return archive(*(member(f"course/static/f{i:06}.txt", b"x") for i in range(count)))


# -- the corpus --------------------------------------------------------------------------------------------
@dataclass
class Case:
    id: str
    build: Callable[[Path], Path]
    expect: tuple[str, ...]  # fragments of the one stderr line (the file first)
    settings: dict = field(default_factory=dict)
    args: tuple[str, ...] = ()

    def __str__(self):
        return self.id


MB = 1_000_000
CASES = [
    # malformed XML, DTDs, entities, XInclude, namespaces
    Case("malformed-vertical", files({"vertical/v1.xml": '<vertical>\n<html url_name="h1">\n</vertical>'}),
         ("vertical/v1.xml:3", "malformed XML")),
    Case("malformed-course-xml", course_xml('<course url_name="2026" org="BadX"'), ("course.xml", "malformed XML")),
    Case("malformed-course-run-file", files({"course/2026.xml": "<course><chapter url_name='ch1'/>"}),
         ("course/2026.xml", "malformed XML")),
    Case("empty-pointer-file", files({"problem/p1.xml": ""}), ("problem/p1.xml", "malformed XML")),
    Case("xml-not-utf8", files({"vertical/v1.xml": b'<vertical display_name="caf\xe9"><html url_name="h1"/></vertical>'}),
         ("vertical/v1.xml", "malformed XML")),
    Case("xml-utf16", files({"chapter/ch2.xml": '<chapter display_name="x"/>'.encode("utf-16")}),
         ("chapter/ch2.xml", "malformed XML")),
    Case("billion-laughs", files({"vertical/v1.xml": BILLION_LAUGHS}), ("vertical/v1.xml", "entity")),
    Case("xxe-in-pointer-file", files({"problem/p1.xml": XXE}), ("problem/p1.xml", "DOCTYPE")),
    Case("xxe-in-attribute", files({"problem/p1.xml": XXE.replace('display_name="x"', 'display_name="&xxe;"')}),
         ("problem/p1.xml", "external entity")),
    Case("xxe-in-course-xml", course_xml('<!DOCTYPE c [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
                                         '<course url_name="2026" org="BadX" course="T101"/>'), ("course.xml", "DOCTYPE")),
    Case("external-dtd", files({"html/h1.xml": EXTERNAL_DTD}), ("html/h1.xml", "DOCTYPE")),
    Case("undefined-entity", files({"vertical/v1.xml": '<vertical display_name="&nbsp;"><html url_name="h1"/></vertical>'}),
         ("vertical/v1.xml", "malformed XML", "nbsp")),
    Case("xinclude-as-block", in_v2(XINCLUDE), ("vertical/v2.xml", "namespaced element")),
    Case("namespaced-block", in_v2('<foo:bar xmlns:foo="urn:x" display_name="x"/>'), ("vertical/v2.xml", "namespaced")),
    Case("namespaced-pointer", in_v2('<foo:bar xmlns:foo="urn:x" url_name="q"/>'), ("vertical/v2.xml", "namespaced")),
    Case("default-namespace-block", in_v2('<html xmlns="http://www.w3.org/1999/xhtml">hi</html>'),
         ("vertical/v2.xml", "namespaced")),
    Case("xml-nested-300-deep", in_v2("<vertical>" * 300 + "</vertical>" * 300), ("vertical/v2.xml", "malformed XML")),
    # course.xml and the course key
    Case("course-xml-missing", lambda tmp: (tmp / "empty").mkdir() or tmp / "empty", ("course.xml is missing",)),
    Case("path-missing", lambda tmp: tmp / "nowhere", ("nowhere", "no such directory")),
    Case("course-xml-wrong-root", course_xml('<chapter url_name="2026"/>'), ("course.xml", "must hold <course")),
    Case("course-xml-no-org", course_xml('<course url_name="2026" course="T101"/>'), ("course.xml", "org=")),
    Case("course-org-with-spaces", course_xml('<course url_name="2026" org="R e l" course="T101"/>'),
         ("course.xml", "invalid course key", "R e l")),
    Case("course-run-traversal", course_xml('<course url_name="..:..:x" org="BadX" course="T101"/>'),
         ("course.xml", "invalid url_name")),
    Case("course-run-too-long", course_xml(f'<course url_name="{"r" * 300}" org="BadX" course="T101"/>'),
         ("course.xml", "LC_RUNTIME_OLX_MAX_ID_BYTES")),
    Case("course-key-argument", lambda tmp: course(tmp), ("'no key here' is not a course key", "course-v1:ORG+COURSE+RUN"),
         args=("--course-key", "no key here")),
    # ids that would escape or collide in an export
    Case("url-name-dotdot-course", in_v2('<html url_name="..:course">x</html>'), ("vertical/v2.xml", "'..:course'")),
    Case("url-name-back-references", in_v2('<html url_name="..:..:..:..:x">x</html>'),
         ("vertical/v2.xml", "invalid url_name")),
    Case("url-name-slash", in_v2('<html url_name="a/b">x</html>'), ("vertical/v2.xml", "'a/b'")),
    Case("url-name-empty-segment", in_v2('<html url_name="a::b">x</html>'), ("vertical/v2.xml", "'a::b'")),
    Case("url-name-leading-colon", in_v2('<html url_name=":course">x</html>'), ("vertical/v2.xml", "':course'")),
    Case("url-name-dot", in_v2('<html url_name=".">x</html>'), ("vertical/v2.xml", "invalid url_name")),
    Case("url-name-space", in_v2('<html url_name="a b">x</html>'), ("vertical/v2.xml", "'a b'")),
    Case("url-name-percent", in_v2('<html url_name="a%2Fb">x</html>'), ("vertical/v2.xml", "invalid url_name")),
    Case("url-name-20000-chars", in_v2(f'<html url_name="{"a" * 20000}">x</html>'),
         ("vertical/v2.xml", "LC_RUNTIME_OLX_MAX_ID_BYTES")),
    Case("url-name-pointer-dotdot", in_v2('<problem url_name="..:..:..:etc:passwd"/>'), ("vertical/v2.xml", "invalid url_name")),
    Case("block-type-not-ascii", in_v2('<vidéo url_name="x"/>'), ("vertical/v2.xml", "invalid block type")),
    Case("block-type-static", in_v2('<static url_name="x">hi</static>'), ("vertical/v2.xml", "<static> cannot be a block")),
    Case("block-type-policies", in_v2('<policies url_name="2026">hi</policies>'), ("vertical/v2.xml", "<policies>")),
    Case("block-type-too-long", in_v2(f'<{"t" * 70} url_name="x"/>'), ("vertical/v2.xml", "invalid block type")),
    Case("detached-name-invalid", files({"about/bad name.html": "<p>x</p>"}), ("about/bad name.html", "invalid url_name")),
    Case("duplicate-block", files({"vertical/v2.xml": '<vertical><html url_name="h1"/></vertical>'}),
         ("vertical/v2.xml", "duplicate block html/h1")),
    Case("block-contains-itself", files({"vertical/v2.xml": '<vertical><vertical url_name="v2"/></vertical>'}),
         ("vertical/v2.xml", "contains itself")),
    # missing files behind pointers and filenames
    Case("missing-pointer-file", in_v2('<html url_name="nothere"/>'), ("vertical/v2.xml", "missing file html/nothere.xml")),
    Case("missing-chapter-file", files({"course/2026.xml": '<course><chapter url_name="ch9"/></course>'}),
         ("course/2026.xml", "missing file chapter/ch9.xml")),
    Case("pointer-file-is-a-directory", lambda tmp: (course(tmp) / "problem" / "p1.xml").unlink()
         or (tmp / "course" / "problem" / "p1.xml").mkdir() or tmp / "course", ("vertical/v1.xml", "missing file problem/p1.xml")),
    Case("html-filename-traversal", files({"html/h1.xml": '<html filename="../../../../../etc/passwd"/>'}),
         ("etc/passwd", "leaves the course directory")),
    # encodings
    Case("policy-not-utf8", policy(b'{"course/2026": {"display_name": "\xff"}}'), ("policies/2026/policy.json", "UTF-8")),
    Case("about-not-utf8", files({"about/overview.html": b"\xff\xfe<p>x</p>"}), ("about/overview.html", "UTF-8")),
    Case("html-body-not-utf8", files({"html/h1.html": b"<p>caf\xe9</p>"}), ("html/h1.html", "UTF-8")),
    Case("grading-policy-not-utf8", grading(b'{"GRADER": [], "GRADE_CUTOFFS": {"\xff": 0.5}}'),
         ("policies/2026/grading_policy.json", "UTF-8")),
    Case("policy-utf16", policy('{"course/2026": {}}'.encode("utf-16")), ("policies/2026/policy.json", "UTF-8")),
    Case("static-name-not-utf8", raw_name(b"static/\xff.png"), ("static/", "not valid UTF-8")),
    Case("static-name-newline", raw_name(b"static/a\nb.txt"), ("static/a\\x0ab.txt", "control characters")),
    # policies and grading policies: errors name the policy file
    Case("policy-not-json", policy("{not json"), ("policies/2026/policy.json:1", "not valid JSON")),
    Case("policy-array", policy([1, 2]), ("policies/2026/policy.json", "JSON object")),
    Case("policy-entry-not-object", policy({"course/2026": 5}), ("policies/2026/policy.json", "'course/2026'")),
    Case("policy-wrong-type", policy({"course/2026": {"display_name": 7}}),
         ("policies/2026/policy.json", "'display_name'", "block-v1:BadX+T101+2026+type@course+block@2026")),
    Case("policy-bad-date", policy({"sequential/s1": {"due": "not a date"}}), ("policies/2026/policy.json", "'due'")),
    Case("policy-bad-integer", policy({"problem/p1": {"max_attempts": "lots"}}),
         ("policies/2026/policy.json", "'max_attempts'")),
    Case("policy-nan", policy('{"course/2026": {"days_early_for_beta": NaN}}'),
         ("policies/2026/policy.json", "NaN is not a JSON value")),
    Case("policy-nested-100000", policy("[" * 100_000 + "]" * 100_000), ("policies/2026/policy.json", "nested too deeply")),
    Case("grader-not-a-list", grading({"GRADER": 7, "GRADE_CUTOFFS": {"Pass": 0.5}}),
         ("policies/2026/grading_policy.json", "GRADER must be a list")),
    Case("grader-missing-min-count", grading({"GRADER": [{"type": "HW", "drop_count": 0, "weight": 1.0}]}),
         ("policies/2026/grading_policy.json", "'min_count'")),
    Case("grader-weight-string", grading({"GRADER": [{"type": "HW", "min_count": 1, "drop_count": 0, "weight": "1"}]}),
         ("policies/2026/grading_policy.json", "GRADER[0].weight")),
    Case("grade-cutoff-above-one", grading({"GRADER": [], "GRADE_CUTOFFS": {"Pass": 2}}),
         ("policies/2026/grading_policy.json", "GRADE_CUTOFFS['Pass']")),
    Case("grading-policy-list", grading([], path="grading_policy.json"), ("grading_policy.json", "JSON object")),
    Case("assets-not-json", files({"policies/assets.json": "{"}), ("policies/assets.json", "not valid JSON")),
    Case("assets-array", files({"policies/assets.json": "[]"}), ("policies/assets.json", "JSON object")),
    Case("updates-items-not-json", files({"info/updates.html": "<p>u</p>", "info/updates.items.json": "[{]"}),
         ("info/updates.items.json", "not valid JSON")),
    # symbolic links and special files
    Case("symlink-static-file-out", symlink("static/leak.txt", "/etc/passwd"), ("static/leak.txt", "symbolic link")),
    Case("symlink-static-dir-out", symlink("static/etc", "/etc"), ("static/etc", "symbolic link")),
    Case("symlink-static-root-out", symlink("static", outside_dir), ("static", "symbolic link")),
    Case("symlink-html-body-out", symlink("html/h1.html", lambda tmp: outside_dir(tmp) + "/h1.html"),
         ("html/h1.html", "symbolic link")),
    Case("symlink-policies-out", symlink("policies/2026", outside_dir), ("policies/2026", "symbolic link")),
    Case("symlink-course-xml-out", symlink("course.xml", lambda tmp: str(course(tmp / "other") / "course.xml")),
         ("course.xml", "symbolic link")),
    Case("symlink-dangling", symlink("static/gone.txt", "/nonexistent/file"), ("static/gone.txt", "symbolic link")),
    Case("symlink-inside-refused-by-default", symlink("static/copy.xml", "../course.xml"),
         ("static/copy.xml", "symbolic links are not allowed")),
    Case("symlink-out-refused-when-following-internal", symlink("static/leak.txt", "/etc/passwd"),
         ("static/leak.txt", "points outside the course"), settings={"LC_RUNTIME_OLX_FOLLOW_INTERNAL_SYMLINKS": True}),
    Case("fifo-static", fifo("static/pipe"), ("static/pipe", "FIFO")),
    Case("fifo-as-html-body", fifo("html/h1.html"), ("html/h1.html", "FIFO")),
    # archives
    Case("archive-truncated", truncated_archive, ("course.tar.gz", "cannot unpack course archive")),
    Case("archive-not-gzip", not_gzip, ("course.tar.gz", "cannot unpack course archive")),
    Case("archive-gzip-not-tar", gzip_not_tar, ("course.tar.gz", "cannot unpack course archive")),
    Case("archive-no-course-xml", archive(member("course/readme.txt", b"hi"), with_course=False),
         ("course.tar.gz", "no course.xml")),
    Case("archive-traversal", archive(member("course/../../evil.txt", b"pwned")),
         ("course.tar.gz:course/../../evil.txt", "leaves the course directory")),
    Case("archive-absolute-path", archive(member("/tmp/lc-evil.txt", b"pwned")),
         ("course.tar.gz:/tmp/lc-evil.txt", "leaves the course directory")),
    Case("archive-symlink-out", archive(member("course/static/leak.txt", kind=tarfile.SYMTYPE, linkname="/etc/passwd")),
         ("course.tar.gz:course/static/leak.txt", "links are not allowed")),
    Case("archive-symlink-in", archive(member("course/static/c.xml", kind=tarfile.SYMTYPE, linkname="../course.xml")),
         ("course.tar.gz:course/static/c.xml", "links are not allowed")),
    Case("archive-hardlink", archive(member("course/static/h.txt", kind=tarfile.LNKTYPE, linkname="/etc/passwd")),
         ("course.tar.gz:course/static/h.txt", "links are not allowed")),
    Case("archive-fifo", archive(member("course/static/pipe", kind=tarfile.FIFOTYPE)),
         ("course.tar.gz:course/static/pipe", "special files")),
    Case("archive-device", archive(member("course/static/zero", kind=tarfile.CHRTYPE)),
         ("course.tar.gz:course/static/zero", "special files")),
    Case("archive-name-not-utf8", archive(member("course/static/\udcff.txt", b"x"), fmt=tarfile.GNU_FORMAT),
         ("course.tar.gz:course/static/", "not valid UTF-8")),
    Case("archive-too-many-members", many_members(60), ("course.tar.gz", "LC_RUNTIME_OLX_MAX_FILES"),
         settings={"LC_RUNTIME_OLX_MAX_FILES": 50}),
    Case("archive-forged-huge-member", archive(raw_tail=forged_size_header("course/static/huge.bin", 10**12)),
         ("course.tar.gz:course/static/huge.bin", "1,000,000,000,000 bytes", "LC_RUNTIME_OLX_MAX_FILE_BYTES")),
    Case("archive-zeros-bomb", archive(member("course/static/zeros.bin", b"\0" * (2 * MB))),
         ("course.tar.gz:course/static/zeros.bin", "LC_RUNTIME_OLX_MAX_FILE_BYTES"),
         settings={"LC_RUNTIME_OLX_MAX_FILE_BYTES": MB}),
    Case("archive-total-too-big", archive(*(member(f"course/static/z{i}.bin", b"\0" * 300_000) for i in range(5))),
         ("course.tar.gz:course/static/z3.bin", "LC_RUNTIME_OLX_MAX_TOTAL_BYTES"),
         settings={"LC_RUNTIME_OLX_MAX_TOTAL_BYTES": MB}),
    Case("archive-path-1000-deep", archive(member("course/static/" + "d/" * 1000 + "x.txt", b"x")),
         ("course.tar.gz:course/static/d/d/d", "LC_RUNTIME_OLX_MAX_PATH_DEPTH")),
    # limits on directories
    Case("static-1-gib-sparse", sparse_static(1 << 30), ("static/big.bin", "1,073,741,824 bytes",
                                                         "LC_RUNTIME_OLX_MAX_FILE_BYTES")),
    Case("xml-file-over-limit", files({"problem/p1.xml": f"<problem><!-- {'x' * 5000} --></problem>"}),
         ("problem/p1.xml", "LC_RUNTIME_OLX_MAX_FILE_BYTES"), settings={"LC_RUNTIME_OLX_MAX_FILE_BYTES": 4000}),
    Case("too-many-files", static_files(40), ("LC_RUNTIME_OLX_MAX_FILES",), settings={"LC_RUNTIME_OLX_MAX_FILES": 40}),
    Case("total-bytes", static_files(10, size=1000), ("static/f00005.bin", "LC_RUNTIME_OLX_MAX_TOTAL_BYTES"),
         settings={"LC_RUNTIME_OLX_MAX_TOTAL_BYTES": 5500}),
    Case("path-too-deep", static_files(1, depth=30), ("static/d/d/d", "LC_RUNTIME_OLX_MAX_PATH_DEPTH")),
    Case("block-chain-60-deep", vertical_chain(60), ("vertical/d46.xml", "LC_RUNTIME_OLX_MAX_BLOCK_DEPTH")),
    Case("blocks-nested-inline-60-deep", in_v2("<vertical>" * 60 + "</vertical>" * 60),
         ("vertical/v2.xml", "LC_RUNTIME_OLX_MAX_BLOCK_DEPTH")),
    Case("too-many-blocks", in_v2("".join(f'<html url_name="x{i}">x</html>' for i in range(10))),
         ("LC_RUNTIME_OLX_MAX_BLOCKS",), settings={"LC_RUNTIME_OLX_MAX_BLOCKS": 15}),
    # what parsing stores on the side is undone too
    Case("video-transcript-then-broken-xml", video_then_broken_xml, ("vertical/v2.xml", "malformed XML")),
]
COMMANDS = {"import-olx": ("import-olx",), "split-import-olx": ("split", "import-olx")}


# -- state that must not change ------------------------------------------------------------------------
def database_state() -> dict[str, str]:
    """Every table's rows, hashed."""
    state = {}
    with connection.cursor() as cursor:
        for table in sorted(connection.introspection.table_names(cursor)):
            cursor.execute(f'SELECT * FROM "{table}" ORDER BY rowid')
            state[table] = hashlib.sha256(repr(cursor.fetchall()).encode()).hexdigest()
    return state


def media_state(root: Path) -> dict[str, tuple[int, int]]:
    """Every stored file (an empty directory a storage backend created is not content)."""
    if not root.exists():
        return {}
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted(root.rglob("*")) if not p.is_dir()}


def assert_one_line_error(code: int, stderr: str, expect: tuple[str, ...]) -> None:
    assert code == 1, stderr
    assert "Traceback" not in stderr, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("lc-runtime: error: "), stderr
    for fragment in expect:
        assert fragment in lines[0], f"{fragment!r} not in {lines[0]!r}"


def test_the_corpus_is_big_enough():
    assert len(CASES) >= 60 and len({case.id for case in CASES}) == len(CASES)


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("case", CASES, ids=str)
def test_bad_input_is_refused_with_one_line_and_changes_nothing(case, command, tmp_path, capsys, monkeypatch):
    source = case.build(tmp_path)
    temp = tmp_path / "tmp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))  # where an archive is unpacked
    media = Path(settings.MEDIA_ROOT)
    database, files = database_state(), media_state(media)
    capsys.readouterr()
    with override_settings(**case.settings):
        code = main(["--db", str(tmp_path / "ignored.sqlite3"), *COMMANDS[command], str(source), *case.args])
    assert_one_line_error(code, capsys.readouterr().err, case.expect)
    assert database_state() == database
    assert media_state(media) == files
    assert list(temp.iterdir()) == []  # an unpacked archive is removed at once


# -- as a user runs it ---------------------------------------------------------------------------------
SUBPROCESS_CASES = ["symlink-static-file-out", "archive-truncated", "static-1-gib-sparse",
                    "video-transcript-then-broken-xml"]


def sqlite_dump(path: Path) -> str:
    with sqlite3.connect(path) as db:
        return hashlib.sha256("\n".join(db.iterdump()).encode()).hexdigest()


def test_as_a_separate_process(tmp_path):
    """The installed command, on its own database: a good course first, then each bad one (both commands)."""
    db, media = tmp_path / "db" / "lc.sqlite3", tmp_path / "db" / "media"
    env = {**os.environ, "LC_RUNTIME_MEDIA": str(media), "TMPDIR": str(tmp_path / "tmp")}
    (tmp_path / "tmp").mkdir()
    exe = [sys.executable, "-m", "lc_runtime", "--db", str(db)]
    good = course(tmp_path / "good", {"static/logo.txt": "logo"})
    for command in COMMANDS.values():
        done = subprocess.run([*exe, *command, str(good)], capture_output=True, text=True, env=env, timeout=300)
        assert done.returncode == 0, done.stderr
    cases = {case.id: case for case in CASES}
    for name in SUBPROCESS_CASES:
        case = cases[name]
        source = case.build(tmp_path / name)
        for command in COMMANDS.values():
            before, files = sqlite_dump(db), media_state(media)
            done = subprocess.run([*exe, *command, str(source)], capture_output=True, text=True, env=env, timeout=300)
            assert_one_line_error(done.returncode, done.stderr, case.expect)
            assert sqlite_dump(db) == before, (name, command)
            assert media_state(media) == files, (name, command)
    assert list((tmp_path / "tmp").iterdir()) == []


# -- export: ids from elsewhere (Split documents, older imports) must not escape or overwrite ----------------
@pytest.fixture
def imported(tmp_path, rollback):
    """The standard course imported (rolled back after the test)."""
    from lc_runtime import api

    api.import_olx(course(tmp_path))
    return KEY


@pytest.mark.parametrize("bad_id, expect", [
    ("..:course", ("two blocks or files would be written to the same path", "(course.xml)")),
    ("..:..:outside", ("path leaves the destination (html/../..)",)),
])
def test_export_refuses_an_id_that_would_escape_or_overwrite(imported, bad_id, expect, tmp_path, capsys):
    from lc_runtime.models import LcBlock

    LcBlock.objects.filter(course__course_key=imported, block_type="html", block_id="h2").update(block_id=bad_id)
    destination = tmp_path / "out" / "export"
    capsys.readouterr()
    code = main(["export-olx", imported, str(destination)])
    assert_one_line_error(code, capsys.readouterr().err, (f"cannot export course {imported}", *expect))
    assert (destination / "course.xml").read_text().startswith("<course url_name=\"2026\"")
    assert not (tmp_path / "out" / "outside.xml").exists() and not (tmp_path / "outside.xml").exists()


def test_export_does_not_write_through_a_symbolic_link_in_the_destination(imported, tmp_path, capsys):
    outside = tmp_path / "outside"
    outside.mkdir()
    destination = tmp_path / "export"
    destination.mkdir()
    os.symlink(outside, destination / "html")
    capsys.readouterr()
    code = main(["export-olx", imported, str(destination)])
    assert_one_line_error(code, capsys.readouterr().err, ("path leaves the destination (through a symbolic link)",
                                                          "(html"))
    assert list(outside.iterdir()) == []


def test_export_fs_never_writes_a_path_twice(tmp_path):
    from lc_runtime.errors import OlxExportError
    from lc_runtime.olx.safefs import ExportFS

    export = ExportFS(tmp_path, KEY)
    export.makedirs("html/x")
    export.writetext("html/a.xml", "first")
    with pytest.raises(OlxExportError, match=r"same path \(html/a.xml\)"):
        export.opendir("/").writetext("html/x/../a.xml", "second")
    assert (tmp_path / "html" / "a.xml").read_text() == "first"


# -- what stays accepted ----------------------------------------------------------------------------------
@pytest.mark.usefixtures("rollback")
def test_internal_symbolic_links_are_followed_only_when_allowed(tmp_path):
    from lc_runtime import api

    root = course(tmp_path, {"static/real/logo.txt": "logo"})
    os.symlink("real/logo.txt", root / "static" / "same.txt")
    os.symlink(".", root / "static" / "real" / "loop")  # a cycle: walked once
    with override_settings(LC_RUNTIME_OLX_FOLLOW_INTERNAL_SYMLINKS=True):
        tree, result = api.import_olx(root)
    assert sorted(f.path for f in tree.static_files) == ["real/logo.txt", "same.txt"]
    assert {f.data for f in tree.static_files} == {b"logo"} and result.uploads == 2


@pytest.mark.usefixtures("rollback")
def test_xinclude_and_entities_inside_content_stay_unresolved(tmp_path):
    from lc_runtime import api

    problem = (f'<problem display_name="P"><p>{XINCLUDE}</p><p>&amp;lt;</p>'
               '<numericalresponse answer="4"><formulaequationinput/></numericalresponse></problem>')
    tree, _ = api.import_olx(course(tmp_path, {"problem/p1.xml": problem}))
    olx = next(b for b in tree.blocks.values() if b.block_id == "p1").olx
    assert "xi:include" in olx and "/etc/passwd" in olx and "root:" not in olx
