"""OLX export round trip and the canonical dump's exact shape."""
from __future__ import annotations

import json
import mimetypes

import pytest

from lc_runtime import api
from lc_runtime.dump import dumps

DEMO_KEY = "course-v1:OpenedX+DemoX+DemoCourse"


@pytest.mark.usefixtures("rollback")
def test_demo_export_then_reimport_gives_an_identical_dump(demo_course, demo_olx, tmp_path):
    before = dumps(api.dump_course(DEMO_KEY))
    out = tmp_path / "export"
    api.export_course_olx(DEMO_KEY, out)
    assert (out / "course.xml").is_file() and (out / "policies/DemoCourse/policy.json").is_file()
    source_files = {p.relative_to(demo_olx / "static"): p.read_bytes() for p in (demo_olx / "static").rglob("*")
                    if p.is_file()}
    exported_files = {p.relative_to(out / "static"): p.read_bytes() for p in (out / "static").rglob("*")
                      if p.is_file()}
    assert exported_files == source_files
    # policies/assets.json is written again from the course's files (not copied): one entry per file
    # (keyed by asset name: a space in a file name is "_" there, as edx names assets), and every entry
    # of the source keeps what Studio shows and serves by (type, name, locked).
    exported_policy = json.loads((out / "policies/assets.json").read_text())
    source_policy = json.loads((demo_olx / "policies/assets.json").read_text())
    assert len(exported_policy) == len(exported_files) and set(source_policy) <= set(exported_policy)
    shown = ("contentType", "displayname", "locked")
    assert {name: [exported_policy[name].get(f) for f in shown] for name in source_policy} == {
        name: [_imported_content_type(name, entry), entry.get("displayname"), entry.get("locked")]
        for name, entry in source_policy.items()}
    api.import_olx(out, replace=True)
    after = dumps(api.dump_course(DEMO_KEY))
    assert after == before


def _imported_content_type(name: str, entry: dict) -> str:
    """edx's OLX import keeps a policy's contentType only when it is a known MIME type, else it guesses
    from the file name (xmodule/modulestore/xml_importer.py, ``_import_static_content``): so does ours."""
    known = set(mimetypes.types_map.values())
    given = entry.get("contentType")
    return given if given in known else mimetypes.guess_type(name)[0]


def test_dump_has_exactly_the_canonical_shape(demo_course):
    dump = api.dump_course(DEMO_KEY, branch="published")
    assert set(dump) == {"course_key", "source", "branch", "blocks"}
    assert (dump["course_key"], dump["source"], dump["branch"]) == (DEMO_KEY, "learning_core", "published")
    first = dump["blocks"][0]
    assert set(first) == {"usage_key", "block_type", "block_id", "parent", "children", "fields"}
    assert first["usage_key"] == "block-v1:OpenedX+DemoX+DemoCourse+type@course+block@DemoCourse"
    assert first["parent"] is None
    for record in dump["blocks"]:
        assert "branch@" not in record["usage_key"] and "version@" not in record["usage_key"]
        for name, field in record["fields"].items():
            assert set(field) == {"scope", "value", "explicit"}, name
            assert field["scope"] in {"content", "settings", "user_state", "preferences", "user_info",
                                      "user_state_summary"}
    json.dumps(dump)  # every value is plain JSON


def test_dump_order_is_depth_first_then_detached(demo_course):
    dump = api.dump_course(DEMO_KEY)
    types = [b["block_type"] for b in dump["blocks"]]
    tree_part = types[: types.index("about")]
    assert tree_part[0] == "course" and tree_part[1] == "chapter" and tree_part[2] == "sequential"
    assert set(types[types.index("about"):]) == {"about", "course_info"}
    by_key = {b["usage_key"]: b for b in dump["blocks"]}
    position = {b["usage_key"]: i for i, b in enumerate(dump["blocks"])}
    for record in dump["blocks"]:
        for child in record["children"]:
            assert by_key[child]["parent"] == record["usage_key"]
            assert position[child] > position[record["usage_key"]]


def test_dump_values_include_inherited_values(demo_course):
    dump = api.dump_course(DEMO_KEY)
    html = next(b for b in dump["blocks"] if b["block_type"] == "html")
    assert html["fields"]["start"] == {"scope": "settings", "value": "2020-01-01T00:00:00Z", "explicit": False}
    assert html["fields"]["display_name"]["explicit"] is True
