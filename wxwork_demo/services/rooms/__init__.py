"""The rooms (groups) an account is in, cached per account, and their members (upstream-api-more.md §3).

May call: instances, events, upstream_calls.
"""
