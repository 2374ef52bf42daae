"""Imports flow conformance → modulestore_compat → lc_runtime, never back (the .importlinter contract).

Inside modulestore_compat, the facade reuses the Split reference (as inside the platform it reuses edx's
Split store), never the other way: the reference must not depend on what it judges.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
FORBIDDEN = {
    "lc_runtime": ("modulestore_compat", "conformance"),
    "modulestore_compat": ("conformance",),
    "modulestore_compat/split": ("conformance", "modulestore_compat.facade"),
}


def imported_modules(path: Path):
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_no_upward_imports(package):
    offenders = []
    for path in (REPO / package).rglob("*.py"):
        for module in imported_modules(path):
            if any(module == banned or module.startswith(banned + ".") for banned in FORBIDDEN[package]):
                offenders.append(f"{path.relative_to(REPO)} imports {module}")
    assert not offenders, offenders


#: What the Split reference must not share with the runtime it judges (issue #15, ADR 0012): its
#: key-value store, inheritance, mixin declarations and dump producer are its own.
REFERENCE_MAY_NOT_USE = ("lc_runtime.keyvalue", "lc_runtime.fielddata", "lc_runtime.dump", "lc_runtime.blocks.mixins",
                         "lc_runtime.blocks.schema")


def test_the_split_reference_does_not_share_what_it_judges():
    offenders = []
    for path in (REPO / "modulestore_compat" / "split").rglob("*.py"):
        for module in imported_modules(path):
            if any(module == banned or module.startswith(banned + ".") for banned in REFERENCE_MAY_NOT_USE):
                offenders.append(f"{path.relative_to(REPO)} imports {module}")
    assert not offenders, offenders


def test_the_learning_core_side_of_queries_does_not_use_the_reference_matcher():
    """``conformance.lc_queries`` answers get_items for Learning Core: the reference's matcher would hide its bugs."""
    modules = set(imported_modules(REPO / "conformance" / "lc_queries.py"))
    assert not {m for m in modules if m.startswith("modulestore_compat")}, modules
    assert "modulestore_compat.split.matching" not in set(imported_modules(REPO / "conformance" / "adapters.py"))
