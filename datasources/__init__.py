"""Everything that touches the outside: SQL store, Redis bus, simulator, ingest."""
