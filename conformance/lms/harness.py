"""One LMS request, replayed: what the LMS does to a block it gets from a modulestore.

In edx-platform a courseware request:

1. asks ``modulestore()`` (``MixedModuleStore``) for the block: ``strip_key`` hands it out with
   ``location`` (and ``parent``) without branch or version, whatever the store behind it;
2. ``get_block_for_descriptor`` → ``prepare_runtime_for_user`` fills the block's runtime: services
   (user, i18n, publish, replace_urls, cache, sandbox …), ``wrappers`` (among them the URL rewriter,
   ``/static/x`` → the course's ``asset-v1`` URL), ``get_block_for_descriptor`` for children,
   ``handler_url_override``, the aside overrides; then ``runtime.set('position', …)``;
3. ``block.bind_for_student(user_id, [… LmsFieldData(student_data)])``: user-side scopes go to the
   LMS's student field data (``StudentModule`` rows), authored scopes stay the block's own;
4. renders ``student_view`` through the wrappers, or calls a handler (``runtime.handle``), which
   saves the block;
5. the next request does all of this again from a NEW store or runtime: only what reached the
   database survives.

:class:`LmsRequest` replays steps 1–4 for any adapter that can open a request (``adapter.request``);
the flows in :mod:`.flows` chain requests (step 5).
"""
from __future__ import annotations

from contextlib import contextmanager
from functools import cache

from django.urls import get_urlconf, set_urlconf
from web_fragments.fragment import Fragment
from xblock.core import XBlock
from xblock.exceptions import NoSuchViewError
from xblock.runtime import Runtime

from lc_runtime.dump import error_text

from .services import EventCollector, lms_field_data, lms_services, student_data

LMS_URLS = "conformance.lms.urls"

#: The attributes MixedModuleStore's ``strip_key`` rewrites on a block it returns (XMODULE_FIELDS_WITH_USAGE_KEYS).
_FIELDS_WITH_USAGE_KEYS = ("location", "parent")


def stripped(key):
    """A key without version and branch, as ``strip_key`` hands it out."""
    if key is None:
        return None
    course = getattr(key, "course_key", key)
    if getattr(course, "branch", True) is None and getattr(course, "version_guid", True) is None:
        return key  # nothing to strip (Learning Core's keys): no two new keys built per block
    if hasattr(key, "version_agnostic"):
        key = key.version_agnostic()
    if hasattr(key, "for_branch"):
        key = key.for_branch(None)
    return key


def strip_collection(value):
    """The ``field_decorator`` MixedModuleStore passes to the store: keys in a value (a key, a list or a
    dict of them) lose branch and version; anything else is returned as it is."""
    if isinstance(value, list):
        return [stripped(v) for v in value]
    if isinstance(value, dict):
        return {k: stripped(v) for k, v in value.items()}
    return stripped(value)


def strip_block_keys(block):
    """MixedModuleStore's ``strip_key`` applied to a returned block: ``location`` and ``parent`` lose
    branch and version (so everything derived from the usage key is computed from the plain key)."""
    for name in _FIELDS_WITH_USAGE_KEYS:
        value = getattr(block, name, None)
        if value is not None and stripped(value) != value:
            setattr(block, name, stripped(value))
    return block


def lms_display_wrapper(block, view, frag, context):
    """The LMS's ``wrap_xblock`` display div (its JS hook): deterministic here (no request token)."""
    wrapped = Fragment(f'<div class="xblock xblock-{view}" data-block-type="{block.scope_ids.block_type}" '
                       f'data-usage-id="{block.scope_ids.usage_id}" data-runtime-class="LmsRuntime">'
                       f"{frag.content}</div>")
    wrapped.add_fragment_resources(frag)
    return wrapped


def url_rewriter(replace_urls):
    """``replace_urls_wrapper``: every rendered fragment goes through the course's URL rewriting."""
    def wrapper(block, view, frag, context):
        rewritten = Fragment(replace_urls.replace_urls(frag.content))
        rewritten.add_fragment_resources(frag)
        return rewritten
    return wrapper


