"""The webhook's intake: parse, authenticate, de-duplicate and store upstream callbacks before answering them.

Owns the group commit, the dedup keys and the refusal counters. May call: instances, events, models, db.
"""
