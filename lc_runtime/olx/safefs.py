"""Reading a course without trusting it, and writing an export without overwriting anything.

* :func:`unpack_archive` checks every member of a ``.tar.gz`` from its header (type, name, depth, size,
  running total, count) before anything is extracted, then extracts with tarfile's ``data`` filter.
* :func:`scan_course` walks the course directory without following links and refuses symbolic links
  (unless ``LC_RUNTIME_OLX_FOLLOW_INTERNAL_SYMLINKS``, and then only those that stay inside the
  course), special files (FIFOs, devices, sockets), undecodable names, too deep paths, too many entries.
* :class:`CourseFS` is the filesystem every reader gets (ours and the real block classes'): each open
  re-checks the path (no ``..`` out, no symbolic link, regular file), refuses a file above the size
  limit before reading it, counts the bytes read against the total, reads at most the limit even if
  the file grows, and turns undecodable text into an :class:`~lc_runtime.errors.OlxError`.
* :class:`ExportFS` is where an export writes: every path must stay inside the destination (after
  resolving links) and no file may be written twice.
* :class:`MemoryExportFS` and :class:`MemoryCourseFS` are the same two in memory, for an export that is
  parsed again at once (the ``olx.round_trip`` check): the same name, depth, size, total, decoding and
  write-once checks, without the disk (a memory filesystem has no links and no special files).
"""
from __future__ import annotations

import errno
import gzip
import io
import os
import secrets
import shutil
import stat
import tarfile
import tempfile
import weakref
import zlib
from pathlib import Path, PurePosixPath

import fs.errors
import fs.opener
from fs.memoryfs import MemoryFS
from fs.osfs import OSFS
from fs.subfs import SubFS

from ..errors import OlxError, OlxExportError, OlxLimitError
from .limits import Limits, check_file_name, check_size, printable, shorten

_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_O_NONBLOCK = getattr(os, "O_NONBLOCK", 0)  # a FIFO put in place of a file must not block the import


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def _too_many(count: int, limits: Limits, where: str) -> OlxLimitError:
    return OlxLimitError(f"more than the {limits.max_files:,} files and directories allowed", path=where,
                         setting=Limits.setting("max_files"))


def _check_depth(relative: str, limits: Limits, path: str) -> None:
    """``relative`` (never absolute) has at most ``max_path_depth`` parts; counted as PurePosixPath's
    ``parts`` are (empty and ``.`` parts are not parts), without building the path object."""
    depth = sum(1 for part in relative.split("/") if part not in ("", "."))
    if depth > limits.max_path_depth:
        raise OlxLimitError(f"path is {depth} levels deep, more than the {limits.max_path_depth} allowed",
                            path=shorten(path, 120), setting=Limits.setting("max_path_depth"))


# -- archives ------------------------------------------------------------------------------------------
class _CappedReads(io.RawIOBase):
    """The decompressed archive as tarfile sees it; no single read may ask for more than ``cap`` bytes
    (tarfile reads a pax or long-name header whole: a forged header size must not allocate gigabytes)."""

    def __init__(self, stream, cap: int, archive: str):
        self._stream, self._cap, self._archive = stream, cap, archive

    def readable(self):
        return True

    def seekable(self):
        return True

    def read(self, size=-1):
        if size is None or size < 0 or size > self._cap:
            raise OlxLimitError(f"an archive header or member asks for {size} bytes at once, more than "
                                f"{self._cap:,}", path=self._archive, setting=Limits.setting("max_file_bytes"))
        return self._stream.read(size)

    def seek(self, offset, whence=io.SEEK_SET):
        return self._stream.seek(offset, whence)

    def tell(self):
        return self._stream.tell()


_ARCHIVE_ERRORS = (tarfile.TarError, EOFError, zlib.error, OSError, ValueError, UnicodeError)


