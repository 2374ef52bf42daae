"""Split-compatible modulestore side of lc-runtime (issue #3 and #5): the Split document store, the
reference Split runtime and the read-only facade over Learning Core. Imports may use ``lc_runtime``;
``lc_runtime`` never imports this package.

Not built yet: this package holds no code until those issues land.
"""
