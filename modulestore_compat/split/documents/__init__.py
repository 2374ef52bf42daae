"""Split's three document kinds (course index, structures, definitions) behind one interface."""
