"""``olx.round_trip`` compared on what the block class itself would write again (#10).

A leaf block exports through its own class, and some classes write a field in another form than the
one stored: the re-parsed settings then differ although nothing was lost. Such a difference is
accepted only when BOTH hold (anything else is still reported):

1. a rule below explains every changed field: the class reads the stored and the re-parsed value as
   the same thing (each rule says why, from the class's own code); and
2. the class writes the same OLX again for the stored and for the re-parsed state (its serialisation is
   idempotent on them), so the next export/import cycle changes nothing more.

Rule 1 is what catches a real loss of the same field (a dropped transcript language, a changed
file name, a changed ``text_response``, a different YouTube id); rule 2 catches a parser that
keeps less than its class wrote. Each rule is tested against such a loss (tests/test_round_trip_rules.py).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from lc_runtime.blocks.mixins import INHERITABLE_FIELDS

_MISSING = object()


@dataclass(frozen=True)
class ClassRule:
    """Fields a block class writes in another form, and how to tell that it still means the same."""

    block_type: str | None  # None: any class
    why: str
    explains: Callable[[str, dict, dict, Callable[[str], Any]], set[str]]  # → the changed fields it accounts for


def _default_json(block_type: str, name: str):
    from lc_runtime.blocks.registry import load_block_class

    field = load_block_class(block_type).fields.get(name)
    if field is None:
        return _MISSING
    return field.to_json(field.default)


def _set_to_default(block_type: str, stored: dict, again: dict, default_of) -> set[str]:
    """A non-inheritable field unset on one side and explicitly set to the class default on the other."""
    explained = set()
    for name in set(stored) ^ set(again):
        if name in INHERITABLE_FIELDS or name == "xml_attributes":
            continue  # unset inherits from the parent: explicit-at-default is not the same value there
        value = stored.get(name, again.get(name))
        default = default_of(name)
        if default is not _MISSING and value == default:
            explained.add(name)
    return explained


def _languages(settings: dict) -> dict[str, str]:
    transcripts = dict(settings.get("transcripts") or {})
    if settings.get("sub"):  # ``sub`` is the English transcript of the older form (VideoBlock's own rule)
        transcripts.setdefault("en", settings["sub"])
    return transcripts


def _video_transcripts(block_type: str, stored: dict, again: dict, default_of) -> set[str]:
    """VideoBlock.definition_to_xml merges the transcripts edx-val holds for its ``edx_video_id`` into
    ``transcripts`` as ``<edx_video_id>-<lang>.srt`` (writing those files) and clears ``sub`` when an
    English one is there. Same meaning when: no language is lost, a language's file changes only to
    edx-val's name, added languages are edx-val's, and ``sub`` is cleared only for an English transcript."""
    video_id = again.get("edx_video_id")
    if not video_id or stored.get("edx_video_id") != video_id:
        return set()
    before, after = _languages(stored), dict(again.get("transcripts") or {})
    if again.get("sub") and again.get("sub") != stored.get("sub"):
        return set()
    if again.get("sub") and "en" not in after:
        after["en"] = again["sub"]
    for language, name in after.items():
        if before.get(language) != name and name != f"{video_id}-{language}.srt":
            return set()
    if not set(before) <= set(after):
        return set()
    return {"sub", "transcripts"}


def _ora_text_response(block_type: str, stored: dict, again: dict, default_of) -> set[str]:
    """ORA's ``text_response`` property reads an empty ``text_response_raw`` as ``"required"`` when no file
    upload is asked for (its backward compatibility), and its export writes that property."""
    def effective(settings):
        raw = settings.get("text_response_raw", default_of("text_response_raw"))
        return "required" if not raw and not settings.get("file_upload_response_raw") else raw

    return {"text_response_raw"} if effective(stored) == effective(again) else set()


RULES = (
    ClassRule(None, "a field the class writes even at its default (VideoBlock's ``youtube`` for "
                    "``youtube_id_1_0``), or does not write when falsy (VideoBlock's ``sub=\"\"``), comes back set "
                    "or unset at the same default value; inheritable fields excluded (unset inherits)",
              _set_to_default),
    ClassRule("video", "VideoBlock writes the transcripts edx-val holds into ``transcripts`` and clears "
                       "``sub`` for an English one: no language lost, only edx-val's file names", _video_transcripts),
    ClassRule("openassessment", "ORA writes ``text_response`` (null raw value with no file upload reads as "
                                "\"required\")", _ora_text_response),
)


def changed_fields(stored: dict, again: dict) -> set[str]:
    return {k for k in set(stored) | set(again) if stored.get(k, _MISSING) != again.get(k, _MISSING)}


def explain(block_type: str, stored: dict, again: dict) -> tuple[set[str], dict]:
    """``(unexplained, comparable)``: the changed settings no class rule accounts for (empty: the class only
    rewrote them), and the re-parsed settings with every field that only went set/unset at its default put
    back as stored, which is what the class's two outputs are compared on (it writes an explicitly-set
    default as an attribute, the value being the same)."""
    left = changed_fields(stored, again)
    defaults: dict[str, Any] = {}

    def default_of(name):
        if name not in defaults:
            try:
                defaults[name] = _default_json(block_type, name)
            except Exception:  # noqa: BLE001 - a class that cannot load explains nothing
                defaults[name] = _MISSING
        return defaults[name]

    at_default: set[str] = set()
    for rule in RULES:
        if left and rule.block_type in (None, block_type):
            explained = rule.explains(block_type, stored, again, default_of)
            if rule.explains is _set_to_default:
                at_default = explained & left
            left -= explained
    comparable = {k: v for k, v in again.items() if k not in at_default}
    comparable.update({k: stored[k] for k in at_default if k in stored})
    return left, comparable


__all__ = ["RULES", "changed_fields", "explain"]
