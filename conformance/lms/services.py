"""The services and field data the LMS gives a block, reduced to what blocks use standalone.

Each one mirrors what ``prepare_runtime_for_user`` (``lms/djangoapps/courseware/block_render.py``)
puts into ``runtime._services`` or what ``get_block_for_descriptor`` wraps the block's field data
with; none needs edx-platform. Written from the upstream behaviour, not copied.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from xblock.field_data import SplitFieldData
from xblock.fields import Scope
from xblock.reference.user_service import UserService, XBlockUser
from xblock.runtime import KvsFieldData, NullI18nService

from lc_runtime.userstate import DjangoUserState, record_grade


class LmsUserService(UserService):
    """``DjangoXBlockUserService``: the learner as ``XBlockUser`` with the ``edx-platform.*`` attributes
    blocks read (capa's per-student seed reads ``edx-platform.user_id``)."""

    def __init__(self, user_id: int, course_key):
        super().__init__()
        self.user_id = user_id
        self._user = XBlockUser(is_current_user=True, emails=[f"learner{user_id}@example.com"],
                                full_name=f"Learner {user_id}")
        self._user.opt_attrs = {
            "edx-platform.user_id": user_id, "edx-platform.username": f"learner{user_id}",
            "edx-platform.user_is_authenticated": True, "edx-platform.user_is_staff": False,
            "edx-platform.user_is_global_staff": False, "edx-platform.user_is_beta_tester": False,
            "edx-platform.user_role": "student", "edx-platform.request_country_code": None,
            "edx-platform.anonymous_user_id": anonymous_id(user_id, course_key),
            "edx-platform.deprecated_anonymous_user_id": anonymous_id(user_id, None),
        }

    def get_current_user(self):
        return self._user

    @property
    def _django_user(self):
        """What blocks read from ``DjangoXBlockUserService._django_user`` (discussion: ``is_authenticated``)."""
        return LearnerUser(self.user_id)

    def get_anonymous_user_id(self, username, course_id):
        return anonymous_id(self.user_id, course_id)

    def get_user_by_anonymous_id(self, uid=None):
        return None  # no Django users standalone


@dataclass(frozen=True)
class LearnerUser:
    """The few attributes of a Django user blocks read."""

    id: int
    is_authenticated: bool = True
    is_anonymous: bool = False
    is_staff: bool = False

    @property
    def username(self) -> str:
        return f"learner{self.id}"


def anonymous_id(user_id, course_key) -> str:
    """A stable anonymous id per (user, course), as ``anonymous_id_for_user`` gives (not its hash)."""
    return f"anon-{user_id}-{course_key or 'global'}"


@dataclass
class PublishedEvent:
    usage_key: str
    event_type: str
    data: dict


@dataclass
class EventCollector:
    """``EventPublishingService``: every event a block publishes is kept; a ``grade`` event is stored on
    the learner's state row, as the LMS's ``handle_grade_event`` sets ``StudentModule.grade``."""

    user_id: int
    events: list[PublishedEvent] = field(default_factory=list)

    def publish(self, block, event_type, event_data) -> None:
        usage = block.scope_ids.usage_id
        self.events.append(PublishedEvent(str(usage), event_type, dict(event_data)))
        if event_type == "grade":
            record_grade(self.user_id, usage, event_data.get("value"), event_data.get("max_value"))

    def of_type(self, event_type: str) -> list[PublishedEvent]:
        return [e for e in self.events if e.event_type == event_type]


class AssetUrls:
    """``ReplaceURLService`` for a course: ``/static/x`` → ``/asset-v1:ORG+COURSE+RUN+type@asset+block/x``,
    ``/course/x`` → ``/courses/COURSE_ID/x``, ``/jump_to_id/x`` → the course's jump_to_id URL.

    Only quoted URLs are rewritten (in ``src="…"``, ``href='…'``), as edx's static-replace regexes
    require the opening quote."""

    _QUOTED = re.compile(r"""(?P<quote>["'])/(?P<kind>static|course|jump_to_id)/(?P<rest>[^"']*)(?P=quote)""")

    def __init__(self, course_key):
        self.course_key = course_key

    def asset_prefix(self) -> str:
        key = self.course_key
        return f"/asset-v1:{key.org}+{key.course}+{key.run}+type@asset+block/"

    def replace_urls(self, text, static_replace_only=False, **kwargs):
        if not isinstance(text, str) or "/" not in text:
            return text

        def rewrite(match):
            kind, rest, quote = match["kind"], match["rest"], match["quote"]
            if kind == "static" and not rest.startswith("xblock/"):  # XBlock resources stay /static/
                return f"{quote}{self.asset_prefix()}{rest}{quote}"
            if kind == "course" and not static_replace_only:
                return f"{quote}/courses/{self.course_key}/{rest}{quote}"
            if kind == "jump_to_id" and not static_replace_only:
                return f"{quote}/courses/{self.course_key}/jump_to_id/{rest}{quote}"
            return match.group(0)

        return self._QUOTED.sub(rewrite, text)


class NoCache:
    """``CacheService`` without a cache backend: nothing is remembered, so every request computes."""

    def get(self, key, default=None):
        return default

    def set(self, key, value, *args, **kwargs):
        return None

    def delete(self, key):
        return None


class NoUnsafeCode:
    """``SandboxService`` standalone: no unsafe code, no course python library."""

    def can_execute_unsafe_code(self):
        return False

    def get_python_lib_zip(self):
        return None


class Unavailable:
    """A service the LMS has but a standalone run cannot give (xqueue, credit …): each attribute is None."""

    def __init__(self, name: str):
        self._name = name

    def __getattr__(self, attr):
        return None


class XBlockSettings:
    """``SettingsService``: the LMS's ``XBLOCK_SETTINGS`` for a block; none are configured standalone."""

    def get_settings_bucket(self, block, default=None):
        return default if default is not None else {}


class DiscussionConfig:
    """``DiscussionConfigService`` for a course whose discussions are visible but not served here: the
    block renders its frame (ids, resources) without the forum, which needs the LMS's templates and users."""

    is_discussion_enabled = False

    def is_discussion_visible(self, course_key) -> bool:
        return True

    def has_permission(self, user, permission, course_key) -> bool:
        return False


class Completion:
    """``CompletionService`` with completion tracking on (the LMS's default) and nothing completed yet:
    blocks that complete on view (video) read the delay and whether they may mark themselves."""

    def completion_tracking_enabled(self) -> bool:
        return True

    def get_complete_on_view_delay_ms(self) -> int:
        return 5000  # the LMS's COMPLETION_BY_VIEWING_DELAY_MS default

    def can_mark_block_complete_on_view(self, block) -> bool:
        return getattr(block, "completion_mode", None) == "completable" and not getattr(
            block, "has_custom_completion", False)

    def blocks_to_mark_complete_on_view(self, blocks):
        return {b for b in blocks if self.can_mark_block_complete_on_view(b)}

    def get_completions(self, candidates):
        return {key: 0.0 for key in candidates}

    def vertical_is_complete(self, item) -> bool:
        return False


def i18n_for_block(block):
    """The LMS registers ``XBlockI18nService`` as a class: the runtime calls it with the block."""
    return NullI18nService()


def lms_services(user_id: int, course_key, publisher: EventCollector) -> dict:
    """What ``prepare_runtime_for_user`` adds to ``runtime._services`` (the parts blocks use standalone)."""
    return {
        "user": LmsUserService(user_id, course_key), "i18n": i18n_for_block, "publish": publisher,
        "replace_urls": AssetUrls(course_key), "cache": NoCache(), "sandbox": NoUnsafeCode(),
        "xqueue": Unavailable("xqueue"), "settings": XBlockSettings(), "discussion_config_service": DiscussionConfig(),
        "completion": Completion(),
    }


def lms_field_data(student_data):
    """``partial(LmsFieldData, student_data=…)``: authored scopes from the block's own (unbound) field
    data, every user-side scope from the LMS's student data."""
    def wrap(authored):
        return SplitFieldData({
            Scope.content: authored, Scope.settings: authored, Scope.parent: authored, Scope.children: authored,
            Scope.user_state: student_data, Scope.user_state_summary: student_data,
            Scope.preferences: student_data, Scope.user_info: student_data,
        })
    return wrap


def student_data() -> KvsFieldData:
    """The LMS's ``KvsFieldData(DjangoKeyValueStore(field_data_cache))``: rows keyed like StudentModule."""
    return KvsFieldData(DjangoUserState())