def unpack_archive(archive: Path, limits: Limits) -> tuple[str, Path]:
    """Extract a course archive into a new temp dir; return ``(temp_dir, course_root)``.

    Nothing is extracted until every member header passed the checks; the caller removes the temp dir.
    """
    name = printable(archive.name)
    members, candidates, total = [], [], 0
    tmp = tempfile.mkdtemp(prefix="lc-olx-")
    try:
        with open(archive, "rb") as raw, gzip.GzipFile(fileobj=raw, mode="rb") as gz:
            capped = _CappedReads(gz, limits.max_file_bytes + 64 * 1024, name)
            try:
                with tarfile.open(fileobj=capped, mode="r:") as tar:
                    for member in tar:
                        where = f"{name}:{printable(member.name)}"
                        if len(members) >= limits.max_files:
                            raise _too_many(len(members) + 1, limits, name)
                        check_file_name(member.name, path=where)
                        parts = PurePosixPath(member.name).parts
                        if member.name.startswith("/") or ".." in parts or not parts:
                            raise OlxError("archive member path leaves the course directory", path=where)
                        _check_depth(member.name, limits, where)
                        if member.issym() or member.islnk():
                            raise OlxError("links are not allowed in a course archive", path=where)
                        if not (member.isreg() or member.isdir()):
                            raise OlxError("special files (devices, FIFOs) are not allowed in a course archive",
                                           path=where)
                        if member.isreg():
                            check_size(member.size, limits, where)
                            total += member.size
                            if total > limits.max_total_bytes:
                                raise OlxLimitError(
                                    f"archive members add up to more than the {limits.max_total_bytes:,} bytes allowed",
                                    path=where, setting=Limits.setting("max_total_bytes"))
                            if parts[-1] == "course.xml":
                                candidates.append(parts)
                        members.append(member)
                    if not candidates:
                        raise OlxError("no course.xml in archive", path=name)
                    tar.extractall(tmp, members=members, filter="data")
            except (OlxError, OlxLimitError):
                raise
            except _ARCHIVE_ERRORS as exc:
                detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                raise OlxError(f"cannot unpack course archive: {type(exc).__name__}: {detail}", path=name) from exc
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    shallowest = min(candidates, key=len)
    return tmp, Path(tmp, *shallowest[:-1])


def is_archive(path: Path) -> bool:
    return path.is_file() and (path.suffixes[-2:] == [".tar", ".gz"] or path.suffix in (".tgz", ".gz"))


# -- directories ---------------------------------------------------------------------------------------
def scan_course(root: Path, limits: Limits) -> dict[str, int]:
    """``{relative path: size}`` of every regular file of the course, after checking every entry.

    Top-level names starting with ``.`` (``.git``, …) are skipped: no OLX file lives there.
    """
    root_real = os.path.realpath(root)
    files: dict[str, int] = {}
    count = 0
    seen_dirs = {root_real}
    stack = [(root_real, "")]
    while stack:
        directory, prefix = stack.pop()
        try:
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except OSError as exc:
            raise OlxError(f"cannot list directory: {exc.strerror}", path=printable(prefix) or ".") from exc
        for entry in entries:
            if not prefix and entry.name.startswith("."):
                continue
            relative = f"{prefix}{entry.name}"
            shown = printable(relative)
            check_file_name(relative, path=shown)
            count += 1
            if count > limits.max_files:
                raise _too_many(count, limits, shown)
            _check_depth(relative, limits, shown)
            try:
                info = entry.stat(follow_symlinks=False)
                if stat.S_ISLNK(info.st_mode):
                    target = _internal_link_target(entry.path, root_real, limits, shown)
                    info = os.stat(target)
                else:
                    target = entry.path
            except FileNotFoundError as exc:
                raise OlxError("file vanished or is a dangling link", path=shown) from exc
            if stat.S_ISDIR(info.st_mode):
                if target not in seen_dirs:  # an internal link to a directory already walked adds nothing
                    seen_dirs.add(target)
                    stack.append((target, relative + "/"))
            elif stat.S_ISREG(info.st_mode):
                files[relative] = info.st_size
            else:
                raise OlxError("not a regular file or directory (FIFO, socket or device)", path=shown)
    return files


def _internal_link_target(link: str, root_real: str, limits: Limits, shown: str) -> str:
    if not limits.follow_internal_symlinks:
        raise OlxError("symbolic links are not allowed in a course", path=shown)
    target = os.path.realpath(link)
    if not _inside(target, root_real):
        raise OlxError("symbolic link points outside the course directory", path=shown)
    return target


