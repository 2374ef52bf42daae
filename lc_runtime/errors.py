"""Exception types of lc-runtime. Every message names the course, block and field involved."""
from __future__ import annotations


class LcRuntimeError(Exception):
    """Base class of every error lc-runtime raises on purpose."""


class OlxError(LcRuntimeError):
    """The OLX being imported is not valid; names the file (and line) and block."""

    def __init__(self, message: str, *, path: str | None = None, line: int | None = None,
                 block: str | None = None):
        where = []
        if path:
            where.append(f"{path}:{line}" if line else path)
        if block:
            where.append(f"block {block}")
        text = f"{message} ({', '.join(where)})" if where else message
        # One line whatever the input held: newlines in names or in a parser's message are escaped.
        super().__init__(text.replace("\r", "\\r").replace("\n", "\\n"))
        self.path, self.line, self.block = path, line, block


class OlxMissingFileError(OlxError):
    """A file the OLX points to (a block's definition, an HTML body) is not in the course."""


class OlxLimitError(OlxError):
    """The OLX exceeds one of the import limits (``lc_runtime.olx.limits``); names the limit's setting."""

    def __init__(self, message: str, *, setting: str, **where):
        super().__init__(f"{message} by {setting}", **where)
        self.setting = setting


class OlxExportError(LcRuntimeError):
    """An OLX export would write outside its destination or over a file it already wrote."""

    def __init__(self, message: str, *, course_key, path: str | None = None):
        super().__init__(f"cannot export course {course_key}: {message}" + (f" ({path})" if path else ""))
        self.course_key, self.path = course_key, path


class CourseNotFoundError(LcRuntimeError):
    """No Learning Core package exists for the course key."""

    def __init__(self, course_key):
        super().__init__(f"Course {course_key} is not stored in Learning Core")
        self.course_key = course_key


class CourseExistsError(LcRuntimeError):
    """An import would overwrite a course that already exists."""

    def __init__(self, course_key, *, detail: str = "its content differs from this OLX; use --replace to overwrite it"):
        super().__init__(f"Course {course_key} already exists in Learning Core: {detail}")
        self.course_key = course_key


class BlockNotFoundError(LcRuntimeError, KeyError):
    """The usage key names no block of the course at the requested branch or version."""

    def __init__(self, usage_key, *, branch: str | None = None, version: int | None = None):
        at = f" at version {version}" if version is not None else (f" on branch {branch}" if branch else "")
        super().__init__(f"Block {usage_key} not found in course {getattr(usage_key, 'course_key', '?')}{at}")
        self.usage_key = usage_key

    def __str__(self):  # KeyError would otherwise quote the message
        return self.args[0]


class VersionConflictError(LcRuntimeError):
    """A write was based on an older version than the current draft (a stale write)."""

    def __init__(self, usage_key, *, based_on: int | None, current: int | None):
        super().__init__(
            f"Conflict writing block {usage_key} of course {usage_key.course_key}: it was loaded at version "
            f"{based_on} but the current draft is version {current}; reload it and apply the change again"
        )
        self.usage_key, self.based_on, self.current = usage_key, based_on, current


class InvalidFieldValueError(LcRuntimeError):
    """A stored or supplied field value cannot be converted by the block's field class."""

    def __init__(self, usage_key, field_name: str, detail: str):
        super().__init__(f"Invalid value for field {field_name!r} of block {usage_key}: {detail}")
        self.usage_key, self.field_name = usage_key, field_name


class StageWriteRefusedError(LcRuntimeError):
    """The course's stage makes another store the source of truth for this block (the edit would be lost)."""

    def __init__(self, course_key, usage_key, stage: str, detail: str):
        super().__init__(f"Course {course_key} is at stage {stage}: {detail}; block {usage_key} was not changed")
        self.course_key, self.usage_key, self.stage = course_key, usage_key, stage


class DatabaseBusyError(LcRuntimeError):
    """Other writers held the database for longer than the retry budget."""

    def __init__(self, what: str, seconds: float, detail: str):
        super().__init__(f"{what}: the database stayed locked by other writers for {seconds:.0f} s ({detail}); "
                         f"nothing was changed, run it again")
        self.what, self.seconds = what, seconds


class PublishError(LcRuntimeError):
    """Learning Core's drafts cannot be published as they are (e.g. a dependency cycle)."""

    def __init__(self, course_key, detail: str):
        super().__init__(f"Cannot publish course {course_key}: {detail}")
        self.course_key = course_key


class CourseFileError(LcRuntimeError):
    """A course file cannot be changed as asked (no such file, or metadata that cannot be edited)."""

    def __init__(self, course_key, path: str, detail: str):
        super().__init__(f"Course {course_key} file static/{path}: {detail}")
        self.course_key, self.path = course_key, path


class AuthoringError(LcRuntimeError):
    """An authoring operation (lc_runtime.authoring) that Split would refuse as well; names course and block."""

    def __init__(self, usage_key, detail: str):
        course_key = getattr(usage_key, "course_key", usage_key)
        super().__init__(f"Cannot change block {usage_key} of course {course_key}: {detail}")
        self.usage_key = usage_key


class DuplicateBlockError(AuthoringError):
    """A block of that type and id already exists in the course (Split: ``DuplicateItemError``)."""


class InvalidMoveError(AuthoringError, ValueError):
    """A move Split refuses: under the block itself or one of its descendants, or of the course root."""


class RootBlockError(AuthoringError, ValueError):
    """The course root cannot be deleted, moved or unpublished (Split: ``ValueError``)."""


class NotPublishedError(AuthoringError):
    """The block (or its parent) has no published version (Split: ``ItemNotFoundError`` on publish under a
    never-published parent; ``InvalidVersionError`` on revert_to_published of a never-published block)."""


class DirectOnlyError(AuthoringError):
    """Direct-only categories (course, chapter, sequential, about, static_tab, course_info) are always
    published: Split's ``unpublish`` raises ``InvalidVersionError`` for them."""


class InvalidFieldError(AuthoringError):
    """A field name the block's class does not declare, or one the operation cannot set."""


class PermissionDeniedError(LcRuntimeError):
    """The user's role on the course does not allow the operation (nothing was changed)."""

    def __init__(self, user, course_key, needed: str, held: str | None, operation: str):
        who = getattr(user, "username", None) or "anonymous user"
        super().__init__(f"{who} may not {operation} in course {course_key}: it needs the {needed} role, "
                         f"the user has {held or 'no role'}")
        self.course_key, self.needed, self.held, self.operation = course_key, needed, held, operation


class InvalidRoleError(LcRuntimeError):
    """A role name or scope that does not exist."""
