"""Keeping accounts online: the scheduler, its database lease, the per-account checks, reconnects and alerts.

May call: instances, login.callback_url, events, upstream_calls.
"""
