"""The ``split`` column of ``lc-runtime bench import``: ``split import-olx`` (OLX → the Split reference).

Run as ``python -m modulestore_compat.split.import_bench DB OLX`` by :mod:`lc_runtime.import_bench`,
one process per course on a fresh database: read and parse the OLX, write definitions, the draft
structure, its publish and the course files, in one transaction.
"""
from __future__ import annotations

import json
import resource
import sys
import time


def measure_split_import(olx: str) -> dict:
    from django.db import transaction

    from lc_runtime.bench import counting_queries
    from lc_runtime.olx.reader import read_course

    from modulestore_compat.api import SplitWriter, document_store

    read_course(olx)  # load the block classes: a one-time cost of any process, not of an import
    started = time.perf_counter()
    with counting_queries() as counter, transaction.atomic():
        tree = read_course(olx)
        read = time.perf_counter() - started
        SplitWriter(document_store()).import_tree(tree)
    seconds = time.perf_counter() - started
    blocks = len(tree.blocks) + len(tree.drafts)
    return {"path": "split", "blocks": blocks, "seconds": round(seconds, 3), "read_seconds": round(read, 3),
            "write_seconds": round(seconds - read, 3), "blocks_per_second": round(blocks / seconds, 1),
            "write_blocks_per_second": round(blocks / (seconds - read), 1), "sql_queries": counter["queries"],
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}


if __name__ == "__main__":
    from lc_runtime import bootstrap

    bootstrap.setup(sys.argv[1])
    print(json.dumps(measure_split_import(sys.argv[2])))
