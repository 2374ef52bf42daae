"""Course roles of the authoring REST API (viewer, author, publisher, admin), per course and per org."""
