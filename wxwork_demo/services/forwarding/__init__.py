"""Forwarding: each stored message delivered to the user's own application, signed, retried, never lost.

- signing.py: the contract's headers and HMAC-SHA256 signature;
- outbox.py: the `deliveries` rows (written with their message, services/inbox/store.py), claims with a
  lease, outcomes, backoff, replay, listing and counts;
- worker.py: delivery threads, one per target (keep-alive connections of their own), in the monitor's
  owner process and in `flask forward run`;
- probe.py: the signed test delivery of `POST /api/forward/test` and `flask forward test`.

May call: models, db, services/inbox (the Message body). Never the upstream.
"""
