"""OLX ``drafts/`` (unpublished units) imported as edx imports them, on both sides, and exported again.

The blocks expected are counted from the files on disk by this test's own small walk of ``drafts/``
(not by the reader under test): every block a draft unit holds must be on the draft branch under
the same parent, in the same place, and on the published branch only if the course publishes it.
"""
from __future__ import annotations

from pathlib import Path

import pytest
from django.db import transaction
from lxml import etree

from lc_runtime import api
from lc_runtime.data import BlockRef
from lc_runtime.olx.reader import read_course
from lc_runtime.olx.references import reference_parts
from lc_runtime.storage.snapshot import load_snapshot
from modulestore_compat.api import DjangoDocumentStore, SplitWriter

from .conftest import SHARED
from .olx_builder import standard_course

SUPPORTED = SHARED / "fixtures" / "olx" / "real-courses" / "supported-components"
KEY = "course-v1:TestX+T101+2026"


# -- what drafts/ holds, read from disk by the test ---------------------------------------------------
def _children_on_disk(drafts: Path, element, found: dict) -> list[BlockRef]:
    children = []
    for child in element:  # blocks are the elements with a url_name (a problem's body has none)
        if not isinstance(child.tag, str) or child.get("url_name") is None:
            continue
        url_name = child.get("url_name")
        ref = BlockRef(child.tag, url_name)
        children.append(ref)
        if set(child.attrib) == {"url_name"} and len(child) == 0:  # a pointer to drafts/<type>/<id>.xml
            child = etree.parse(str(drafts / child.tag / f"{url_name.replace(':', '/')}.xml")).getroot()
        found[ref] = _children_on_disk(drafts, child, found)
    return children


def drafts_on_disk(course: Path) -> tuple[dict[BlockRef, list[BlockRef]], dict[BlockRef, tuple[BlockRef, int]]]:
    """Every block under drafts/ units → its children; each unit → (parent, index_in_children_list)."""
    drafts = course / "drafts"
    found, units = {}, {}
    for path in sorted(drafts.rglob("*.xml")):
        element = etree.parse(str(path)).getroot()
        if element.get("index_in_children_list") is None:
            continue
        ref = BlockRef(element.tag, path.stem)
        found[ref] = _children_on_disk(drafts, element, found)
        parent = element.get("parent_url") or element.get("parent_sequential_url")
        units[ref] = (BlockRef(*reference_parts(parent)) if parent else None, int(element.get("index_in_children_list")))
    return found, units


def published_on_disk(course: Path, ref: BlockRef) -> bool:
    return (course / ref.block_type / f"{ref.block_id}.xml").is_file()


# -- both sides' branches as {ref: children} ------------------------------------------------------------
def lc_branches(course_key) -> dict[str, dict[BlockRef, list[BlockRef]]]:
    return {branch: {ref: list(r.children) for ref, r in load_snapshot(course_key, branch).blocks.items()}
            for branch in ("draft", "published")}


def split_branches(documents, course_key) -> dict[str, dict[BlockRef, list[BlockRef]]]:
    index = documents.get_course_index(course_key.org, course_key.course, course_key.run)
    out = {}
    for branch, name in (("draft", "draft-branch"), ("published", "published-branch")):
        structure = documents.get_structure(index["versions"][name])
        out[branch] = {BlockRef(b["block_type"], b["block_id"]): [BlockRef(*c) for c in b["fields"].get("children", [])]
                       for b in structure["blocks"]}
    return out


def assert_drafts_placed(branches, course: Path, found, units) -> None:
    draft, published = branches["draft"], branches["published"]
    for ref, children in found.items():
        assert ref in draft, f"{ref} missing from the draft branch"
        assert draft[ref] == children, ref
        assert (ref in published) == published_on_disk(course, ref), ref
    for ref, (parent, index) in units.items():
        if parent is None:
            assert not any(ref in kids for kids in draft.values()), f"{ref} should be an orphan"
            continue
        assert draft[parent].index(ref) == min(index, len(draft[parent]) - 1), (ref, parent)
        if not published_on_disk(course, ref):
            assert ref not in published.get(parent, []), ref


