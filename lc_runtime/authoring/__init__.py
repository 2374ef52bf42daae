"""Studio's authoring operations over Learning Core with Split's semantics (public API: ``api.py``)."""