class _BoundedRaw(io.RawIOBase):
    """A file that refuses to deliver more than ``limit`` bytes (it may grow after it was checked)."""

    def __init__(self, raw: io.FileIO, limit: int, path: str):
        self._raw, self._limit, self._path, self._done = raw, limit, path, 0

    def readable(self):
        return True

    def readinto(self, buffer):
        count = self._raw.readinto(buffer)
        self._done += count or 0
        if self._done > self._limit:
            raise OlxLimitError(f"file grew while being read, past the {self._limit:,} bytes allowed",
                                path=self._path, setting=Limits.setting("max_file_bytes"))
        return count

    def seekable(self):
        return True

    def seek(self, offset, whence=io.SEEK_SET):
        return self._raw.seek(offset, whence)

    def tell(self):
        return self._raw.tell()

    def fileno(self):
        return self._raw.fileno()

    def close(self):
        if not self.closed:
            self._raw.close()
        super().close()


class _CheckedText(io.TextIOWrapper):
    """Text that does not decode is an :class:`OlxError` naming the file, not a UnicodeDecodeError."""

    def _refuse(self, exc: UnicodeDecodeError):
        encoding = "UTF-8" if self.encoding.lower().replace("_", "-").startswith("utf-8") else self.encoding
        return OlxError(f"file is not valid {encoding} text (byte 0x{exc.object[exc.start]:02x} cannot be decoded)",
                        path=self._olx_path)

    def read(self, size=-1):
        try:
            return super().read(size)
        except UnicodeDecodeError as exc:
            raise self._refuse(exc) from exc

    def readline(self, size=-1):
        try:
            return super().readline(size)
        except UnicodeDecodeError as exc:
            raise self._refuse(exc) from exc

    def __next__(self):
        try:
            return super().__next__()
        except UnicodeDecodeError as exc:
            raise self._refuse(exc) from exc

    def readlines(self, hint=-1):
        return list(iter(self.readline, ""))


class _CheckedReads:
    """The checks of a course's reads that do not depend on where its files are (see the module docstring):
    names, depth, a read-only mode, sizes counted once against the total, undecodable text refused."""

    limits: Limits

    def _init_checked_reads(self, limits: Limits) -> None:
        self.limits = limits
        self.bytes_read = 0
        self._charged: set[str] = set()
        self._discard = None

    def discard(self) -> None:
        """Remove the unpacked archive now (nothing to do for a directory)."""
        if self._discard is not None:
            self._discard()

    def _checked_relative(self, path: str) -> tuple[str, str]:
        """``(relative path, normal path)`` after refusing ``..`` escapes, undecodable or control-character
        names and too deep paths; remembered per path (a block's files are asked for several times)."""
        names = self.__dict__.setdefault("_checked_names", {})
        known = names.get(path)
        if known is None:
            try:
                normal = self.validatepath(path)
            except fs.errors.IllegalBackReference:
                raise OlxError("path leaves the course directory", path=printable(path)) from None
            except fs.errors.InvalidPath as exc:
                raise OlxError(f"invalid path: {exc}", path=printable(path)) from None
            relative = normal.lstrip("/")
            shown = printable(relative)
            check_file_name(relative, path=shown)
            if relative:
                _check_depth(relative, self.limits, shown)
            known = names[path] = (relative, normal)
        return known

    def _checked(self, path: str) -> tuple[str, str]:
        """What every read of ``path`` is checked for first: the name checks (CourseFS adds its links)."""
        return self._checked_relative(path)

    def getinfo(self, path, namespaces=None):
        self._checked(path)
        return super().getinfo(path, namespaces)

    def listdir(self, path):
        self._checked(path)
        return super().listdir(path)

    def scandir(self, path, namespaces=None, page=None):
        self._checked(path)
        return super().scandir(path, namespaces, page)

    @staticmethod
    def _refuse_writes(path: str, mode: str) -> None:
        if set(mode) - set("rbt"):
            raise fs.errors.ResourceReadOnly(path)

    def charge(self, relative: str, size: int) -> None:
        """Count a file once against ``max_total_bytes``."""
        if relative in self._charged:
            return
        check_size(size, self.limits, printable(relative))
        self._charged.add(relative)
        self.bytes_read += size
        if self.bytes_read > self.limits.max_total_bytes:
            raise OlxLimitError(f"the course's files add up to more than the {self.limits.max_total_bytes:,} bytes allowed",
                                path=printable(relative), setting=Limits.setting("max_total_bytes"))
        if len(self._charged) > self.limits.max_files:
            raise _too_many(len(self._charged), self.limits, printable(relative))

    def open(self, path, mode="r", buffering=-1, encoding=None, errors=None, newline="", **options):
        if "b" in mode:
            return self.openbin(path, mode, buffering)
        binary = self.openbin(path, mode.replace("t", ""), -1)
        text = _CheckedText(binary, encoding=encoding or "utf-8", errors=errors, newline=newline)
        text._olx_path = printable(self._checked_relative(path)[0])
        return text


