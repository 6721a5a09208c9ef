"""The photos reports carry (随手拍, issue 15): checked and re-encoded (images.py), kept in a
folder or an S3-compatible store (storage.py)."""
