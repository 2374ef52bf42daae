"""The embedded Split store encodes a new structure version reusing its unchanged blocks' JSON text
(``BlockTexts``): the stored text must be exactly what encoding the whole document gives."""
from __future__ import annotations

import copy
from datetime import datetime, timezone

from bson import ObjectId

from modulestore_compat.split.documents.extjson import BlockTexts, dumps, loads


def _structure(blocks):
    return {"_id": ObjectId(), "root": ["course", "c"], "previous_version": ObjectId(), "edited_by": 3,
            "edited_on": datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=timezone.utc), "schema_version": 1,
            "original_version": ObjectId(), "blocks": blocks}


def _block(n):
    return {"block_type": "html", "block_id": f"h{n}", "definition": ObjectId(),
            "fields": {"display_name": f"Text {n} \u00e9 \"quoted\" blocks", "children": [["html", "x"]]},
            "defaults": {}, "asides": {},
            "edit_info": {"edited_on": datetime(2026, 1, 1, tzinfo=timezone.utc), "edited_by": None,
                          "update_version": ObjectId(), "previous_version": None, "source_version": None}}


def test_a_new_version_reuses_unchanged_block_texts_and_encodes_exactly_as_a_whole():
    texts = BlockTexts()
    first = _structure([_block(n) for n in range(5)])
    assert texts.structure_text(first) == dumps(first)
    changed = copy.deepcopy(first["blocks"][2])
    changed["fields"]["display_name"] = "Changed"
    second = _structure(first["blocks"][:2] + [changed] + first["blocks"][3:] + [_block(9)])
    text = texts.structure_text(second)
    assert text == dumps(second)
    assert loads(text)["blocks"][2]["fields"]["display_name"] == "Changed"
    assert sum(1 for block, _ in texts._texts.values() if any(block is b for b in first["blocks"])) == 5


def test_an_empty_structure_and_a_field_holding_the_marker_shape_encode_as_a_whole():
    texts = BlockTexts()
    empty = _structure([])
    assert texts.structure_text(empty) == dumps(empty)
    tricky = _structure([_block(1)])
    tricky["blocks"][0]["fields"]["display_name"] = '"blocks": "blocks-0"'
    assert texts.structure_text(tricky) == dumps(tricky)
