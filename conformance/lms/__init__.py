"""The LMS binding harness: what the LMS does to a block it gets from a modulestore, replayed standalone
(prepare the runtime for a learner, bind, render through the LMS's wrappers, call handlers, next request
from a new store), and the ``lms.*`` conformance checks built on it. Public API: :mod:`.api`."""
