"""Files saved to storage inside a transaction share its fate: a rollback removes them.

Why: storage (the media directory, S3) is not transactional. openedx-core writes a Media file as
soon as it creates the row, and edx-val writes a transcript file while a VideoBlock parses its
OLX; when the import's transaction rolls back (a bad problem later in the course, a conformance
failure around a migration, an unchanged re-import rolled back on purpose) the rows are gone and
the files stay, referenced by nothing — one more set with every retry.

:func:`atomic_with_files` is ``transaction.atomic()`` plus a journal of every file this thread
saves through any Django storage while it is open (``Storage.save`` is wrapped once; it costs
one ``exists()`` per save, to leave alone a file a storage overwrote in place):

* an exception leaves the block, or the block asked for a rollback: its files are deleted at once,
  still inside the transaction — before the rollback releases its locks, so no concurrent writer
  can pick up a file about to go;
* the block is nested in another ``atomic_with_files``: that block's journal takes the files over;
* the block is nested in a plain transaction and ends normally: an on-commit callback forgets the
  files when that transaction commits; if it rolls back instead, the files are settled when the
  thread's next outermost ``atomic_with_files`` ends or the process exits: each one is deleted
  only if no committed row references it (:mod:`.media_refs`).

A killed process deletes nothing: ``lc-runtime gc`` finds those files.
"""
from __future__ import annotations

import atexit
import logging
import os
import threading
from contextlib import contextmanager

from django.core.files.storage import Storage
from django.db import transaction

log = logging.getLogger(__name__)

_local = threading.local()
_install_lock = threading.Lock()
_pending_lock = threading.Lock()
_pending: list["FileJournal"] = []  # outcome decided by an enclosing transaction we cannot watch


class FileJournal:
    """The files one ``atomic_with_files`` block saved."""

    def __init__(self):
        self.files: list[tuple[Storage, str]] = []
        self.settled = False
        self.thread = threading.get_ident()

    def committed(self) -> None:
        self.files, self.settled = [], True
        with _pending_lock:  # a long-lived process whose imports always nest must not collect these
            if self in _pending:
                _pending.remove(self)

    def delete_all(self) -> None:
        """The block's transaction is certainly rolling back: every file it saved goes."""
        for storage, name in self.files:
            _delete(storage, name)
        self.files, self.settled = [], True

    def delete_unreferenced(self) -> None:
        """Whether the transaction committed is unknown here: the database decides, file by file."""
        from .media_refs import file_owners, owner_of

        owners = file_owners()
        for storage, name in self.files:
            owner = owner_of(storage, name, owners)
            if owner is None:
                log.warning("kept %s: saved during a transaction that did not commit, but no rule says which "
                            "rows reference it (lc-runtime gc does not sweep it either)", name)
            elif not owner.is_referenced(name):
                _delete(storage, name)
        self.files, self.settled = [], True


def _delete(storage: Storage, name: str) -> None:
    try:
        storage.delete(name)
    except Exception as exc:  # noqa: BLE001 — cleanup must not hide the error that caused it
        log.warning("could not remove %s after a rollback: %s (lc-runtime gc will)", name, exc)
        return
    remove_empty_dirs(storage, os.path.dirname(name))


def remove_empty_dirs(storage: Storage, directory: str) -> None:
    """Remove ``directory`` and its parents while empty (local storages only; S3 has no directories)."""
    try:
        root = os.path.realpath(storage.path(""))
    except NotImplementedError:
        return
    while directory:
        path = os.path.realpath(storage.path(directory))
        if path == root or not path.startswith(root + os.sep):
            return
        try:
            os.rmdir(path)
        except OSError:
            return  # not empty (or gone)
        directory = os.path.dirname(directory)


def _journal_stack() -> list[FileJournal]:
    if not hasattr(_local, "stack"):
        _local.stack = []
    return _local.stack


def _install() -> None:
    """Wrap ``Storage.save`` once; it records only while a journal is open in the calling thread."""
    with _install_lock:
        if getattr(Storage.save, "_lc_journal", False):
            return
        original = Storage.save

        def save(self, name, content, max_length=None):
            stack = _journal_stack()
            if not stack:
                return original(self, name, content, max_length=max_length)
            requested = name if name is not None else getattr(content, "name", None)
            existed = requested is not None and self.exists(requested)
            saved = original(self, name, content, max_length=max_length)
            if not (existed and saved == requested):  # a new file, not one overwritten in place
                stack[-1].files.append((self, saved))
            return saved

        save._lc_journal = True
        save.__wrapped__ = original
        Storage.save = save


def settle_pending() -> None:
    """Settle this thread's journals whose enclosing transaction has ended (see the module docstring)."""
    if transaction.get_connection().in_atomic_block:
        return
    me = threading.get_ident()
    with _pending_lock:
        mine = [j for j in _pending if j.thread == me]
        _pending[:] = [j for j in _pending if j.thread != me]
    for journal in mine:
        if not journal.settled:
            journal.delete_unreferenced()


@contextmanager
def atomic_with_files(using=None):
    """``transaction.atomic(using)`` whose newly saved storage files are removed if it rolls back."""
    _install()
    journal = FileJournal()
    outermost = not transaction.get_connection(using).in_atomic_block
    stack = _journal_stack()
    parent = stack[-1] if stack else None
    stack.append(journal)
    try:
        with transaction.atomic(using=using):
            try:
                yield journal
            except BaseException:
                journal.delete_all()
                raise
            if transaction.get_rollback(using=using):
                journal.delete_all()
            elif parent is not None:  # the enclosing block's outcome is ours: its journal takes the files
                parent.files.extend(journal.files)
                journal.files, journal.settled = [], True
            else:
                transaction.on_commit(journal.committed, using=using, robust=True)
    except BaseException:
        # The commit itself failed (rolled back) or an earlier on-commit callback raised after the
        # commit (ours never ran): only the database knows which.
        _pop(stack, journal)
        if not journal.settled:
            journal.delete_unreferenced()
        raise
    finally:
        _pop(stack, journal)
    if not journal.settled:  # nested in a plain transaction that has not ended yet
        with _pending_lock:
            _pending.append(journal)
    if outermost:
        settle_pending()


def _pop(stack: list[FileJournal], journal: FileJournal) -> None:
    if stack and stack[-1] is journal:
        stack.pop()


@atexit.register
def _settle_at_exit() -> None:  # a caller's transaction rolled back and the process is ending
    with _pending_lock:
        left = [j for j in _pending if not j.settled]
        _pending.clear()
    if not left:
        return
    try:
        for journal in left:
            journal.delete_unreferenced()
    except Exception as exc:  # noqa: BLE001
        log.warning("could not settle files of rolled-back transactions at exit: %s (run lc-runtime gc)", exc)
