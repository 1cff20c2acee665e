"""Received media: which upstream action fetches a message's file (kinds.py), and fetching it once into the
instance folder, capped in size, then serving it from there (storage.py); the file of a stored message for
GET /api/messages/<id>/media, and the retention of what is kept (messages.py).

May call: the upstream client (through services/upstream_calls.py, so every download is an event), the
filesystem, and (messages.py) the inbox and instances. Knows nothing of HTTP requests; the caller passes the
storage folder and the size cap.
"""
