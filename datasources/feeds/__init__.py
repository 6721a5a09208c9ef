"""Vehicle feeds: GTFS-Realtime, GTFS static, JT/T 808."""