class CourseFS(_CheckedReads, OSFS):
    """The course directory, read-only, with the checks described in the module docstring."""

    def __init__(self, root: str | Path, limits: Limits):
        self._root_real = os.path.realpath(root)
        self._init_checked_reads(limits)
        super().__init__(self._root_real)

    # -- checks -------------------------------------------------------------------------------------
    def _checked(self, path: str) -> tuple[str, str]:
        """``(relative path, system path)`` after refusing ``..`` escapes and symbolic links.

        The checks of the name alone are remembered per path (a block's files are asked for several
        times); the filesystem is looked at again on every call."""
        sys_paths = self.__dict__.setdefault("_sys_paths", {})
        relative, normal = self._checked_relative(path)
        sys_path = sys_paths.get(normal)
        if sys_path is None:
            sys_path = sys_paths[normal] = os.path.normpath(os.fsdecode(self._to_sys_path(normal)))
        if relative and self._has_link(relative):  # some component is a symbolic link
            shown = printable(relative)
            if not self.limits.follow_internal_symlinks:
                raise OlxError("symbolic links are not allowed in a course", path=shown)
            if not _inside(os.path.realpath(sys_path), self._root_real):
                raise OlxError("symbolic link points outside the course directory", path=shown)
        return relative, sys_path

    def _has_link(self, relative: str) -> bool:
        """Whether a component of the path below the (already resolved) root is a symbolic link: what
        ``realpath(path) != path`` tells, with one ``lstat`` per component (a missing one ends the walk,
        as ``realpath`` keeps a missing tail as it is)."""
        current = self._root_real
        for part in relative.split("/"):
            current = os.path.join(current, part)
            try:
                if stat.S_ISLNK(os.lstat(current).st_mode):
                    return True
            except (FileNotFoundError, NotADirectoryError):
                return False
        return False

    # -- reading ------------------------------------------------------------------------------------
    def openbin(self, path, mode="r", buffering=-1, **options):
        self._refuse_writes(path, mode)
        relative, sys_path = self._checked(path)
        shown = printable(relative)
        flags = os.O_RDONLY | _O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
        if not self.limits.follow_internal_symlinks:
            flags |= _O_NOFOLLOW
        try:
            fd = os.open(sys_path, flags)
        except FileNotFoundError:
            raise fs.errors.ResourceNotFound(path) from None
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise OlxError("symbolic links are not allowed in a course", path=shown) from exc
            raise OlxError(f"cannot read file: {exc.strerror}", path=shown) from exc
        try:
            info = os.fstat(fd)
            if stat.S_ISDIR(info.st_mode):
                raise fs.errors.FileExpected(path)
            if not stat.S_ISREG(info.st_mode):
                raise OlxError("not a regular file (FIFO, socket or device)", path=shown)
            self.charge(relative, info.st_size)
            raw = _BoundedRaw(io.FileIO(fd, "rb", closefd=True), self.limits.max_file_bytes, shown)
        except BaseException:
            os.close(fd)
            raise
        return raw if buffering == 0 else io.BufferedReader(raw)

    def isfile(self, path) -> bool:
        """``getinfo(path).is_file`` without building the info (block classes ask it for every file)."""
        _, sys_path = self._checked(path)
        try:
            return stat.S_ISREG(os.stat(sys_path).st_mode)
        except (FileNotFoundError, NotADirectoryError):
            return False


def open_course(path: str | Path, limits: Limits) -> tuple[CourseFS, dict[str, int]]:
    """The course at ``path`` (a directory or a ``.tar.gz``) as a checked :class:`CourseFS` and its files.

    An archive's temp dir is removed by :meth:`CourseFS.discard`, or when the FS is garbage collected
    (static files are read lazily, so it lives as long as the tree read from it).
    """
    path = Path(path)
    if is_archive(path):
        tmp, root = unpack_archive(path, limits)
        try:
            files = scan_course(root, limits)
            course_fs = CourseFS(root, limits)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        course_fs._discard = weakref.finalize(course_fs, shutil.rmtree, tmp, True)
        return course_fs, files
    if not path.is_dir():
        raise OlxError("not an OLX course: no such directory or .tar.gz archive", path=printable(str(path)))
    files = scan_course(path, limits)
    return CourseFS(path, limits), files


