"""Warnings the centre issues to the public (issue 15): CAP 1.2, the Chinese profile."""
