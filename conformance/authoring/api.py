"""Public API of the authoring conformance suite."""
from __future__ import annotations

from .report import AuthoringReport, run_all
from .runner import AuthoringSession, Finding, ScenarioResult, run_scenario
from .scenarios import SCENARIOS, Scenario
from .steps import Step, bulk, create, delete, discard, move, publish, unpublish, update

__all__ = [
    "AuthoringReport", "AuthoringSession", "Finding", "SCENARIOS", "Scenario", "ScenarioResult", "Step", "bulk", "create", "delete",
    "discard", "move", "publish", "run_all", "run_scenario", "unpublish", "update",
]
