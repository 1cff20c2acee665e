"""Received media: which upstream action fetches a message's file (kinds.py), and fetching it once into the
instance folder, capped in size, then serving it from there (storage.py).

May call: the upstream client (through services/upstream_calls.py, so every download is an event) and the
filesystem. Knows nothing of HTTP requests; the caller passes the storage folder and the size cap.
"""
