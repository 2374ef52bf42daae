"""Tables of the embedded Split document backend (the course index in a relational table, as the
upstream plan moves it to MySQL; structures and definitions as compressed extended JSON), the
embedded contentstore (course files: ``SplitAsset`` rows, bytes in ``SplitAssetBlob`` chunks), and
the facade's compiled Learning Core courses."""
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


class SplitAssetBlob(models.Model):
    """The bytes of one or more course files of the embedded contentstore, named by their SHA-256.

    Content-addressed, so the files of a rerun or a re-import share their bytes; named by SHA-256
    and not by md5 (edx's ETag), because md5 collisions can be made on purpose and two different
    files must never share a blob (ADR 0008). The bytes are :class:`SplitAssetChunk` rows, written in
    the same transaction as the file's row.
    """

    sha256 = models.CharField(max_length=64, primary_key=True)
    length = models.BigIntegerField()

    class Meta:
        app_label = "modulestore_compat"


class SplitAssetChunk(models.Model):
    """Part ``n`` of a blob (GridFS's layout: 255 KiB chunks, so no row nears a database's packet limit)."""

    blob = models.ForeignKey(SplitAssetBlob, on_delete=models.CASCADE, related_name="chunks")
    n = models.IntegerField()
    data = models.BinaryField()

    class Meta:
        app_label = "modulestore_compat"
        constraints = [models.UniqueConstraint(fields=["blob", "n"], name="mc_asset_chunk_n")]


class SplitAsset(models.Model):
    """One course file (or thumbnail) of the embedded contentstore: edx's ``fs.files`` document as columns."""

    course_id = models.CharField(max_length=255)  # course-v1:ORG+COURSE+RUN
    category = models.CharField(max_length=16)  # asset | thumbnail
    name = models.CharField(max_length=255)  # the asset key's block id
    displayname = models.TextField(default="")
    content_type = models.CharField(max_length=255, null=True, blank=True)
    locked = models.BooleanField(default=False)
    import_path = models.TextField(null=True, blank=True)
    thumbnail_location = models.JSONField(null=True, blank=True)
    length = models.BigIntegerField()
    md5 = models.CharField(max_length=32)
    upload_date = models.DateTimeField()
    extra = models.JSONField(default=dict)  # attributes set with ``set_attr`` that have no column
    blob = models.ForeignKey(SplitAssetBlob, on_delete=models.PROTECT, related_name="assets")

    class Meta:
        app_label = "modulestore_compat"
        constraints = [models.UniqueConstraint(fields=["course_id", "category", "name"], name="mc_asset_uniq_name")]


RUN_RUNNING = "running"
RUN_COMPLETED = "completed"
RUN_PARTIAL = "partial_success"
RUN_FAILED = "failed"
RUN_SKIPPED = "skipped"
RUN_STATUSES = (RUN_RUNNING, RUN_COMPLETED, RUN_PARTIAL, RUN_FAILED, RUN_SKIPPED)


class MigrationRun(models.Model):
    """One ``lc-runtime migrate`` invocation: who asked, for which courses, to which stage."""

    run_id = models.CharField(max_length=32, unique=True)
    user = models.CharField(max_length=255, blank=True, default="")
    scope_kind = models.CharField(max_length=16)  # courses | org | all
    scope = models.JSONField(default=list)  # the course keys asked for, or [org]; [] for all
    to_stage = models.CharField(max_length=16)
    forced = models.BooleanField(default=False)
    status = models.CharField(max_length=16, choices=[(s, s) for s in RUN_STATUSES], default=RUN_RUNNING,
                              db_index=True)
    started = models.DateTimeField(db_index=True)
    finished = models.DateTimeField(null=True, blank=True)

    class Meta:
        app_label = "modulestore_compat"
        ordering = ["-id"]

    def __str__(self) -> str:
        return self.run_id


class MigrationRunCourse(models.Model):
    """One course of a run. ``running`` rows name their process (host, pid) and heartbeat, so a run
    that died is recognised and does not block the course forever (``modulestore_compat.runs``)."""

    run = models.ForeignKey(MigrationRun, on_delete=models.CASCADE, related_name="courses")
    course_key = models.CharField(max_length=255, db_index=True)
    status = models.CharField(max_length=16, choices=[(s, s) for s in RUN_STATUSES], default=RUN_RUNNING,
                              db_index=True)
    from_stage = models.CharField(max_length=16, blank=True, default="")
    reached_stage = models.CharField(max_length=16, blank=True, default="")
    steps = models.JSONField(default=list)  # [{from, to, blocks, checks_run, differences, seconds}]
    checks_run = models.BigIntegerField(default=0)
    differences = models.IntegerField(default=0)
    seconds = models.FloatField(default=0.0)
    report_path = models.TextField(blank=True, default="")
    error = models.TextField(blank=True, default="")  # one line
    started = models.DateTimeField(db_index=True)
    finished = models.DateTimeField(null=True, blank=True)
    heartbeat = models.DateTimeField()
    host = models.CharField(max_length=255, blank=True, default="")
    pid = models.IntegerField(default=0)

    class Meta:
        app_label = "modulestore_compat"
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.run.run_id} {self.course_key}"


class MigratedBlock(models.Model):
    """Where one Split block went: its Learning Core entity and versions, or why it is not there as itself."""

    run_course = models.ForeignKey(MigrationRunCourse, on_delete=models.CASCADE, related_name="blocks")
    usage_key = models.CharField(max_length=500)  # Split's, without branch or version
    entity_id = models.BigIntegerField(null=True, blank=True)
    draft_version = models.IntegerField(null=True, blank=True)
    published_version = models.IntegerField(null=True, blank=True)
    status = models.CharField(max_length=16)  # migrated | substituted | missing
    reason = models.TextField(blank=True, default="")

    class Meta:
        app_label = "modulestore_compat"
        ordering = ["id"]


class ShadowCourse(models.Model):
    """What the shadow stage observed for one course since it entered the stage (``shadow`` package)."""

    course_key = models.CharField(max_length=255, unique=True)
    since = models.DateTimeField()
    split_versions = models.JSONField(default=dict)  # Split's branch → structure id the Learning Core copy reflects
    matched = models.BigIntegerField(default=0)
    mismatched = models.BigIntegerField(default=0)
    errors = models.BigIntegerField(default=0)  # the facade's read (or the comparison) failed
    stale = models.BigIntegerField(default=0)  # not compared: Split changed since the Learning Core copy
    dropped = models.BigIntegerField(default=0)  # not compared: the comparison queue was full
    last_error = models.TextField(blank=True, default="")
    last_read = models.DateTimeField(null=True, blank=True)

    class Meta:
        app_label = "modulestore_compat"

    def __str__(self) -> str:
        return self.course_key


class ShadowMismatch(models.Model):
    """One difference between Split's answer (served) and the facade's (compared) to the same call."""

    course_key = models.CharField(max_length=255, db_index=True)
    call = models.CharField(max_length=64)  # get_item | get_course | get_items | has_changes
    block = models.CharField(max_length=500)  # usage key without branch/version, or the query
    field = models.CharField(max_length=255, blank=True, default="")
    split_value = models.JSONField(null=True)
    facade_value = models.JSONField(null=True)
    seen = models.DateTimeField(db_index=True)

    class Meta:
        app_label = "modulestore_compat"
        ordering = ["id"]
