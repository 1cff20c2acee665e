"""Upstream instances of accounts: the `sessions` rows, their states and their sealed proxy settings.

Owns the `Instance` model's reads and writes. May call: models, db, events. Called by every other capability.
"""
