"""The OpenAPI 3 document of the REST API, built from the route table and the request serializers.

Written here rather than with DRF's generator (which needs ``uritemplate``) or drf-spectacular (not a
dependency): the API is small and its routes are declared once, in :data:`.urls.ROUTES`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from rest_framework import serializers
from rest_framework.fields import _UnvalidatedField
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

ERROR_SCHEMA = {
    "type": "object", "required": ["code", "message"],
    "properties": {"code": {"type": "string"}, "message": {"type": "string"},
                   "course": {"type": "string", "nullable": True}, "block": {"type": "string", "nullable": True},
                   "based_on": {"type": "string", "description": "412 only: the version the write was based on"},
                   "current": {"type": "string", "description": "412 only: the block's current draft version"}},
}
ERROR_STATUSES = {"400": "bad input", "401": "not authenticated", "403": "role too low", "404": "no such course or block",
                  "409": "refused by Split's rules or the stage", "412": "stale version (both versions in the body)",
                  "413": "body too large", "428": "version required"}


@dataclass(frozen=True)
class Route:
    path: str
    view: type
    name: str
    methods: dict


def _field_schema(field) -> dict:
    if isinstance(field, serializers.ListField):
        result = {"type": "array", "items": _field_schema(field.child)}
    elif isinstance(field, serializers.DictField):
        result = {"type": "object", "additionalProperties": _field_schema(field.child)
                  if not isinstance(field.child, _UnvalidatedField) else {}}
    elif isinstance(field, serializers.BooleanField):
        result = {"type": "boolean"}
    elif isinstance(field, serializers.IntegerField):
        result = {"type": "integer"}
    elif isinstance(field, serializers.ChoiceField):
        result = {"type": "string", "enum": list(field.choices)}
    else:
        result = {"type": "string"}
    if getattr(field, "allow_null", False):
        result["nullable"] = True
    if field.help_text:
        result["description"] = str(field.help_text)
    return result


def serializer_schema(serializer_class) -> dict:
    fields = serializer_class().fields
    return {"type": "object", "additionalProperties": False,
            "properties": {name: _field_schema(f) for name, f in fields.items()},
            "required": [name for name, f in fields.items() if f.required]}


def openapi(routes, prefix: str = "/api/lc-runtime/") -> dict:
    paths = {}
    for route in routes:
        url = prefix + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route.path)
        parameters = [{"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
                      for name in re.findall(r"<(?:\w+:)?(\w+)>", route.path)]
        operations = {}
        for method, (summary, body, success) in route.methods.items():
            operation = {"operationId": f"{route.name}_{method}", "summary": summary, "parameters": parameters,
                         "responses": {str(success): {"description": "success"},
                                       **{code: {"description": text, "content": {"application/json": {
                                           "schema": {"$ref": "#/components/schemas/Error"}}}}
                                          for code, text in ERROR_STATUSES.items()}}}
            if body is not None:
                operation["requestBody"] = {"required": method != "delete", "content": {
                    "application/json": {"schema": serializer_schema(body)}}}
            if method in ("patch", "delete", "put", "post"):
                operation["parameters"] = parameters + [{"name": "If-Match", "in": "header", "required": False,
                                                         "schema": {"type": "string"}}]
            operations[method] = operation
        paths[url] = operations
    return {
        "openapi": "3.0.3",
        "info": {"title": "lc-runtime course authoring API", "version": "1.0.0",
                 "description": "Courses on Learning Core, edited with Split's rules; see README 'Authoring REST API'."},
        "paths": paths,
        "components": {"schemas": {"Error": ERROR_SCHEMA},
                       "securitySchemes": {"token": {"type": "apiKey", "in": "header", "name": "Authorization"},
                                           "session": {"type": "apiKey", "in": "cookie", "name": "sessionid"}}},
        "security": [{"token": []}, {"session": []}],
    }


class SchemaView(APIView):
    """The OpenAPI document (public: it holds no course data)."""

    routes = ()
    permission_classes = [AllowAny]
    authentication_classes = []

    def get(self, request):
        prefix = request.path[: -len("v1/schema/")] if request.path.endswith("v1/schema/") else "/"
        return Response(openapi(self.routes, prefix))
