"""What an online account does for its user: send messages, read contacts.

May call: instances, events, upstream_calls.
"""
