"""What the app does, as plain functions called by views, CLI commands and scheduled jobs.

Grouped by capability, one package each: `instances/` (the accounts' upstream instances), `login/`, `intake/`
(the webhook), `monitor/` (keeping accounts online), `business/` (sending, contacts), `rooms/`, `friends/`,
`media/` (received files, fetched once and kept), `operations/` (what an operator watches: readiness,
metrics). Shared by all of them:
`events.py` (the events log), `upstream_calls.py` (calling the one upstream client and recording the outcome)
and `secrets.py`. Data flows one way: views and commands call services; services call models, db and the
upstream client, never `flask.request`.
"""