# -- export --------------------------------------------------------------------------------------------
class _WritesOnce:
    """Every path written stays inside the destination, and no file is written twice."""

    def _init_writes_once(self, course_key) -> None:
        self.course_key = course_key
        self.written: set[str] = set()

    def _target(self, path: str) -> str:
        try:
            return self.validatepath(path)
        except fs.errors.IllegalBackReference:
            raise OlxExportError("path leaves the destination", course_key=self.course_key,
                                 path=printable(path)) from None
        except fs.errors.InvalidPath as exc:
            raise OlxExportError(f"invalid path: {exc}", course_key=self.course_key, path=printable(path)) from None

    def _claim(self, path: str, mode: str) -> None:
        if not set(mode) & set("wax+"):
            return
        normal = self._target(path)
        if normal in self.written:
            raise OlxExportError("two blocks or files would be written to the same path",
                                 course_key=self.course_key, path=printable(normal.lstrip("/")))
        self.written.add(normal)

    def was_written(self, path: str) -> bool:
        return self._target(path) in self.written

    def openbin(self, path, mode="r", buffering=-1, **options):
        self._claim(path, mode)
        return super().openbin(path, mode, buffering, **options)

    def makedir(self, path, permissions=None, recreate=False):
        self._target(path)
        return super().makedir(path, permissions, recreate)


class ExportFS(_WritesOnce, OSFS):
    """The export destination: writes stay inside it (after resolving links) and never replace a file
    this export wrote."""

    def __init__(self, root: str | Path, course_key):
        self._root_real = os.path.realpath(root)
        super().__init__(self._root_real)
        self._init_writes_once(course_key)

    def _target(self, path: str) -> str:
        normal = super()._target(path)
        real = os.path.realpath(os.fsdecode(self._to_sys_path(normal)))
        if not _inside(real, self._root_real):
            raise OlxExportError("path leaves the destination (through a symbolic link)",
                                 course_key=self.course_key, path=printable(normal.lstrip("/")))
        return normal

    def open(self, path, mode="r", buffering=-1, encoding=None, errors=None, newline="", **options):
        self._claim(path, mode)  # OSFS opens text files without openbin (a memory filesystem goes through it)
        return super().open(path, mode, buffering, encoding, errors, newline, **options)


class MemoryExportFS(_WritesOnce, MemoryFS):
    """An export kept in memory, to be parsed again (:func:`open_memory_course`) without the disk: the
    same write-once rule and ``..`` refusal as :class:`ExportFS` (there are no links to resolve)."""

    def __init__(self, course_key):
        super().__init__()
        self._init_writes_once(course_key)

    def makedirs(self, path, permissions=None, recreate=False):
        """``MemoryFS.makedirs``, answered from the tree when the directory is already there (``recreate``):
        legacy block classes ask for their type's directory before each file they write."""
        if recreate:
            normal = self._target(path)
            entry = self._get_dir_entry(normal)
            if entry is not None and entry.is_dir:
                return (self.subfs_class or SubFS)(self, normal)
        return super().makedirs(path, permissions, recreate)


# -- a course in memory ----------------------------------------------------------------------------------
#: ``MemoryCourseFS.root_path`` is a URL of this scheme: edx-val's transcript import re-opens the course
#: with ``open_fs(resources_fs.root_path)``, and gets a checked view of the same files (a plain OS
#: directory there would be nothing, and on disk it bypasses :class:`CourseFS`).
MEMORY_COURSE_PROTOCOL = "lcolxmem"
_OPEN_MEMORY_COURSES: "weakref.WeakValueDictionary[str, MemoryCourseFS]" = weakref.WeakValueDictionary()


