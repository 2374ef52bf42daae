"""lc-runtime: Open edX courses served from Learning Core."""

__version__ = "0.1.0"
