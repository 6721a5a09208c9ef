"""Geometry, pure: distances, grid lookup, GCJ-02 conversion."""
