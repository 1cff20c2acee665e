"""The console's own door: who is signed in, and how often a client may try the password.

Owns the `console_logins` and `signin_attempts` tables; calls nothing but the database.
"""
