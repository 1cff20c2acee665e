"""Friend requests to an account: recorded from callback 116001 and GetApplyUserList, accepted with AgreeUser
(upstream-api-more.md §4).

May call: instances, events, upstream_calls.
"""
