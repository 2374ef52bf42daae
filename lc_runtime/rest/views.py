"""The REST endpoints: parse and validate the request, call lc_runtime.authoring.permitted, answer JSON.

Versions: a block's JSON carries ``version`` and the response its ``ETag``; a write names the version
it was based on in ``If-Match`` or a ``version`` body field (required for update, delete, move and
reorder: 428 without it; checked when given elsewhere). A stale one is refused with 412 and both
versions, and nothing changes.
"""
from __future__ import annotations

from django.conf import settings
from opaque_keys.edx.keys import CourseKey, UsageKey
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from ..authoring import permitted
from ..data import BRANCH_DRAFT, BRANCH_PUBLISHED
from ..roles import api as roles
from . import serializers as s
from .auth import authentication_classes
from .errors import ApiError, handle

#: Request bodies larger than this are refused with 413 before they are parsed.
DEFAULT_MAX_BODY = 1024 * 1024


def _etag(version) -> str:
    return f'"{version}"'


def _usage(value: str) -> UsageKey:
    return UsageKey.from_string(value)


class ApiView(APIView):
    """Our authentication, JSON errors and body size limit."""

    def get_authenticators(self):
        return [cls() for cls in authentication_classes()]

    def get_exception_handler(self):
        return handle

    def initial(self, request, *args, **kwargs):
        limit = getattr(settings, "LC_RUNTIME_REST_MAX_BODY", DEFAULT_MAX_BODY)
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > limit:
            raise ApiError(413, "too_large", f"the request body has {length} bytes, more than the {limit} allowed")
        super().initial(request, *args, **kwargs)

    def body(self, serializer_class):
        serializer = serializer_class(data=self.request.data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def version(self, data, *, required: bool):
        """The version the write is based on: If-Match or the body's ``version`` (they must agree)."""
        header = self.request.META.get("HTTP_IF_MATCH")
        if header:
            header = header.strip()
            header = header[2:] if header.startswith("W/") else header
            header = header.strip('"')
        body_version = data.get("version")
        if header and body_version and header != body_version:
            raise ApiError(400, "invalid_request", f"If-Match {header!r} and version {body_version!r} differ")
        version = header or body_version
        if required and not version:
            raise ApiError(428, "version_required", "this write needs the version it was based on: send the "
                                                    "block's ETag as If-Match, or a 'version' field")
        return version

    def block(self, info, status_code=200, **kwargs):
        response = Response(s.block_json(info, **kwargs), status=status_code)
        response["ETag"] = _etag(info.version)
        return response


class BlockView(ApiView):
    """GET a block (``?branch=draft|published``, ``?scope=settings|content``); PATCH its fields; DELETE it."""

    def get(self, request, usage_key):
        branch = request.query_params.get("branch", BRANCH_DRAFT)
        if branch not in (BRANCH_DRAFT, BRANCH_PUBLISHED):
            raise ApiError(400, "invalid_request", f"branch must be {BRANCH_DRAFT} or {BRANCH_PUBLISHED}")
        scope = request.query_params.get("scope")
        if scope not in (None, "settings", "content"):
            raise ApiError(400, "invalid_request", "scope must be settings or content")
        return self.block(permitted.read_block(request.user, _usage(usage_key), branch=branch), scope=scope)

    def patch(self, request, usage_key):
        data = self.body(s.UpdateBlock)
        info = permitted.update_block(request.user, _usage(usage_key), fields=data["fields"], unset=data["unset"],
                                      version=self.version(data, required=True))
        return self.block(info)

    def delete(self, request, usage_key):
        data = self.body(s.VersionOnly) if request.data else {}
        permitted.delete_block(request.user, _usage(usage_key), version=self.version(data, required=True))
        return Response(status=status.HTTP_204_NO_CONTENT)


class ChildrenView(ApiView):
    """POST a new child (``version`` optional: the parent's); PUT the children in a new order."""

    def post(self, request, usage_key):
        data = self.body(s.CreateBlock)
        info = permitted.create_block(request.user, _usage(usage_key), data["type"], block_id=data.get("block_id"),
                                      fields=data["fields"], position=data.get("position"),
                                      parent_version=self.version(data, required=False))
        return self.block(info, status.HTTP_201_CREATED)

    def put(self, request, usage_key):
        data = self.body(s.ReorderChildren)
        info = permitted.reorder_children(request.user, _usage(usage_key), [_usage(c) for c in data["children"]],
                                          version=self.version(data, required=True))
        return self.block(info)


class MoveView(ApiView):
    def post(self, request, usage_key):
        data = self.body(s.MoveBlock)
        info = permitted.move_block(request.user, _usage(usage_key), _usage(data["parent"]),
                                    position=data.get("position"), version=self.version(data, required=True))
        return self.block(info)


class _SubtreeAction(ApiView):
    action = None

    def post(self, request, usage_key):
        data = self.body(s.VersionOnly)
        operation = getattr(permitted, self.action)
        return self.block(operation(request.user, _usage(usage_key), version=self.version(data, required=False)))


class PublishView(_SubtreeAction):
    """Publish the block's subtree, all or nothing."""
    action = "publish_block"


class UnpublishView(_SubtreeAction):
    action = "unpublish_block"


class DiscardView(_SubtreeAction):
    action = "discard_changes"


class DatesView(ApiView):
    """Set/clear start and due on blocks of this block's subtree in one transaction."""

    def post(self, request, usage_key):
        data = self.body(s.SetDates)
        root = _usage(usage_key)
        dates = {_usage(key): values for key, values in data["dates"].items()}
        changed = permitted.set_dates(request.user, root, dates, clear_below=data["clear_descendants"],
                                      version=self.version(data, required=False))
        return Response({"changed": [str(k) for k in changed]})


class ChangesView(ApiView):
    """The change log of a course (``?block=&user=&since=&until=&kind=&offset=&limit=``), newest first."""

    def get(self, request, course_key=None, usage_key=None):
        query = s.ChangeQuery(data={k: v for k, v in request.query_params.items()})
        query.is_valid(raise_exception=True)
        q = query.validated_data
        block = _usage(usage_key) if usage_key else (_usage(q["block"]) if q.get("block") else None)
        course = block.course_key if usage_key else CourseKey.from_string(course_key)
        kinds = ("draft", "publish") if q["kind"] == "all" else (q["kind"],)
        page = permitted.change_log(request.user, course, block=block, by=q.get("user"), since=q.get("since"),
                                    until=q.get("until"), kinds=kinds, offset=q["offset"], limit=q["limit"])
        following = page.offset + page.limit
        return Response({"count": page.total, "offset": page.offset, "limit": page.limit,
                         "next_offset": following if following < page.total else None,
                         "results": [s.change_json(e) for e in page.entries]})


class RestoreView(ApiView):
    """Undo: restore the block (``subtree``: with its descendants and structure) to one of its versions."""

    def post(self, request, usage_key):
        data = self.body(s.RestoreBlock)
        return self.block(permitted.restore_block(request.user, _usage(usage_key), data.get("to_version"),
                                                  to_publish=data.get("to_publish"), subtree=data["subtree"],
                                                  version=self.version(data, required=False)))


class CopyView(ApiView):
    """Copy a course (or chosen subtrees of it) into the new course run named in the URL."""

    def post(self, request, course_key):
        data = self.body(s.CopyCourse)
        result = permitted.copy_course(request.user, CourseKey.from_string(data["source"]),
                                       CourseKey.from_string(course_key),
                                       subtrees=[_usage(k) for k in data["subtrees"]])
        return Response({"course": result.course_key, "source": result.source_course_key, "blocks": result.blocks,
                         "origin": result.origin_id}, status=status.HTTP_201_CREATED)


class CompileView(ApiView):
    """Copy subtrees of other courses under this block (new ids where they would collide)."""

    def post(self, request, usage_key):
        data = self.body(s.CompileBlocks)
        mapping = permitted.compile_into(request.user, _usage(usage_key), [_usage(k) for k in data["sources"]],
                                         position=data.get("position"), version=self.version(data, required=False))
        return Response({"blocks": mapping}, status=status.HTTP_201_CREATED)


class CourseView(ApiView):
    """GET the course's root block key, edit info and origins; POST creates it empty."""

    def post(self, request, course_key):
        data = self.body(s.CreateCourse)
        permitted.create_course(request.user, CourseKey.from_string(course_key),
                                display_name=data.get("display_name"))
        response = self.get(request, course_key)
        response.status_code = status.HTTP_201_CREATED
        return response

    def get(self, request, course_key):
        key = CourseKey.from_string(course_key)
        from ..authoring.api import origins
        from ..storage.snapshot import get_course

        edit = permitted.course_info(request.user, key)
        course = get_course(edit.course_key)
        root = permitted.read_block(request.user, key.make_usage_key(course.root_block_type, course.root_block_id))
        return Response({
            "id": str(key), "root": str(root.key), "version": root.version,
            "created_by": edit.created_by, "created_on": s._iso(edit.created_on),
            "edited_by": edit.edited_by, "edited_on": s._iso(edit.edited_on),
            "published_by": edit.published_by, "published_on": s._iso(edit.published_on),
            "copied_from": [{"course": o.source_course_key, "draft_change_log": o.source_draft_change_log,
                             "publish_log": o.source_publish_log, "subtrees": o.subtrees, "kind": o.kind,
                             "blocks": o.blocks,
                             "copied_at": s._iso(o.copied_at)} for o in origins(key)],
        })


def _grant_json(grant) -> dict:
    return {"username": grant.username, "role": grant.role, "org": grant.org, "course": grant.course_key,
            "granted_by": grant.granted_by, "granted_at": grant.granted_at.isoformat()}


class RolesView(ApiView):
    """GET the roles on a course (``course-v1:…``) or org (``org:ORG``); admins only."""

    def get(self, request, scope):
        roles.require(request.user, scope, roles.ADMIN, "list roles")
        return Response({"results": [_grant_json(g) for g in roles.list_roles(scope)]})


class UserRoleView(ApiView):
    """PUT ``{"role": …}`` grants (replacing the user's role on that scope); DELETE revokes."""

    def put(self, request, scope, username):
        roles.require(request.user, scope, roles.ADMIN, "grant roles")
        data = self.body(s.GrantRole)
        return Response(_grant_json(roles.grant(username, scope, data["role"], granted_by=request.user)))

    def delete(self, request, scope, username):
        roles.require(request.user, scope, roles.ADMIN, "revoke roles")
        if not roles.revoke(username, scope):
            raise ApiError(404, "not_found", f"{username} has no role of its own on {scope}")
        return Response(status=status.HTTP_204_NO_CONTENT)
