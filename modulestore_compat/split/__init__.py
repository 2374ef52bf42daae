"""The Split reference store: Split's documents, writer, read runtime and dump, built from Split's documented behaviour."""
