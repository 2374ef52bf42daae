"""The course authoring REST API (#12): Django REST Framework views over lc_runtime.authoring.permitted."""
