"""Authoring conformance (#11): every scenario gives the same state on the Split reference and on
Learning Core after every step; and the runner reports a wrong behaviour when one side has one."""
from __future__ import annotations

import pytest

from conformance.authoring.api import SCENARIOS, AuthoringSession


@pytest.fixture(scope="module")
def session():
    """The base course on both sides, imported once (committed); each scenario is rolled back."""
    return AuthoringSession().setup()


def explain(findings) -> str:
    return "\n".join(f"step {f.step} ({f.operation}) {f.check} {f.block} {f.detail}: "
                     f"split={f.split!r} lc={f.learning_core!r}" for f in findings[:15])


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_scenario(session, scenario):
    result = session.run(scenario)
    assert result.findings == [], explain(result.findings)
