"""Which database rows keep a stored file alive: the one rule rollback cleanup, purge and gc share.

Why: files live in storage (the media directory, S3), outside every transaction, so a file can
outlive the rows that referenced it (a rolled-back or killed import, a replaced course). Before
deleting any file we ask the database whether a committed row still points at it; deleting a live
file is the worst possible bug here, so every owner answers "referenced" when in doubt.

* Learning Core: a ``Media`` row with ``has_file`` of package *U* and hash *H* is the file
  ``content/U/H`` in ``OPENEDX_LEARNING["MEDIA"]`` storage. The path holds the package's uuid, so
  files are never shared between packages (within a package, Media of different types with the
  same bytes share one file — the check is by (package, hash), whatever the type).
* edx-val (video blocks write it while parsing their OLX): ``VideoTranscript.transcript`` and
  ``VideoImage.image`` under their storages' ``DIRECTORY_PREFIX``.
"""
from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from typing import Callable

from django.apps import apps
from django.conf import settings
from django.core.files.storage import Storage

LEARNING_CORE_PREFIX = "content/"


@dataclass
class FileOwner:
    """One kind of stored file: where such files live, and which rows reference them."""

    label: str
    storage: Storage
    prefix: str                                   # a directory of ``storage`` holding only these files
    referenced_names: Callable[[], set[str]]      # every name a row references (one query)
    is_referenced: Callable[[str], bool]          # one name (one query)

    def owns(self, storage: Storage, name: str) -> bool:
        return name.startswith(self.prefix) and same_storage(storage, self.storage)


def same_storage(a: Storage, b: Storage) -> bool:
    """Two storage objects write to the same place (openedx-core and edx-val build a new one per call)."""
    if type(a) is not type(b):
        return False
    location_a, location_b = getattr(a, "location", None), getattr(b, "location", None)
    if location_a is not None or location_b is not None:
        return os.path.realpath(str(location_a)) == os.path.realpath(str(location_b))
    return a.deconstruct() == b.deconstruct()


def learning_core_files() -> FileOwner:
    from openedx_content.applets.media.models import get_storage
    from openedx_content.models_api import Media

    def referenced_names() -> set[str]:
        return {f"{LEARNING_CORE_PREFIX}{package_uuid}/{digest}" for package_uuid, digest in
                Media.objects.filter(has_file=True).values_list("learning_package__uuid", "hash_digest")}

    def is_referenced(name: str) -> bool:
        parts = name[len(LEARNING_CORE_PREFIX):].split("/")
        if len(parts) != 2:
            return False  # not a path openedx-core writes (e.g. a storage's renamed duplicate)
        try:
            package_uuid = uuid.UUID(parts[0])
        except ValueError:
            return False
        return Media.objects.filter(has_file=True, learning_package__uuid=package_uuid, hash_digest=parts[1]).exists()

    return FileOwner("learning core media", get_storage(), LEARNING_CORE_PREFIX, referenced_names, is_referenced)


def _edxval_owners() -> list[FileOwner]:
    if not apps.is_installed("edxval"):
        return []
    from edxval.models import VideoImage, VideoTranscript

    def transcripts() -> set[str]:
        return set(VideoTranscript.objects.exclude(transcript="").values_list("transcript", flat=True))

    def images() -> set[str]:
        names = set(VideoImage.objects.exclude(image="").values_list("image", flat=True))
        for generated in VideoImage.objects.values_list("generated_images", flat=True):
            names.update(str(item) for item in generated or ())
        return names

    def image_referenced(name: str) -> bool:  # generated images are URLs: a name at their end counts
        return any(ref == name or ref.endswith("/" + name) for ref in images())

    owners = []
    for label, settings_name, model_field, names, is_referenced in (
            ("edx-val transcripts", "VIDEO_TRANSCRIPTS_SETTINGS", VideoTranscript._meta.get_field("transcript"),
             transcripts, lambda name: VideoTranscript.objects.filter(transcript=name).exists()),
            ("edx-val images", "VIDEO_IMAGE_SETTINGS", VideoImage._meta.get_field("image"), images,
             image_referenced)):
        prefix = getattr(settings, settings_name, {}).get("DIRECTORY_PREFIX", "")
        if prefix:  # without a prefix the storage's root is shared with anything: never swept
            # the storage edx-val's model field writes with (built once, when edx-val was imported)
            owners.append(FileOwner(label, model_field.storage, prefix, names, is_referenced))
    return owners


def file_owners() -> list[FileOwner]:
    """Every kind of file lc-runtime may leave behind."""
    return [learning_core_files(), *_edxval_owners()]


def owner_of(storage: Storage, name: str, owners: list[FileOwner] | None = None) -> FileOwner | None:
    return next((owner for owner in (owners or file_owners()) if owner.owns(storage, name)), None)
