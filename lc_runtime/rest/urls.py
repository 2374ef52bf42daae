"""URLs of the REST API (``/api/lc-runtime/v1/`` standalone and in the CMS plugin); ROUTES also feed
the OpenAPI document (:mod:`.schema`), so the two never disagree."""
from __future__ import annotations

from django.urls import path

from . import serializers as s
from . import views
from .schema import Route, SchemaView

app_name = "lc_runtime_rest"

#: (path, view, name, {method: (summary, request body serializer or None, success status)})
ROUTES = [
    Route("v1/courses/<str:course_key>/", views.CourseView, "course",
          {"get": ("The course: root block, version, edit info, copy origins", None, 200),
           "post": ("Create an empty course run (publisher on its org)", s.CreateCourse, 201)}),
    Route("v1/blocks/<str:usage_key>/", views.BlockView, "block",
          {"get": ("Read a block (?branch=draft|published, ?scope=settings|content); ETag = version", None, 200),
           "patch": ("Update fields (needs If-Match or version)", s.UpdateBlock, 200),
           "delete": ("Delete the block and its subtree (needs If-Match or version)", s.VersionOnly, 204)}),
    Route("v1/blocks/<str:usage_key>/children/", views.ChildrenView, "children",
          {"post": ("Create a child block", s.CreateBlock, 201),
           "put": ("Reorder the children (needs If-Match or version)", s.ReorderChildren, 200)}),
    Route("v1/blocks/<str:usage_key>/move/", views.MoveView, "move",
          {"post": ("Move the block under another parent (needs If-Match or version)", s.MoveBlock, 200)}),
    Route("v1/blocks/<str:usage_key>/publish/", views.PublishView, "publish",
          {"post": ("Publish the subtree, all or nothing", s.VersionOnly, 200)}),
    Route("v1/blocks/<str:usage_key>/unpublish/", views.UnpublishView, "unpublish",
          {"post": ("Remove the subtree from the published branch", s.VersionOnly, 200)}),
    Route("v1/blocks/<str:usage_key>/discard/", views.DiscardView, "discard",
          {"post": ("Discard the subtree's draft changes", s.VersionOnly, 200)}),
    Route("v1/blocks/<str:usage_key>/dates/", views.DatesView, "dates",
          {"post": ("Set or clear start/due on blocks of the subtree in one transaction", s.SetDates, 200)}),
    Route("v1/courses/<str:course_key>/copy/", views.CopyView, "copy",
          {"post": ("Create this course run as a copy of another (whole, or chosen subtrees)", s.CopyCourse, 201)}),
    Route("v1/courses/<str:course_key>/changes/", views.ChangesView, "course-changes",
          {"get": ("The course's change log (?block, user, since, until, kind, offset, limit), newest first", None,
                   200)}),
    Route("v1/blocks/<str:usage_key>/changes/", views.ChangesView, "block-changes",
          {"get": ("The block's change log (same filters)", None, 200)}),
    Route("v1/blocks/<str:usage_key>/compile/", views.CompileView, "compile",
          {"post": ("Copy subtrees of other courses under this block (new ids on collision, origin recorded)",
                    s.CompileBlocks, 201)}),
    Route("v1/blocks/<str:usage_key>/restore/", views.RestoreView, "restore",
          {"post": ("Undo: restore the block (subtree: and its structure) to a version, as new versions",
                    s.RestoreBlock, 200)}),
    Route("v1/roles/<str:scope>/", views.RolesView, "roles",
          {"get": ("Roles on a course or org:ORG (admin)", None, 200)}),
    Route("v1/roles/<str:scope>/<str:username>/", views.UserRoleView, "user-role",
          {"put": ("Grant a role (admin)", s.GrantRole, 200), "delete": ("Revoke a role (admin)", None, 204)}),
]

urlpatterns = [path(route.path, route.view.as_view(), name=route.name) for route in ROUTES] + [
    path("v1/schema/", SchemaView.as_view(routes=ROUTES), name="schema"),
]
