"""The celery app of batch migration, for standalone sites: ``celery -A conformance.worker worker``.

Settings come from Django's (``CELERY_*``; the standalone settings read ``LC_RUNTIME_CELERY_BROKER``),
the database from ``LC_RUNTIME_DB`` as for every lc-runtime command. Inside edx-platform the
platform's own celery app runs the task instead (add ``conformance.tasks`` to ``CELERY_IMPORTS``).
"""
from __future__ import annotations

from celery import Celery
from celery.signals import worker_init, worker_process_init

from lc_runtime import bootstrap

bootstrap.setup()

app = Celery("lc_runtime")
app.config_from_object("django.conf:settings", namespace="CELERY")
# One course at a time per worker process: a long course never holds others back in a prefetch buffer.
app.conf.worker_prefetch_multiplier = 1
app.conf.task_default_queue = "lc_runtime.migrate"

import conformance.migration  # noqa: E402,F401 - imported once here, not again in every pool process
import conformance.tasks  # noqa: E402,F401 - registers lc_runtime.migrate_course on this app


#: Block types of nearly every course: their classes (capa alone imports for ~15 s) are loaded once in the
#: worker's main process, so each pool process, and each one started after a pool process died, forks warm.
COMMON_BLOCK_TYPES = ("course", "chapter", "sequential", "vertical", "html", "problem", "video", "discussion")


def _warm_up() -> None:
    from lc_runtime.blocks.registry import block_class_info
    from modulestore_compat.split.fields import mixed_class

    for block_type in COMMON_BLOCK_TYPES:
        block_class_info(block_type)
        mixed_class(block_type)


def _forget_inherited_connections():
    """The parent opened the database (migrations check) before forking its pool processes: a child
    must open its own connections, never reuse the parent's sockets or SQLite handles."""
    from django.db import connections

    connections.close_all()


def _before_forking(**kwargs) -> None:
    _warm_up()
    _forget_inherited_connections()


# In a worker's main process only (not in `lc-runtime migrate`, which imports this module to enqueue).
worker_init.connect(_before_forking, weak=False)
worker_process_init.connect(lambda **kwargs: _forget_inherited_connections(), weak=False)