class MemoryCourseFS(_CheckedReads, MemoryFS):
    """An OLX course in memory (an export's files), read-only, with the checks of :class:`CourseFS` that a
    memory filesystem can need: names, depth, sizes, total, bounded reads, decoding."""

    def __init__(self, files: MemoryFS, limits: Limits, *, charged_to: "MemoryCourseFS | None" = None):
        """``files``: the memory filesystem holding the course (shared, not copied); ``charged_to``: the
        course whose byte and file counts this view adds to (edx-val's view of the same course)."""
        super().__init__()
        self.root = files.root  # MemoryFS keeps its tree in ``root``: both read the same entries
        self._init_checked_reads(limits)
        if charged_to is not None:
            self.charge = charged_to.charge
        self._token = secrets.token_hex(8)
        self.root_path = f"{MEMORY_COURSE_PROTOCOL}://{self._token}"
        _OPEN_MEMORY_COURSES[self._token] = self

    def view(self) -> "MemoryCourseFS":
        """Another filesystem on the same files and counts (closing it leaves this one open)."""
        return MemoryCourseFS(self, self.limits, charged_to=self)

    def openbin(self, path, mode="r", buffering=-1, **options):
        """The file's bytes as a stream, checked and counted like :meth:`CourseFS.openbin`. Read from the
        memory filesystem's entry (``MemoryFS._get_dir_entry``): its own ``openbin`` builds a lockable
        read-write file object, several times the cost, for a course nobody writes any more."""
        self._refuse_writes(path, mode)
        relative, normal = self._checked_relative(path)
        entry = self._get_dir_entry(normal)
        if entry is None:
            raise fs.errors.ResourceNotFound(path)
        if entry.is_dir:
            raise fs.errors.FileExpected(path)
        with entry.lock:
            data = entry.bytes_file.getvalue()
        self.charge(relative, len(data))
        # ``relative`` passed check_file_name (UTF-8, no control characters): it is its own printable()
        bounded = _BoundedRaw(io.BytesIO(data), self.limits.max_file_bytes, relative)
        return bounded if buffering == 0 else io.BufferedReader(bounded)

    def isfile(self, path) -> bool:
        """``getinfo(path).is_file`` without building the info (block classes ask it for every file)."""
        _, normal = self._checked_relative(path)
        entry = self._get_dir_entry(normal)
        return entry is not None and not entry.is_dir

    # Every MemoryFS method that changes the tree without openbin (the others write through openbin).
    def makedir(self, path, permissions=None, recreate=False):
        raise fs.errors.ResourceReadOnly(path)

    def remove(self, path):
        raise fs.errors.ResourceReadOnly(path)

    def removedir(self, path):
        raise fs.errors.ResourceReadOnly(path)

    def removetree(self, path):
        raise fs.errors.ResourceReadOnly(path)

    def move(self, src_path, dst_path, overwrite=False, preserve_time=False):
        raise fs.errors.ResourceReadOnly(src_path)

    def movedir(self, src_path, dst_path, create=False, preserve_time=False):
        raise fs.errors.ResourceReadOnly(src_path)

    def setinfo(self, path, info):
        raise fs.errors.ResourceReadOnly(path)


class _MemoryCourseOpener(fs.opener.Opener):
    protocols = [MEMORY_COURSE_PROTOCOL]

    def open_fs(self, fs_url, parse_result, writeable, create, cwd):
        course = _OPEN_MEMORY_COURSES.get(parse_result.resource)
        if course is None:
            raise fs.opener.errors.OpenerError(f"no course in memory at {fs_url}")
        return course.view()


fs.opener.registry.install(_MemoryCourseOpener)


def scan_memory_course(files: MemoryFS, limits: Limits) -> dict[str, int]:
    """``{relative path: size}`` of every file of a course in memory, after the name, depth and count
    checks of :func:`scan_course` (a memory filesystem holds only files and directories)."""
    sizes: dict[str, int] = {}
    count = 0
    stack = [(files.root, "")]  # MemoryFS's tree of entries, walked as scandir would (without Info objects)
    while stack:
        directory, prefix = stack.pop()
        for name in sorted(directory.list()):
            if not prefix and name.startswith("."):
                continue
            entry = directory.get_entry(name)
            relative = f"{prefix}{name}"
            shown = printable(relative)
            check_file_name(relative, path=shown)
            count += 1
            if count > limits.max_files:
                raise _too_many(count, limits, shown)
            _check_depth(relative, limits, shown)
            if entry.is_dir:
                stack.append((entry, relative + "/"))
            else:
                sizes[relative] = entry.size
    return sizes


def open_memory_course(files: MemoryFS, limits: Limits) -> tuple[MemoryCourseFS, dict[str, int]]:
    """The course held by ``files`` (a :class:`MemoryExportFS`) as a checked :class:`MemoryCourseFS`."""
    return MemoryCourseFS(files, limits), scan_memory_course(files, limits)


__all__ = ["CourseFS", "ExportFS", "MemoryCourseFS", "MemoryExportFS", "is_archive", "open_course",
           "open_memory_course", "scan_course", "scan_memory_course", "unpack_archive"]
