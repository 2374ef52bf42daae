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
