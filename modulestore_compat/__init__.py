"""Split-compatible modulestore side of lc-runtime: Split documents (MongoDB or embedded), a writer,
the reference Split runtime and Split's ModuleStoreRead API (``api.py``). The read-only facade over
Learning Core (issue #5) will live here too. Imports may use ``lc_runtime``; never the reverse.
"""
