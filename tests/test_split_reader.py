"""``read_split_tree`` (the migration's read of a Split course) read again and again (#13 item 4).

A leaf's ``block.xml`` is kept for equal inputs across reads and branches (``split/reader.py``
``LeafOlxMemo``); these tests pin that a later read still shows what Split holds: after a write, on the other
branch, and after a document edited in place under the same ids (the memo compares its inputs).
Real block classes over ``standard_course`` (tests/olx_builder.py) in a mongomock Split store.
"""
from __future__ import annotations

import mongomock
import pytest

from lc_runtime.data import BlockRef
from lc_runtime.olx.reader import read_course
from modulestore_compat.api import BranchName, DraftVersioningModuleStore, MongoDocumentStore, SplitWriter
from modulestore_compat.split.reader import read_split_tree
from .olx_builder import standard_course

H1, P1 = BlockRef("html", "h1"), BlockRef("problem", "p1")


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    return read_course(standard_course(tmp_path_factory.mktemp("reader") / "course"))


@pytest.fixture
def course(tree):
    documents = MongoDocumentStore(mongomock.MongoClient(tz_aware=True)["edxapp"])
    writer = SplitWriter(documents)
    writer.import_tree(tree)
    return documents, writer, tree.course_key


def read(documents, key, branch=BranchName.draft):
    return read_split_tree(DraftVersioningModuleStore(documents), key, branch)


def test_a_second_read_gives_the_leaves_olx_the_first_read_gave(course):
    documents, _, key = course
    first, second = read(documents, key), read(documents, key)
    assert second.blocks[H1].olx == first.blocks[H1].olx == \
        '<html display_name="Text 1"><![CDATA[<p>Hello <b>world</b></p>]]></html>'
    assert 'max_attempts="2"' in second.blocks[P1].olx
    assert second.blocks[P1].olx == first.blocks[P1].olx


def test_a_write_after_a_read_shows_in_the_next_read_of_the_draft_only(course):
    documents, writer, key = course
    read(documents, key), read(documents, key, BranchName.published)
    writer.update_item(key, ("html", "h1"), settings={"display_name": "Renamed"}, content={"data": "<p>New</p>"})
    draft, published = read(documents, key), read(documents, key, BranchName.published)
    assert draft.blocks[H1].olx == '<html display_name="Renamed"><![CDATA[<p>New</p>]]></html>'
    assert published.blocks[H1].olx == '<html display_name="Text 1"><![CDATA[<p>Hello <b>world</b></p>]]></html>'


def test_documents_edited_in_place_under_the_same_ids_are_read_again(course):
    """Split never rewrites a version, but a repair or a test may: the kept OLX is not given for
    a block whose document or definition differs from the ones it was written from."""
    documents, _, key = course
    read(documents, key)
    index = documents.get_course_index(key.org, key.course, key.run)
    structure = documents.structures.find_one({"_id": index["versions"][BranchName.draft]})
    h1 = next(b for b in structure["blocks"] if (b["block_type"], b["block_id"]) == ("html", "h1"))
    p1 = next(b for b in structure["blocks"] if (b["block_type"], b["block_id"]) == ("problem", "p1"))
    documents.definitions.update_one({"_id": h1["definition"]}, {"$set": {"fields.data": "<p>Patched</p>"}})
    documents.structures.update_one(
        {"_id": structure["_id"], "blocks.block_id": "p1"},
        {"$set": {"blocks.$.fields": {**p1["fields"], "max_attempts": 5}}})
    again = read(documents, key)
    assert again.blocks[H1].olx == '<html display_name="Text 1"><![CDATA[<p>Patched</p>]]></html>'
    assert 'max_attempts="5"' in again.blocks[P1].olx
