"""conformance.key_text: a key's text is reused only for a key of the very same course key and block."""
from __future__ import annotations

import pytest
from bson import ObjectId
from opaque_keys import InvalidKeyError
from opaque_keys.edx.keys import UsageKey
from opaque_keys.edx.locator import CourseLocator

from conformance.key_text import PlainKeys, parsed_usage_key
from lc_runtime.dump import plain_key

COURSE = CourseLocator("KeysX", "K1", "2026")


def test_the_text_is_plain_key_s_for_a_branch_and_versioned_course():
    plain = PlainKeys()
    versioned = COURSE.for_branch("draft-branch").replace(version_guid=ObjectId("65f0c0ffee0000000000abcd"))
    key = versioned.make_usage_key("problem", "p1")
    assert plain(key) == plain_key(key) == "block-v1:KeysX+K1+2026+type@problem+block@p1"
    assert plain(key) == plain(versioned.make_usage_key("problem", "p1"))  # kept: the same course key object


def test_a_key_of_another_course_key_is_not_given_the_kept_text():
    plain = PlainKeys()
    assert plain(COURSE.make_usage_key("html", "h1")) == "block-v1:KeysX+K1+2026+type@html+block@h1"
    other = CourseLocator("KeysX", "K1", "rerun")
    assert plain(other.make_usage_key("html", "h1")) == "block-v1:KeysX+K1+rerun+type@html+block@h1"
    same_value = CourseLocator("KeysX", "K1", "2026")  # an equal course key, another object: made again, equal
    assert plain(same_value.make_usage_key("html", "h1")) == "block-v1:KeysX+K1+2026+type@html+block@h1"


@pytest.mark.parametrize("block_type, block_id", [("html", "h2"), ("problem", "h1")])
def test_another_block_of_the_same_course_key_gets_its_own_text(block_type, block_id):
    plain = PlainKeys()
    plain(COURSE.make_usage_key("html", "h1"))
    key = COURSE.make_usage_key(block_type, block_id)
    assert plain(key) == plain_key(key) == f"block-v1:KeysX+K1+2026+type@{block_type}+block@{block_id}"


def test_no_key_has_no_text():
    assert PlainKeys()(None) is None


def test_a_parsed_key_is_the_key_the_text_names_and_bad_text_fails_every_time():
    text = "block-v1:KeysX+K1+2026+type@problem+block@p1"
    assert parsed_usage_key(text) == UsageKey.from_string(text)
    for _ in range(2):
        with pytest.raises(InvalidKeyError):
            parsed_usage_key("not a key")
