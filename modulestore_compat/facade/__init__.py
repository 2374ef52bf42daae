"""The read-only facade: Learning Core compiled into Split-shaped documents and served through Split's read API."""
