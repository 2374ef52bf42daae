"""Scenario steps as data: one Studio operation each, with explicit block ids so both sides name the same blocks.

Keys are ``(block_type, block_id)`` pairs inside the scenario's course; ``fields`` are JSON values
by field name (content and settings together, as Studio sends them).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

Key = tuple[str, str]


@dataclass(frozen=True)
class Step:
    op: str  # create, update, delete, move, publish, unpublish, discard, bulk
    block: Key | None = None
    parent: Key | None = None
    fields: dict[str, Any] = field(default_factory=dict)
    unset: tuple[str, ...] = ()
    position: int | None = None
    steps: tuple["Step", ...] = ()  # bulk

    def describe(self) -> str:
        if self.op == "bulk":
            return "bulk(" + "; ".join(s.describe() for s in self.steps) + ")"
        text = f"{self.op} {self.block[0]}/{self.block[1]}" if self.block else self.op
        if self.parent is not None:
            text += f" under {self.parent[0]}/{self.parent[1]}"
        if self.position is not None:
            text += f" at {self.position}"
        if self.fields:
            text += f" {self.fields}"
        if self.unset:
            text += f" unset {list(self.unset)}"
        return text


def create(block_type: str, block_id: str, parent: Key | None = None, position: int | None = None, **fields) -> Step:
    return Step("create", (block_type, block_id), parent=parent, fields=fields, position=position)


def update(block: Key, unset: tuple[str, ...] = (), **fields) -> Step:
    return Step("update", block, fields=fields, unset=tuple(unset))


def delete(block: Key) -> Step:
    return Step("delete", block)


def move(block: Key, parent: Key, position: int | None = None) -> Step:
    return Step("move", block, parent=parent, position=position)


def publish(block: Key) -> Step:
    return Step("publish", block)


def unpublish(block: Key) -> Step:
    return Step("unpublish", block)


def discard(block: Key) -> Step:
    return Step("discard", block)


def bulk(*steps: Step) -> Step:
    return Step("bulk", steps=tuple(steps))
