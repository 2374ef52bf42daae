"""Learning Core as Split's persistence backend (``SplitMongoModuleStore.db_connection``); see api.py."""
