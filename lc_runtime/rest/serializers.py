"""Request bodies (strict: an unknown key is a 400, nothing is guessed) and the block's JSON."""
from __future__ import annotations

from rest_framework import serializers

from ..roles.data import ROLES


class Strict(serializers.Serializer):
    """Refuse keys the endpoint does not know (a typo must not silently do nothing)."""

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            raise serializers.ValidationError({"non_field_errors": ["the body must be a JSON object"]})
        unknown = sorted(set(data) - set(self.fields))
        if unknown:
            raise serializers.ValidationError({key: ["unknown key"] for key in unknown})
        return super().to_internal_value(data)


class Versioned(Strict):
    version = serializers.CharField(required=False, allow_null=True, max_length=64,
                                    help_text="the version the change was based on (or the If-Match header)")


class CreateBlock(Versioned):
    type = serializers.RegexField(r"^[A-Za-z0-9_-]{1,64}$", help_text="block type, e.g. vertical, html")
    block_id = serializers.RegexField(r"^[A-Za-z0-9_.~:-]{1,255}$", required=False, allow_null=True)
    fields = serializers.DictField(required=False, default=dict, help_text="content/settings fields by name")
    position = serializers.IntegerField(required=False, allow_null=True, min_value=0)


class UpdateBlock(Versioned):
    fields = serializers.DictField(required=False, default=dict)
    unset = serializers.ListField(child=serializers.CharField(max_length=255), required=False, default=list)


class MoveBlock(Versioned):
    parent = serializers.CharField(max_length=1000, help_text="usage key of the new parent")
    position = serializers.IntegerField(required=False, allow_null=True, min_value=0)


class ReorderChildren(Versioned):
    children = serializers.ListField(child=serializers.CharField(max_length=1000), allow_empty=True)


class SetDates(Versioned):
    dates = serializers.DictField(child=serializers.DictField(allow_empty=False),
                                  help_text='usage key → {"start": ISO date or null, "due": ISO date or null}')
    clear_descendants = serializers.BooleanField(required=False, default=False,
                                                 help_text="other blocks below lose their own start/due")


class VersionOnly(Versioned):
    pass


class RestoreBlock(Versioned):
    to_version = serializers.CharField(max_length=64, required=False,
                                       help_text="a version id of this block (from its change log)")
    to_publish = serializers.IntegerField(required=False, min_value=1,
                                          help_text="or a publish id (change log 'publish'): the state it published")

    def validate(self, attrs):
        if ("to_version" in attrs) == ("to_publish" in attrs):
            raise serializers.ValidationError({"to_version": ["give exactly one of to_version and to_publish"]})
        return attrs
    subtree = serializers.BooleanField(required=False, default=False,
                                       help_text="restore the descendants and the structure too")


class ChangeQuery(Strict):
    """Query parameters of the change log."""
    block = serializers.CharField(required=False, max_length=1000)
    user = serializers.CharField(required=False, max_length=150)
    since = serializers.DateTimeField(required=False)
    until = serializers.DateTimeField(required=False)
    kind = serializers.ChoiceField(choices=["all", "draft", "publish"], required=False, default="all")
    offset = serializers.IntegerField(required=False, default=0, min_value=0)
    limit = serializers.IntegerField(required=False, default=50, min_value=1, max_value=200)


def change_json(entry) -> dict:
    return {"id": entry.id, "operation": entry.operation, "block": str(entry.block), "user_id": entry.user_id,
            "username": entry.username, "at": _iso(entry.at), "old_version": entry.old_version,
            "new_version": entry.new_version, "changes": entry.changes, "publish": entry.publish,
            "published_in": entry.published_in}


class CreateCourse(Strict):
    display_name = serializers.CharField(required=False, max_length=255)


class CopyCourse(Strict):
    source = serializers.CharField(max_length=255, help_text="the course key to copy")
    subtrees = serializers.ListField(child=serializers.CharField(max_length=1000), required=False, default=list,
                                     help_text="usage keys of the source to copy (with their parents); all if empty")


class CompileBlocks(Versioned):
    sources = serializers.ListField(child=serializers.CharField(max_length=1000), allow_empty=False,
                                    help_text="usage keys in other courses, copied with their subtrees")
    position = serializers.IntegerField(required=False, allow_null=True, min_value=0)


class GrantRole(Strict):
    role = serializers.ChoiceField(choices=ROLES)


def block_json(info, *, scope: str | None = None) -> dict:
    fields = info.fields if scope is None else {scope: info.fields.get(scope, {})}
    edit = info.edit_info
    return {
        "id": str(info.key), "type": info.block_type, "course": str(info.key.course_key), "branch": info.branch,
        "version": info.version, "published_version": info.published_version, "has_changes": info.has_changes,
        "parent": str(info.parent) if info.parent is not None else None,
        "children": [str(c) for c in info.children], "fields": fields,
        "edit_info": {"edited_by": edit.edited_by, "edited_on": _iso(edit.edited_on),
                      "subtree_edited_by": edit.subtree_edited_by, "subtree_edited_on": _iso(edit.subtree_edited_on),
                      "published_by": edit.published_by, "published_on": _iso(edit.published_on)},
    }


def _iso(value):
    return value.isoformat() if value is not None else None
