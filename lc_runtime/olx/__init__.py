"""OLX in and out: reading course exports into a :class:`~lc_runtime.data.CourseTree`, writing them back."""
