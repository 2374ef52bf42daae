"""The two sides a scenario drives with the same steps: the Split reference and Learning Core.

Split reference: :class:`SplitWriter` (``split_draft``'s writes) over the embedded document store,
read back through :class:`DraftVersioningModuleStore`. Each step runs in one bulk operation, as
Studio's handlers do (``xblock_handler`` wraps its writes in ``bulk_operations``), so each step
sends ``course_published`` at most once on both sides.

Learning Core: ``lc_runtime.authoring.api`` at stage ``full``, read back through the facade
(:class:`LearningCoreModuleStore`) and, for field values, through the Learning Core runtime.
"""
from __future__ import annotations

from contextlib import contextmanager

from xblock.fields import Scope

from modulestore_compat.split.fields import mixed_class
from modulestore_compat.enums import BranchName, RevisionOption

from .steps import Step

AUTHOR, PUBLISHER = 7101, 7102  # users both sides record (Learning Core needs them to exist)


def ensure_users() -> None:
    from django.contrib.auth import get_user_model

    for user_id in (AUTHOR, PUBLISHER):
        get_user_model().objects.get_or_create(pk=user_id, defaults={"username": f"conformance-author-{user_id}"})


def user_for(step: Step) -> int:
    return PUBLISHER if step.op in ("publish", "unpublish") else AUTHOR


def partition(block_type: str, fields: dict) -> tuple[dict, dict]:
    """``(settings, content)``: Split's ``partition_fields_by_scope`` on the block's class."""
    cls = mixed_class(block_type)
    settings, content = {}, {}
    for name, value in fields.items():
        (content if cls.fields[name].scope == Scope.content else settings)[name] = value
    return settings, content


class SplitSide:
    name = "split"

    def __init__(self):
        from modulestore_compat.split.api import DjangoDocumentStore

        self.documents = DjangoDocumentStore()

    def attach(self, course_key) -> None:
        self.course_key = course_key

    def has_course(self) -> bool:
        key = self.course_key
        return self.documents.get_course_index(key.org, key.course, key.run) is not None

    def setup(self, olx, course_key) -> None:
        from lc_runtime.olx.reader import read_course
        from modulestore_compat.split.api import SplitWriter

        self.course_key = course_key
        SplitWriter(self.documents, user_id=None).import_tree(read_course(olx, course_key), files=False)

    def store(self):
        from modulestore_compat.split.api import DraftVersioningModuleStore

        return DraftVersioningModuleStore(self.documents)

    def versions(self) -> dict:
        """branch → what its state is read from (the index's structure version: structures never change)."""
        key = self.course_key
        index = self.documents.get_course_index(key.org, key.course, key.run) or {}
        heads = index.get("versions", {})
        return {"draft": heads.get(BranchName.draft), "published": heads.get(BranchName.published)}

    def apply(self, step: Step) -> None:
        from modulestore_compat.split.api import SplitWriter

        writer = SplitWriter(self.documents, user_id=user_for(step))
        with writer.bulk_operations(self.course_key):
            self._apply(writer, step)

    def _apply(self, writer, step: Step) -> None:
        course, key = self.course_key, step.block
        if step.op == "bulk":
            for inner in step.steps:  # each call names its user, inside a bulk operation too
                writer.user_id = user_for(inner)
                self._apply(writer, inner)
        elif step.op == "create":
            settings, content = partition(key[0], step.fields)
            if step.parent is None:
                writer.create_item(course, key[0], key[1], settings=settings, content=content)
            else:
                writer.create_child(course, step.parent, key[0], key[1], settings=settings, content=content,
                                    position=step.position)
        elif step.op == "update":
            settings, content = partition(key[0], step.fields)
            writer.update_item(course, key, settings=settings, content=content, deleted=step.unset)
        elif step.op == "delete":
            writer.delete_item(course, key)
        elif step.op == "move":
            if writer.update_item_parent(course, key, step.parent, insert_at=step.position) is None:
                from modulestore_compat.exceptions import ItemNotFoundError

                raise ItemNotFoundError(f"{course}: move {key} under {step.parent}")
        elif step.op == "publish":
            writer.publish(course, key)
        elif step.op == "unpublish":
            writer.unpublish(course, key)
        elif step.op == "discard":
            writer.revert_to_published(course, key)
        else:
            raise ValueError(f"unknown step {step.op!r}")

    def runtime_records(self):
        return None