# -- a course written by the test -----------------------------------------------------------------------
def course_with_drafts(root: Path) -> Path:
    """standard_course plus: v1 changed (h1's body changed, p1 dropped, a new problem); a new unit vnew at
    index 0 of s2 named by an i4x:// parent_url; a unit without parent_url (an orphan of the draft); a unit
    whose parent is not in the course; a stray draft file."""
    files = {
        "drafts/vertical/v1.xml": '<vertical display_name="Unit 1 (draft)" index_in_children_list="0" parent_url='
                                  '"block-v1:TestX+T101+2026+type@sequential+block@s1"><html url_name="h1"/>'
                                  '<problem url_name="pnew"/></vertical>',
        "drafts/html/h1.xml": '<html filename="h1" display_name="Text 1"/>',
        "drafts/html/h1.html": "<p>Hello <b>draft</b></p>",
        "drafts/problem/pnew.xml": '<problem display_name="New problem"><p>3+3?</p><numericalresponse answer="6">'
                                   '<formulaequationinput/></numericalresponse></problem>',
        "drafts/vertical/vnew.xml": '<vertical display_name="New unit" index_in_children_list="0" '
                                    'parent_sequential_url="i4x://TestX/T101/sequential/s2"><html url_name="hnew"/>'
                                    '</vertical>',
        "drafts/html/hnew.xml": '<html filename="hnew" display_name="New text"/>',
        "drafts/html/hnew.html": "<p>Only a draft</p>",
        "drafts/vertical/vorph.xml": '<vertical display_name="No parent" index_in_children_list="0"/>',
        "drafts/vertical/vlost.xml": '<vertical display_name="Lost" index_in_children_list="1" parent_url='
                                     '"block-v1:TestX+T101+2026+type@sequential+block@gone"><html url_name="hlost"/>'
                                     '</vertical>',
        "drafts/html/hlost.xml": '<html display_name="Lost text">lost</html>',
        "drafts/problem/stray.xml": '<problem display_name="Stray"/>',
    }
    return standard_course(root, files=files)


def test_reader_keeps_drafts_apart_with_their_places_and_warns_about_what_it_leaves_out(tmp_path):
    olx = course_with_drafts(tmp_path / "olx")
    found, units = drafts_on_disk(olx)
    tree = read_course(olx)
    kept = {ref for ref in found if not (ref == BlockRef("vertical", "vlost") or ref == BlockRef("html", "hlost"))}
    assert set(tree.drafts) == kept
    assert BlockRef("problem", "pnew") not in tree.blocks and len(tree.blocks) == 10  # published: as without drafts/
    draft = tree.draft_tree()
    assert draft.blocks[BlockRef("vertical", "v1")].children == [BlockRef("html", "h1"), BlockRef("problem", "pnew")]
    assert draft.blocks[BlockRef("sequential", "s2")].children == [BlockRef("vertical", "vnew"),
                                                                    BlockRef("vertical", "v2")]
    assert BlockRef("problem", "p1") in draft.blocks  # dropped by the draft: an orphan there, as in Split
    assert draft.blocks[BlockRef("html", "h1")].fields.content["data"] == "<p>Hello <b>draft</b></p>"
    vertical = tree.drafts[BlockRef("vertical", "v1")].fields.settings
    assert not {"parent_url", "index_in_children_list"} & set(vertical.get("xml_attributes", {}))
    assert "parent_sequential_url" not in tree.drafts[BlockRef("vertical", "vnew")].fields.settings["xml_attributes"]
    warnings = "\n".join(tree.warnings)
    assert "drafts/vertical/vlost.xml" in warnings and "sequential/gone" in warnings and "not imported" in warnings
    assert "drafts/vertical/vorph.xml" in warnings and "orphan" in warnings
    assert "drafts/problem/stray.xml" in warnings


@pytest.mark.usefixtures("rollback")
@pytest.mark.mysql
def test_learning_core_and_split_hold_the_drafts_on_the_draft_branch_only(tmp_path):
    olx = course_with_drafts(tmp_path / "olx")
    found, units = drafts_on_disk(olx)
    for ref in (BlockRef("vertical", "vlost"), BlockRef("html", "hlost")):  # its parent is not in the course
        found.pop(ref), units.pop(ref, None)
    tree, result = api.import_olx(olx)
    assert result.drafts == len(found) == 6
    assert any("drafts/vertical/vlost.xml" in w for w in result.warnings)
    documents = DjangoDocumentStore()
    SplitWriter(documents).import_tree(tree)
    lc, split = lc_branches(tree.course_key), split_branches(documents, tree.course_key)
    for branches in (lc, split):
        assert_drafts_placed(branches, olx, found, units)
        assert branches["published"][BlockRef("vertical", "v1")] == [BlockRef("html", "h1"), BlockRef("problem", "p1")]
        assert BlockRef("vertical", "vlost") not in branches["draft"]
    assert lc == split
    published = load_snapshot(tree.course_key, "published").blocks[BlockRef("html", "h1")].content["data"]
    draft = load_snapshot(tree.course_key, "draft").blocks[BlockRef("html", "h1")].content["data"]
    assert (published, draft) == ("<p>Hello <b>world</b></p>", "<p>Hello <b>draft</b></p>")


