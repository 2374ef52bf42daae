"""User-side field data (user_state, user_state_summary, preferences, user_info, unnamed scopes).

By default runtimes keep it in the database (:class:`DjangoUserState`, tables shaped like the LMS's
``StudentModule`` and ``XModule*Field``), so a learner's answer survives to the next request, which
builds a new runtime. Inside edx-platform the LMS binds blocks to its own student field data instead
(``bind_for_student``); any ``KeyValueStore`` can also be passed to a runtime.
"""
from __future__ import annotations

import copy
import json

from django.db import IntegrityError, transaction
from django.utils import timezone
from xblock.fields import Scope, UserScope
from xblock.runtime import KeyValueStore, KvsFieldData

from .dump import plain_key
from .userstate_models import StudentBlockState, UserScopedField


class InMemoryUserState(KeyValueStore):
    """A dict store that copies on get and set (the FieldData contract a plain dict store breaks)."""

    def __init__(self) -> None:
        self.data: dict = {}

    def get(self, key):
        return copy.deepcopy(self.data[key])

    def set(self, key, value):
        self.data[key] = copy.deepcopy(value)

    def delete(self, key):
        del self.data[key]

    def has(self, key):
        return key in self.data


def jsonable(value):
    """Field values as JSON keeps them. Named tuples (XBlock's ``Score``, which ``ScoreField.to_json``
    passes through) become objects, the shape ``from_json`` reads back; JSON would make them lists."""
    if hasattr(value, "_asdict"):
        return {k: jsonable(v) for k, v in value._asdict().items()}
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return value


def agnostic_key(key) -> str:
    """A block-scope id as the LMS stores it: usage keys without branch or version."""
    if key is None:
        return ""
    if hasattr(key, "for_branch") and getattr(key, "course_key", None) is not None:
        return plain_key(key)  # every state read asks: stripped in its text, no new keys built
    return str(key)


class DjangoUserState(KeyValueStore):
    """User-side fields in :class:`StudentBlockState` / :class:`UserScopedField` rows.

    ``user_state`` lives as one JSON object per (user, block), read once per store (one store serves
    one request) and written back whole on every set, like the LMS's ``FieldDataCache``. Fields of a
    per-user scope read without a user (an anonymous, authoring runtime) stay in memory: there is
    nobody to keep them for.
    """

    def __init__(self) -> None:
        self._states: dict[tuple[str, str], dict] = {}
        self._stored: set[tuple[str, str]] = set()  # (user, block) rows this store has seen in the table
        self._anonymous = InMemoryUserState()

    # -- routing -------------------------------------------------------------------------------------
    @staticmethod
    def _anonymous_key(key) -> bool:
        return key.scope.user == UserScope.ONE and key.user_id is None

    @staticmethod
    def _is_user_state(key) -> bool:
        return key.scope == Scope.user_state

    # -- user_state: one JSON object per (user, block) -------------------------------------------------
    def _state(self, key) -> dict:
        ident = (str(key.user_id), agnostic_key(key.block_scope_id))
        if ident not in self._states:
            row = StudentBlockState.objects.filter(user_id=ident[0], usage_key=ident[1]).only("state").first()
            self._states[ident] = json.loads(row.state) if row is not None else {}
            if row is not None:
                self._stored.add(ident)
        return self._states[ident]

    def _write_state(self, key, state: dict) -> None:
        """The row of (user, block) holds ``state``: an UPDATE of a row this store has seen, else an
        INSERT (an update if another writer, e.g. a grade event, made the row meanwhile). What
        ``update_or_create`` does, without its read and second savepoint on every save (a render saves)."""
        usage = key.block_scope_id
        course = getattr(usage, "course_key", None)
        ident = (str(key.user_id), agnostic_key(usage))
        values = {"state": json.dumps(state), "block_type": getattr(usage, "block_type", ""),
                  "course_key": agnostic_key(course) if course is not None else ""}
        row = StudentBlockState.objects.filter(user_id=ident[0], usage_key=ident[1])
        if ident in self._stored and row.update(**values, modified=timezone.now()):
            return
        try:
            with transaction.atomic():
                StudentBlockState.objects.create(user_id=ident[0], usage_key=ident[1], **values)
        except IntegrityError:
            row.update(**values, modified=timezone.now())
        self._stored.add(ident)

    # -- other scopes: one row per value ----------------------------------------------------------------
    @staticmethod
    def _row_filter(key) -> dict:
        return {"scope": key.scope.name, "user_id": "" if key.user_id is None else str(key.user_id),
                "block_scope_id": agnostic_key(key.block_scope_id), "field_name": key.field_name}

    # -- KeyValueStore -------------------------------------------------------------------------------------
    def get(self, key):
        if self._anonymous_key(key):
            return self._anonymous.get(key)
        if self._is_user_state(key):
            state = self._state(key)
            if key.field_name not in state:
                raise KeyError(key.field_name)
            return copy.deepcopy(state[key.field_name])
        row = UserScopedField.objects.filter(**self._row_filter(key)).only("value").first()
        if row is None:
            raise KeyError(key.field_name)
        return json.loads(row.value)

    def set(self, key, value):
        self.set_many({key: value})

    def set_many(self, update_dict):
        by_state: dict = {}
        with transaction.atomic():
            for key, value in update_dict.items():
                if self._anonymous_key(key):
                    self._anonymous.set(key, value)
                elif self._is_user_state(key):
                    state = self._state(key)
                    state[key.field_name] = jsonable(value)
                    by_state[(str(key.user_id), agnostic_key(key.block_scope_id))] = (key, state)
                else:
                    UserScopedField.objects.update_or_create(**self._row_filter(key),
                                                             defaults={"value": json.dumps(jsonable(value))})
            for key, state in by_state.values():
                self._write_state(key, state)

    def delete(self, key):
        if self._anonymous_key(key):
            self._anonymous.delete(key)
        elif self._is_user_state(key):
            state = self._state(key)
            if key.field_name not in state:
                raise KeyError(key.field_name)
            del state[key.field_name]
            self._write_state(key, state)
        elif not UserScopedField.objects.filter(**self._row_filter(key)).delete()[0]:
            raise KeyError(key.field_name)

    def has(self, key):
        if self._anonymous_key(key):
            return self._anonymous.has(key)
        if self._is_user_state(key):
            return key.field_name in self._state(key)
        return UserScopedField.objects.filter(**self._row_filter(key)).exists()


def user_field_data(store: KeyValueStore | None = None) -> KvsFieldData:
    """The runtime's user-side field data: over ``store``, else over the database tables."""
    return KvsFieldData(store if store is not None else DjangoUserState())


def record_grade(user_id, usage_key, grade, max_grade) -> None:
    """Keep a reported grade on the learner's row, as the LMS's ``StudentModule`` does."""
    with transaction.atomic():
        StudentBlockState.objects.update_or_create(
            user_id=str(user_id), usage_key=agnostic_key(usage_key),
            defaults={"grade": grade, "max_grade": max_grade, "block_type": usage_key.block_type,
                      "course_key": agnostic_key(usage_key.course_key)},
        )