class LmsRequest:
    """One learner's request against one course: ``block(key)`` returns blocks as the LMS hands them to views.

    ``load(usage_key_string)`` is the modulestore (or runtime) of this request; ``publisher`` collects what
    blocks publish (shared across requests when a flow wants to see every event)."""

    def __init__(self, load, course_key, user_id: int, publisher: EventCollector | None = None):
        self._load = load
        self.course_key = stripped(course_key)
        self.user_id = user_id
        self.publisher = publisher or EventCollector(user_id)
        self.student_data = student_data()
        self.services = lms_services(user_id, self.course_key, self.publisher)

    def block(self, usage_key: str):
        """``get_block``: load, strip keys, prepare the runtime for the user, bind."""
        return self.bind(strip_block_keys(self._load(usage_key, field_decorator=strip_collection)))

    def bind(self, block):
        """``get_block_for_descriptor``: prepare the runtime (once per runtime and user), then bind."""
        runtime = block.runtime
        if getattr(runtime, "_lms_request", None) is not self:
            self.prepare_runtime(runtime)
        runtime.set("position", None)
        block.bind_for_student(self.user_id, [lms_field_data(self.student_data)])
        return block

    def prepare_runtime(self, runtime) -> None:
        """``prepare_runtime_for_user``."""
        runtime._services.update(self.services)  # noqa: SLF001 - the LMS updates the dict in place too
        runtime.wrappers = [lms_display_wrapper, url_rewriter(self.services["replace_urls"])]
        runtime.get_block_for_descriptor = self.bind  # children: bound as they are loaded (their keys are
        # in the parent's course context: stripped too, as Split's load_item trusts the key it is given)
        runtime.handler_url_override = self.handler_url
        runtime._lms_request = self  # noqa: SLF001 - marks who prepared it

    def handler_url(self, block, handler_name, suffix="", query="", thirdparty=False):
        """The LMS's ``handler_url``: ``/courses/COURSE/xblock/USAGE/handler/NAME[/SUFFIX][?QUERY]``."""
        url = f"/courses/{self.course_key}/xblock/{stripped(block.scope_ids.usage_id)}/handler/{handler_name}"
        url += f"/{suffix}" if suffix else ""
        return url + (f"?{query}" if query else "")

    @staticmethod
    def render(block, view: str = "student_view", context: dict | None = None) -> str:
        return block.render(view, context or {}).content

    @staticmethod
    def missing_view(block, view: str = "student_view") -> str | None:
        """The error text ``render`` ends in when ``block`` has neither ``view`` nor ``fallback_view``,
        decided as XBlock's ``Runtime.render`` decides it, without building its ``NoSuchViewError``: that
        constructor formats ``repr(block)``, which reads every field of the block (a fifth of the render
        check's time went to the containers' stand-ins). None when the block has a view, or when the
        runtime's or the block's ``render`` is not XBlock's own (then rendering decides)."""
        if type(block.runtime).render is not Runtime.render or type(block).render is not XBlock.render:
            return None
        if getattr(block, view, None) is not None or getattr(block, "fallback_view", None) is not None:
            return None
        return _no_such_view_text(view)

    @staticmethod
    def handle(block, handler: str, request, suffix: str = ""):
        """``handle_xblock_callback``: the runtime calls the handler and saves the block."""
        return block.runtime.handle(block, handler, request, suffix)


class _Unnamed:
    """A block stand-in whose ``repr`` is recognisable in an exception's text."""

    def __repr__(self):
        return "<unnamed block 6f1d>"


@cache
def _no_such_view_text(view: str) -> str | None:
    """``error_text`` of the ``NoSuchViewError`` XBlock raises for ``view``, when that text does not name
    the block (XBlock keeps the message with ``repr(block)`` out of ``str()``); None when it does (an
    XBlock that puts it there: the real exception has to be built, since its text is block-specific)."""
    text = error_text(NoSuchViewError(_Unnamed(), view))
    return None if repr(_Unnamed()) in text else text


@contextmanager
def lms_settings():
    """LMS Django settings blocks read while rendering (the video block: ``LANGUAGE_DICT``), with the
    LMS's defaults, where the standalone settings lack them; the standalone settings are left as they are."""
    from django.conf import settings
    from django.test.utils import override_settings

    missing = {name: value() for name, value in LMS_SETTINGS.items() if not hasattr(settings, name)}
    if not missing:
        yield
        return
    with override_settings(**missing):
        yield


def _languages():
    from django.conf import settings

    return list(settings.LANGUAGES)


#: name -> the LMS's default (lms/envs/common.py values; the video block reads them while rendering).
LMS_SETTINGS = {
    "LANGUAGE_DICT": lambda: dict(_languages()),
    "ALL_LANGUAGES": _languages,
    "COMPLETION_VIDEO_COMPLETE_PERCENTAGE": lambda: 0.95,
    "LMS_ROOT_URL": lambda: "http://localhost:18000",
    "LMS_BASE": lambda: "localhost:18000",
    "AI_TRANSLATIONS_API_URL": lambda: "",
    "YOUTUBE_API_KEY": lambda: None,
    "YOUTUBE": lambda: {"API": "https://www.youtube.com/iframe_api", "TEST_TIMEOUT": 1500,
                        "METADATA_URL": "https://www.googleapis.com/youtube/v3/videos/",
                        "IMAGE_API": "http://img.youtube.com/vi/{youtube_id}/0.jpg"},
}


@contextmanager
def lms_request(adapter, branch: str, user_id: int, publisher: EventCollector | None = None):
    """A new request through ``adapter``: a fresh store/runtime instance (``adapter.request(branch)``)."""
    previous = get_urlconf()
    set_urlconf(LMS_URLS)  # what blocks reverse() while rendering exists in this request (edx-val's API)
    try:
        with lms_settings(), adapter.request(branch) as load:
            yield LmsRequest(load, adapter.course_key, user_id, publisher)
    finally:
        set_urlconf(previous)
