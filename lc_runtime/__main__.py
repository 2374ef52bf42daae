"""``python -m lc_runtime`` is the ``lc-runtime`` command."""
from .cli import main

raise SystemExit(main())
