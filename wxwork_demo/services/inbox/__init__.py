"""The inbox: every acknowledged message callback kept as a `messages` row, queried by the API and the console.

- parsing.py: a callback payload → the columns of its `messages` row (the contract's `Message` fields);
- store.py: the rows written inside the intake's group commit (with their outbox rows and the account's
  last `server_id`), and alone when a batch cannot take them;
- queries.py: `GET /api/messages`, `/api/messages/<id>`, `/api/conversations`;
- retention.py: rows older than MESSAGE_RETENTION_DAYS deleted in the background, in small chunks.

May call: models, db, services/instances (which account a uuid is). Never the upstream.
"""
