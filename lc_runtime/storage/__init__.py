"""Learning Core storage of courses: writing a CourseTree, reading branch snapshots, versioned edits."""
