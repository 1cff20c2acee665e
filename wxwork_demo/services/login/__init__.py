"""The login flow: init, SetCallbackUrl, getQrCode, CheckCode, automaticLogin and the status refresh.

May call: instances, events, upstream_calls (the one upstream client), monitor.reconnect (to schedule one).
"""
