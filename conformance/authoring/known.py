"""Differences between the Split reference and Learning Core that are known and explained: reported
apart (in the report's "known" list) instead of counting. Each names the rule, the side that is wrong
and why it is not fixed here. Keep this list short: a fix removes its entry."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class KnownDifference:
    check: str  # the finding's check, e.g. "published.edit_info"
    details: tuple[str, ...] = ()  # the finding's detail (field) it covers; empty: any
    scenarios: tuple[str, ...] = ()  # the scenarios it covers; empty: any
    reason: str = ""

    def covers(self, scenario: str, finding) -> bool:
        return (finding.check == self.check and (not self.details or finding.detail in self.details)
                and (not self.scenarios or scenario in self.scenarios))


KNOWN_DIFFERENCES: tuple[KnownDifference, ...] = ()


def split_known(scenario: str, findings: list) -> tuple[list, list]:
    """``(counted, known)``."""
    counted, known = [], []
    for finding in findings:
        (known if any(k.covers(scenario, finding) for k in KNOWN_DIFFERENCES) else counted).append(finding)
    return counted, known