@pytest.mark.usefixtures("rollback")
def test_export_of_the_draft_branch_writes_drafts_and_imports_to_the_same_branches(tmp_path):
    from lc_runtime.reimport import _tree_state

    olx = course_with_drafts(tmp_path / "olx")
    tree, _ = api.import_olx(olx)
    out = api.export_course_olx(KEY, tmp_path / "exported")
    written = sorted(str(p.relative_to(out / "drafts")) for p in (out / "drafts").rglob("*.xml"))
    assert written == ["html/h1.xml", "html/hnew.xml", "problem/pnew.xml", "vertical/v1.xml", "vertical/vnew.xml"]
    unit = etree.parse(str(out / "drafts" / "vertical" / "vnew.xml")).getroot()
    assert unit.get("parent_url") == "block-v1:TestX+T101+2026+type@sequential+block@s2"
    assert unit.get("index_in_children_list") == "0"
    with transaction.atomic():
        again = read_course(out, KEY)
        transaction.set_rollback(True)
    assert _tree_state(again) == _tree_state(tree)
    before, after = _tree_state(tree.draft_tree()), _tree_state(again.draft_tree())
    # Orphans are not exported (edx's _export_drafts skips them): the parentless draft unit is the one loss.
    assert set(before) - set(after) == {BlockRef("vertical", "vorph")}
    before.pop(BlockRef("vertical", "vorph"))
    assert after == before


@pytest.mark.slow
@pytest.mark.usefixtures("rollback")
def test_supported_components_drafts_on_both_sides_and_through_export(tmp_path):
    if not SUPPORTED.is_dir():
        pytest.fail(f"The real fixture course is missing at {SUPPORTED} (CI needs ../shared beside the checkout)")
    found, units = drafts_on_disk(SUPPORTED)
    assert len(found) == 6 and len(units) == 1
    tree, result = api.import_olx(SUPPORTED)
    assert set(tree.drafts) == set(found) and result.drafts == 6
    documents = DjangoDocumentStore()
    SplitWriter(documents).import_tree(tree)
    lc, split = lc_branches(tree.course_key), split_branches(documents, tree.course_key)
    for branches in (lc, split):
        assert_drafts_placed(branches, SUPPORTED, found, units)
        unit = next(iter(units))
        assert len(branches["published"][unit]) == len(branches["draft"][unit]) + 1  # one problem unpublished away
    assert lc == split

    from lc_runtime.reimport import _tree_state

    out = api.export_course_olx(tree.course_key, tmp_path / "exported")
    assert drafts_on_disk(out) == (found, {ref: (parent, index) for ref, (parent, index) in units.items()})
    with transaction.atomic():
        again = read_course(out, str(tree.course_key))
        transaction.set_rollback(True)
    before, after = _tree_state(tree.draft_tree()), _tree_state(again.draft_tree())
    assert set(before) == set(after)
    places = {parent for parent, _ in units.values()}
    for ref in set(found) | places:  # the drafts and where they go: as imported (videos elsewhere normalise)
        assert after[ref] == before[ref], ref


def test_a_draft_unit_pointing_to_a_file_missing_from_drafts_is_left_out_with_a_warning(tmp_path):
    files = {
        "drafts/vertical/vmiss.xml": '<vertical index_in_children_list="0" parent_url='
                                     '"block-v1:TestX+T101+2026+type@sequential+block@s1"><html url_name="hx"/>'
                                     '<problem url_name="nowhere"/></vertical>',
        "drafts/html/hx.xml": '<html display_name="X">x</html>',
        "drafts/vertical/v2.xml": '<vertical display_name="Unit 2 (draft)" index_in_children_list="0" parent_url='
                                  '"block-v1:TestX+T101+2026+type@sequential+block@s2"><html url_name="h2"/></vertical>',
        "drafts/html/h2.xml": '<html display_name="Text 2">changed</html>',
    }
    tree = read_course(standard_course(tmp_path / "olx", files=files))
    assert set(tree.drafts) == {BlockRef("vertical", "v2"), BlockRef("html", "h2")}
    assert [p.ref for p in tree.draft_placements] == [BlockRef("vertical", "v2")]
    assert any("drafts/vertical/vmiss.xml" in w and "drafts/problem/nowhere.xml" in w and "not imported" in w
               for w in tree.warnings), tree.warnings


@pytest.mark.usefixtures("rollback")
def test_a_rerun_import_of_a_course_with_drafts_is_a_no_op_on_both_sides(tmp_path):
    from modulestore_compat.split.reimport import split_course_matches

    olx = course_with_drafts(tmp_path / "olx")
    tree, _ = api.import_olx(olx)
    assert api.import_olx(olx)[1].unchanged
    documents = DjangoDocumentStore()
    SplitWriter(documents).import_tree(tree)
    assert split_course_matches(documents, read_course(olx))
    (olx / "drafts" / "html" / "h1.html").write_text("<p>Changed again</p>")
    assert not split_course_matches(documents, read_course(olx))
    with pytest.raises(api.CourseExistsError):
        api.import_olx(olx)
