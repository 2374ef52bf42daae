"""Publishing that works whatever the depth of the course.

Why this module exists: openedx-core's ``publish_from_drafts`` (and ``publish_all_drafts``, which
calls it) finds the unpublished dependencies of what it publishes by building one queryset per
level of containers, each level's queryset filtering on the previous one's
(``_get_dependencies_with_unpublished_changes``: ``Draft.objects.filter(entity__affects__in=<the
previous level>.values_list("version_id"))``), and evaluating every level. The SQL of level *n*
therefore holds *n* nested ``IN (SELECT …)`` subqueries. SQLite's parser has a fixed stack and
gives up with ``OperationalError: parser stack overflow`` once a course has about ten levels
below the block being published (measured with SQLite 3.40.1: a dependency chain of 9 publishes,
10 fails), although Split and OLX accept any depth.

So we read the dependency graph ourselves with flat queries (three for a whole package, one per
level under the blocks being published), and:

* when the walk openedx-core would do is shallow (at most :data:`MAX_NESTED_LEVELS` levels, which
  covers every ordinary course), call ``publish_from_drafts`` exactly as before — one PublishLog,
  openedx-core's own records, side effects and hashes;
* otherwise publish the same set of drafts in layers, children before parents, with
  ``publish_dependencies=False`` (no crawl) and an explicit flat list of drafts per call. That
  flag makes openedx-core refuse a draft whose dependencies were never published, so a layer may
  only hold entities whose never-published dependencies went out in an earlier layer: a fresh
  import of a 30-level course takes about 31 PublishLogs, a publish after editing existing blocks
  takes one. Every call is still openedx-core's own ``publish_from_drafts``, so every published
  entity gets its PublishLogRecord and ``Published`` row, side effects are recorded for whatever
  was already published above it, and each container's dependency hash is computed from children
  that are already published. All layers run in one transaction.

The published state (which version of each entity is published, and hence the published tree)
is the same either way; what differs in the layered case is the number of PublishLogs and that
every record is marked ``direct``.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timezone

from django.db import transaction
from openedx_content import api as content_api
from openedx_content.models_api import Draft, PublishableEntityVersionDependency, Published

from ..errors import PublishError
from .prepared import rows as prepared_rows

#: Longest dependency chain (in levels below the published drafts) handed to openedx-core's own
#: crawl. SQLite 3.40.1 fails at 10; ordinary courses (course > chapter > sequential > vertical >
#: leaf, plus split_test / library_content / conditional levels) stay well below.
MAX_NESTED_LEVELS = 7

#: Drafts per layered publish call: keeps the ``IN (…)`` list far below every backend's limit.
LAYER_BATCH = 5000


class DependencyGraph:
    """The draft dependency graph under some entities of one package (the whole package when
    ``roots`` is ``None``), read with flat queries: one per level of dependencies for ``roots``
    (so publishing one block of a large course reads only its subtree), three for a whole package."""

    def __init__(self, learning_package_id: int, roots=None):
        self.learning_package_id = learning_package_id
        self.deps: dict[int, list[int]] = defaultdict(list)
        dependencies = PublishableEntityVersionDependency.objects.values_list("referring_version__entity_id",
                                                                             "referenced_entity_id")
        if roots is None:
            drafts = Draft.objects.filter(entity__learning_package_id=learning_package_id)
            for entity_id, dep in dependencies.filter(
                    referring_version__draft__entity__learning_package_id=learning_package_id):
                self.deps[entity_id].append(dep)
            self.has_draft = set(drafts.values_list("entity_id", flat=True))
            self.unpublished = set(drafts.with_unpublished_changes().values_list("entity_id", flat=True))
            self.ever_published = set(Published.objects.filter(entity__learning_package_id=learning_package_id)
                                      .values_list("entity_id", flat=True))
            return
        seen, level = set(roots), set(roots)
        while level:
            found = set()
            for chunk in _chunks(level):
                for entity_id, dep in dependencies.filter(referring_version__draft__entity_id__in=chunk):
                    self.deps[entity_id].append(dep)
                    found.add(dep)
            level = found - seen
            seen |= level
        self.has_draft, self.unpublished, self.ever_published = set(), set(), set()
        for chunk in _chunks(seen):
            drafts = Draft.objects.filter(entity_id__in=chunk)
            self.has_draft.update(drafts.values_list("entity_id", flat=True))
            self.unpublished.update(drafts.with_unpublished_changes().values_list("entity_id", flat=True))
            self.ever_published.update(Published.objects.filter(entity_id__in=chunk).values_list("entity_id",
                                                                                                  flat=True))

    def depth_below(self, roots, *, limit: int) -> int:
        """Levels of dependencies under ``roots`` — how deep openedx-core's crawl would nest its
        queries (the longest chain, as its levels are not deduplicated) — counted up to ``limit + 1``."""
        depth, level = 0, set(roots)
        while depth <= limit:
            level = {dep for entity_id in level for dep in self.deps.get(entity_id, ())}
            if not level:
                return depth
            depth += 1
        return depth

    def closure(self, roots) -> set[int]:
        """``roots`` plus every transitive dependency with unpublished changes (openedx-core's rule)."""
        result, stack, seen = set(roots), list(roots), set(roots)
        while stack:
            for dep in self.deps.get(stack.pop(), ()):
                if dep not in seen:
                    seen.add(dep)
                    stack.append(dep)
                    if dep in self.unpublished:
                        result.add(dep)
        return result

    def layers(self, entity_ids: set[int]) -> list[list[int]]:
        """``entity_ids`` in layers: a never-published dependency always sits in an earlier layer.

        Never-published dependencies outside ``entity_ids`` (a child created and soft-deleted
        before any publish) are added, so their (empty) publish satisfies the parent's check.
        """
        members = set(entity_ids)
        pending = list(members)
        while pending:  # pull in blocking dependencies that are not part of the publish yet
            entity_id = pending.pop()
            for dep in self.deps.get(entity_id, ()):
                if dep not in members and dep not in self.ever_published and dep in self.has_draft:
                    members.add(dep)
                    pending.append(dep)
        blocking = {e: [d for d in self.deps.get(e, ()) if d in members and d not in self.ever_published]
                    for e in members}
        layer_of: dict[int, int] = {}
        waiting = {e: len(set(ds)) for e, ds in blocking.items()}
        dependents: dict[int, list[int]] = defaultdict(list)
        for entity_id, ds in blocking.items():
            for dep in set(ds):
                dependents[dep].append(entity_id)
        ready = sorted(e for e, n in waiting.items() if n == 0)
        for entity_id in ready:
            layer_of[entity_id] = 0
        while ready:  # Kahn's algorithm: each entity one layer above its highest blocking dependency
            next_ready = []
            for entity_id in ready:
                for parent in dependents.get(entity_id, ()):
                    layer_of[parent] = max(layer_of.get(parent, 0), layer_of[entity_id] + 1)
                    waiting[parent] -= 1
                    if waiting[parent] == 0:
                        next_ready.append(parent)
            ready = sorted(next_ready)
        if len(layer_of) != len(members):
            cyclic = min(set(members) - set(layer_of))
            package_ref = content_api.get_learning_package(self.learning_package_id).package_ref
            raise PublishError(package_ref, f"entity {cyclic} is part of a dependency cycle")
        result: list[list[int]] = [[] for _ in range(max(layer_of.values(), default=-1) + 1)]
        for entity_id in sorted(layer_of):
            result[layer_of[entity_id]].append(entity_id)
        return result


def _chunks(ids, size: int = 500):
    ordered = sorted(ids)
    for start in range(0, len(ordered), size):
        yield ordered[start:start + size]


def publish_drafts(learning_package_id: int, entity_ids=None, *, message: str = "",
                   published_at: datetime | None = None, published_by: int | None = None,
                   max_nested_levels: int | None = None, known_depth: int | None = None) -> list:
    """Publish ``entity_ids`` (every draft with unpublished changes when ``None``) and their
    unpublished dependencies; returns the PublishLogs written (one unless the course is deep).

    Same contract as openedx-core's ``publish_all_drafts`` / ``publish_from_drafts(draft_qset=…)``,
    without its depth limit. Must not run inside ``bulk_draft_changes_for`` (openedx-core refuses).
    ``known_depth``: at most how many levels of dependencies lie under ``entity_ids`` (each with a
    draft), when the caller knows it: within the limit the graph need not be read.
    """
    published_at = published_at or datetime.now(tz=timezone.utc)
    max_nested_levels = MAX_NESTED_LEVELS if max_nested_levels is None else max_nested_levels
    if entity_ids is not None and known_depth is not None and known_depth <= max_nested_levels:
        return [content_api.publish_from_drafts(
            learning_package_id, draft_qset=Draft.objects.filter(entity_id__in=sorted(set(entity_ids))).order_by("pk"),
            message=message, published_at=published_at, published_by=published_by)]
    with transaction.atomic():
        graph = DependencyGraph(learning_package_id, None if entity_ids is None else set(entity_ids))
        roots = set(graph.unpublished) if entity_ids is None else set(entity_ids) & graph.has_draft
        if graph.depth_below(roots, limit=max_nested_levels) <= max_nested_levels:
            if entity_ids is None:
                draft_qset = content_api.get_all_drafts(learning_package_id).with_unpublished_changes()
            else:
                draft_qset = Draft.objects.filter(entity_id__in=sorted(roots))
            return [content_api.publish_from_drafts(
                learning_package_id, draft_qset=draft_qset.order_by("pk"), message=message,
                published_at=published_at, published_by=published_by)]
        logs = []
        for layer in graph.layers(graph.closure(roots)):
            for start in range(0, len(layer), LAYER_BATCH):
                batch = layer[start:start + LAYER_BATCH]
                logs.append(content_api.publish_from_drafts(
                    learning_package_id, draft_qset=Draft.objects.filter(entity_id__in=batch).order_by("pk"),
                    message=message, published_at=published_at, published_by=published_by,
                    publish_dependencies=False))
        return logs


#: The message of publishes that only sync a parent's published children (lc_runtime.authoring): Split
#: leaves that parent's edit info alone, so they do not count as its publish.
SYNC_MESSAGE = "lc_runtime.authoring: sync published children"


def published_copies(*, entity_ids=None, learning_package_id: int | None = None) -> dict[int, tuple]:
    """Entity → ``(publish log record id, published_by, published_at)`` of the publish Split's published
    copy of the block records (its ``edit_info`` and so ``published_by``/``published_on``): the latest
    publish that asked for the block or changed its version — not a side effect of a child's publish,
    nor a sync of its children. Only entities published now (not deleted)."""
    from django.db.models import F, Q
    from openedx_content.models_api import PublishLogRecord

    rows = PublishLogRecord.objects.filter(
        Q(direct=True) | ~Q(old_version_id=F("new_version_id")) | Q(old_version__isnull=True)).exclude(
        publish_log__message=SYNC_MESSAGE)
    if entity_ids is not None and learning_package_id is None:  # a few blocks: one query, published ones only
        live_ids = None
    else:
        live = Published.objects.filter(version__isnull=False)
        if entity_ids is not None:
            live = live.filter(entity_id__in=list(entity_ids))
        if learning_package_id is not None:
            live = live.filter(entity__learning_package_id=learning_package_id)
        live_ids = set(live.values_list("entity_id", flat=True))
        if entity_ids is not None:
            rows = rows.filter(entity_id__in=list(live_ids))
        else:
            rows = rows.filter(publish_log__learning_package_id=learning_package_id)
    columns = ("entity_id", "id", "publish_log__published_by_id", "publish_log__published_at")
    if live_ids is None:  # (one edit's recompile: the SQL compiled once per number of blocks)
        ids = list(dict.fromkeys(entity_ids))
        listed = prepared_rows("publishing.copies", lambda: rows.filter(
            entity_id__in=ids, entity__published__version__isnull=False).order_by(
            "entity_id", "-publish_log_id").values_list(*columns), [SYNC_MESSAGE, *ids]) if ids else []
    else:
        listed = rows.order_by("entity_id", "-publish_log_id").values_list(*columns)
    result: dict[int, tuple] = {}
    for entity_id, record_id, by, at in listed:
        if live_ids is None or entity_id in live_ids:
            result.setdefault(entity_id, (record_id, by, at))
    return result


def publish_new_drafts(learning_package_id: int, edges, digests: dict, *, message: str = "", published_at: datetime | None = None,
                       published_by: int | None = None):
    """Publish a package none of whose entities was ever published, given its dependency ``edges``
    (``(parent entity id, child entity id)``, each once) and the dependency hashes of its draft
    records (the same for the published records, which point at the same versions); returns the
    PublishLog.

    The rows are those :func:`publish_drafts` gets from openedx-core's ``publish_from_drafts`` for such
    a package (one direct record per draft in draft order, the ``Published`` rows, one side effect
    per edge since every parent is published in the same log), written set-wise; the event is
    openedx-core's own code. Any other package (something published
    already, or deeper than :data:`MAX_NESTED_LEVELS`, which openedx-core publishes in layers here)
    goes through :func:`publish_drafts` unchanged.
    """
    from openedx_content.applets.publishing import api as publishing_api
    from openedx_content.models_api import PublishLog, PublishLogRecord, PublishSideEffect

    from .bulk_rows import insert_keyed, insert_rows

    published_at = published_at or datetime.now(tz=timezone.utc)
    with transaction.atomic():
        children = defaultdict(list)
        for parent, child in edges:
            children[parent].append(child)
        if Published.objects.filter(entity__learning_package_id=learning_package_id).exists() or \
                _longest_chain(children) > MAX_NESTED_LEVELS:
            return publish_drafts(learning_package_id, message=message, published_at=published_at,
                                  published_by=published_by)[-1]
        publish_log = PublishLog(learning_package_id=learning_package_id, message=message,
                                 published_at=published_at, published_by_id=published_by)
        publish_log.full_clean()
        publish_log.save(force_insert=True)
        drafts = list(content_api.get_all_drafts(learning_package_id).order_by("pk").values_list(
            "entity_id", "version_id"))
        record_of = insert_keyed(
            PublishLogRecord, ("publish_log_id", "entity_id", "old_version_id", "new_version_id", "direct",
                               "dependencies_hash_digest"),
            ((publish_log.id, entity_id, None, version_id, True, digests[entity_id]) for entity_id, version_id in drafts),
            "entity_id", {"publish_log_id": publish_log.id})
        insert_rows(Published, ("entity_id", "version_id", "publish_log_record_id"),
                    ((entity_id, version_id, record_of[entity_id]) for entity_id, version_id in drafts))
        insert_rows(PublishSideEffect, ("cause_id", "effect_id"),
                    ((record_of[child], record_of[parent]) for parent, child in edges
                     if parent in record_of and child in record_of))
        publishing_api._emit_event_for_change_log(  # pylint: disable=protected-access
            publish_log, timestamp=published_at, user_id=published_by)
        return publish_log


def _longest_chain(children: dict) -> int:
    """Levels of dependencies below the tops of ``children`` (parent → child ids): the depth of
    openedx-core's crawl when everything is published (Kahn's order, no recursion; a cycle is left
    to :func:`publish_drafts`, which reports it)."""
    indegree: dict[int, int] = defaultdict(int)
    for kids in children.values():
        for kid in kids:
            indegree[kid] += 1
    order = [node for node in children if indegree[node] == 0]
    if len(order) < len(children) and not any(indegree[node] == 0 for node in children):
        return MAX_NESTED_LEVELS + 1
    level = {node: 0 for node in order}
    longest = 0
    while order:
        node = order.pop()
        for kid in children.get(node, ()):
            level[kid] = max(level.get(kid, 0), level[node] + 1)
            longest = max(longest, level[kid])
            indegree[kid] -= 1
            if indegree[kid] == 0:
                order.append(kid)
    return longest