class LearningCoreSide:
    name = "learning_core"

    def attach(self, course_key) -> None:
        self.course_key = course_key

    def has_course(self) -> bool:
        from lc_runtime.models import LcCourse

        return LcCourse.objects.filter(course_key=str(self.course_key)).exists()

    def setup(self, olx, course_key) -> None:
        from lc_runtime import api as lc_api
        from lc_runtime.stages import set_stage

        self.course_key = course_key
        lc_api.import_olx(olx, course_key=str(course_key))
        set_stage(course_key, "full", changed_by="authoring-conformance")

    def store(self):
        from modulestore_compat.facade.store import LearningCoreModuleStore

        return LearningCoreModuleStore()

    def versions(self) -> dict:
        """branch → what the facade's state of it is read from: Learning Core's newest log of the branch
        (any change makes a new one) and the branch's compile (a new structure id per compile)."""
        from modulestore_compat.facade.compiler import current_log_id
        from modulestore_compat.models import CompiledCourse

        from lc_runtime.models import LcCourse

        package = LcCourse.objects.filter(course_key=str(self.course_key)).values_list(
            "learning_package_id", flat=True).first()
        compiled = dict(CompiledCourse.objects.filter(course_key=str(self.course_key)).values_list(
            "branch", "structure_id"))
        return {branch: (current_log_id(package, name), compiled.get(name)) if package is not None else None
                for branch, name in (("draft", BranchName.draft), ("published", BranchName.published))}

    def apply(self, step: Step) -> None:
        from lc_runtime.authoring import api as authoring

        with committed():
            if step.op == "bulk":
                with authoring.bulk_operation(self.course_key, user_id=AUTHOR):
                    for inner in step.steps:
                        self._apply(authoring, inner)
            else:
                self._apply(authoring, step)

    def _apply(self, authoring, step: Step) -> None:
        usage = self.course_key.make_usage_key(*step.block)
        parent = self.course_key.make_usage_key(*step.parent) if step.parent else None
        user = user_for(step)
        if step.op == "create":
            authoring.create_block(self.course_key, step.block[0], user_id=user, parent=parent,
                                   block_id=step.block[1], fields=dict(step.fields), position=step.position)
        elif step.op == "update":
            authoring.update_block(usage, user_id=user, fields=dict(step.fields), unset=step.unset)
        elif step.op == "delete":
            authoring.delete_block(usage, user_id=user)
        elif step.op == "move":
            authoring.move_block(usage, parent, user_id=user, position=step.position)
        elif step.op == "publish":
            authoring.publish_block(usage, user_id=user)
        elif step.op == "unpublish":
            authoring.unpublish_block(usage, user_id=user)
        elif step.op == "discard":
            authoring.discard_changes(usage, user_id=user)
        else:
            raise ValueError(f"unknown step {step.op!r}")

    def runtime_records(self):
        """The Learning Core runtime's own view of the draft (block records by usage key)."""
        from lc_runtime.dump import lc_blocks
        from lc_runtime.runtime import LearningCoreRuntime

        from .state import block_facts

        return {record["usage_key"]: record for record in map(block_facts, lc_blocks(LearningCoreRuntime(
            self.course_key)))}


@contextmanager
def committed():
    """Run the step's on-commit work (recompile, ``course_published``) before reading back, also when
    the caller holds a transaction open (a test): what a real request sees after its commit."""
    from django.test import TestCase

    with TestCase.captureOnCommitCallbacks(execute=True):
        yield


__all__ = ["AUTHOR", "PUBLISHER", "LearningCoreSide", "RevisionOption", "SplitSide", "ensure_users"]
