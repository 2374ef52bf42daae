"""Public API of the LMS binding harness (see the package docstring and harness.py)."""
from __future__ import annotations

from .checks import DEFAULT_FLOW_CAP, LmsCounts, compare_key_derived, compare_learner_flows, compare_lms, \
    compare_lms_rendering
from .flows import FLOWS, LEARNER, LearnerFlowError, NotExercisable, done_flow, key_derived_values, poll_flow, \
    problem_flow
from .harness import LmsRequest, lms_request, strip_block_keys, strip_collection, stripped
from .services import AssetUrls, EventCollector, LmsUserService, PublishedEvent, lms_field_data, lms_services

__all__ = [
    "DEFAULT_FLOW_CAP", "FLOWS", "LEARNER", "AssetUrls", "EventCollector", "LearnerFlowError", "LmsCounts",
    "LmsRequest", "LmsUserService", "NotExercisable", "PublishedEvent", "compare_key_derived",
    "compare_learner_flows", "compare_lms", "compare_lms_rendering", "done_flow", "key_derived_values",
    "lms_field_data", "lms_request", "lms_services", "poll_flow", "problem_flow", "strip_block_keys",
    "strip_collection", "stripped",
]
