"""Private local database and broker servers (MariaDB, Redis) for tests and benchmarks: started on a
free port under a temporary directory, torn down afterwards. See :mod:`.api`."""
