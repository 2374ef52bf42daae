"""Authoring conformance: the same edits on the Split reference and on Learning Core, compared after each step."""
