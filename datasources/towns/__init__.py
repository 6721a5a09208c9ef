"""The towns' data folders (demo/) and the readers of their files."""
