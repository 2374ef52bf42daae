"""Delete a learning package with everything in it (Learning Core has no API for this).

Learning Core protects history with RESTRICT foreign keys, so the rows that point across entities
(entity list rows, side effects) are deleted first, then the package cascades.
"""
from __future__ import annotations

from django.db import transaction
from openedx_content.models_api import (
    DraftSideEffect,
    EntityListRow,
    LearningPackage,
    PublishSideEffect,
)


def purge_learning_package(learning_package_id: int) -> None:
    with transaction.atomic():
        EntityListRow.objects.filter(entity__learning_package_id=learning_package_id).delete()
        DraftSideEffect.objects.filter(cause__entity__learning_package_id=learning_package_id).delete()
        PublishSideEffect.objects.filter(cause__entity__learning_package_id=learning_package_id).delete()
        LearningPackage.objects.filter(id=learning_package_id).delete()
