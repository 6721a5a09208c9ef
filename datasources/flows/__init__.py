"""Commit-then-announce steps: intake, the resource desk, the bus tracker, housekeeping."""
