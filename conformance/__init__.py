"""Conformance suite (issue #4): the same checks against Split and Learning Core runtimes.
Imports flow conformance → modulestore_compat → lc_runtime, never back.

Not built yet: this package holds no code until that issue lands.
"""
