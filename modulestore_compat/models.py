"""Tables of the embedded Split document backend (the course index in a relational table, as the
upstream plan moves it to MySQL; structures and definitions as compressed extended JSON), and the
facade's compiled Learning Core courses."""
from __future__ import annotations

from django.db import models


class SplitCourseIndex(models.Model):
    """One course's index entry (``active_versions``), searchable by org/course/run."""

    objectid = models.CharField(max_length=24, unique=True)
    course_id = models.CharField(max_length=255, unique=True)
    org = models.CharField(max_length=255, db_index=True)
    course = models.CharField(max_length=255)
    run = models.CharField(max_length=255)
    draft_version = models.CharField(max_length=24, blank=True, default="")
    published_version = models.CharField(max_length=24, blank=True, default="")
    library_version = models.CharField(max_length=24, blank=True, default="")
    wiki_slug = models.CharField(max_length=255, blank=True, default="", db_index=True)
    last_update = models.DateTimeField()
    document = models.BinaryField()  # the whole index document, compressed extended JSON

    class Meta:
        app_label = "modulestore_compat"


class SplitStructure(models.Model):
    objectid = models.CharField(max_length=24, primary_key=True)
    document = models.BinaryField()

    class Meta:
        app_label = "modulestore_compat"


class SplitDefinition(models.Model):
    objectid = models.CharField(max_length=24, primary_key=True)
    document = models.BinaryField()

    class Meta:
        app_label = "modulestore_compat"


class CompiledCourse(models.Model):
    """A Learning Core course compiled into Split-shaped documents for one branch.

    Reflects a Learning Core log (publish log id for the published branch, draft change log id for
    the draft branch) as compiled by ``compiler_version``; a new compile replaces the row in the same
    transaction. ``structure_id`` is new for every compile, never derived from the log id: databases
    hand the ids of a rolled-back transaction out again, and a reader that cached the rolled-back
    structure must not take the next compile for it. ``structure`` holds the structure without its
    blocks and the chunk manifest (``codec`` format); the blocks and definitions live in
    :class:`CompiledChunk` rows, shared between compiles (and branches) whose blocks did not change.
    """

    course_key = models.CharField(max_length=255)
    branch = models.CharField(max_length=32)  # draft-branch | published-branch
    log_id = models.BigIntegerField()
    compiler_version = models.IntegerField(default=0)
    structure_id = models.CharField(max_length=24, unique=True)
    structure = models.BinaryField()  # packed header: structure without blocks + chunk manifest
    chunks = models.TextField(default="")  # the chunk digests, space-separated (for garbage collection)
    compiled = models.DateTimeField()
    seconds = models.FloatField(default=0.0)

    class Meta:
        app_label = "modulestore_compat"
        constraints = [models.UniqueConstraint(fields=["course_key", "branch"], name="mc_compiled_course_branch")]


class CompiledChunk(models.Model):
    """A run of consecutive blocks of a compiled structure, with their definitions.

    Named by a digest of its blocks' (type, id, Learning Core version, children): a recompile after a
    few blocks changed writes only the chunks holding them. The digest is found again after a
    rolled-back transaction (the version ids are handed out again), so readers key what they keep in
    memory by ``token``, random and new for every row written, which the header's manifest lists.
    """

    course_key = models.CharField(max_length=255)
    digest = models.CharField(max_length=40)
    token = models.CharField(max_length=32, default="")
    blocks = models.BinaryField()  # packed list of structure block documents (``codec`` format)
    definitions = models.BinaryField()  # packed list of definition documents (``codec`` format)
    # Set when no compile names the chunk any more; deleted an hour later (readers that already
    # hold the superseded structure still load its content).
    retired = models.DateTimeField(null=True, blank=True)

    class Meta:
        app_label = "modulestore_compat"
        constraints = [models.UniqueConstraint(fields=["course_key", "digest"], name="mc_compiled_chunk_digest")]
