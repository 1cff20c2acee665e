"""MySQL connections on the loopback skip TLS: PyMySQL 1.2 otherwise builds a TLS context for every new
connection (TLS "preferred"), loading the system's certificate authorities: 24 ms of CPU per connection here,
against 0.35 ms without, for a server that offers no TLS anyway. Under gevent that CPU blocks the whole
worker: while a burst of business calls opened connections, callbacks waited up to 10 s (issue 11, point 9).
A remote server keeps PyMySQL's default, and TLS options in the URL are the user's choice, kept as given."""

from __future__ import annotations

import pytest

from wxwork_demo.db import make_engine, mysql_tls_args


def test_a_loopback_mysql_connection_builds_no_tls_context(mysql_database_url):
    engine = make_engine(mysql_database_url)
    try:
        with engine.connect() as connection:
            driver = connection.connection.dbapi_connection
            assert driver.ssl is False and getattr(driver, "ctx", None) is None
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    ("url", "args"),
    [
        ("mysql+pymysql://root@127.0.0.1:3306/app", {"ssl_disabled": True}),
        ("mysql+pymysql://root@localhost/app", {"ssl_disabled": True}),
        ("mysql+pymysql://root@[::1]:3306/app", {"ssl_disabled": True}),
        ("mysql+pymysql://root@/app?unix_socket=/run/mysqld/mysqld.sock", {"ssl_disabled": True}),
        ("mysql+pymysql://app:secret@db.internal:3306/app", {}),
        ("mysql+pymysql://root@127.0.0.1/app?ssl_ca=/etc/ca.pem", {}),
        ("mysql+pymysql://root@127.0.0.1/app?ssl_disabled=false", {}),
    ],
)
def test_tls_is_left_to_pymysql_beyond_the_loopback_and_when_the_url_asks(url, args):
    assert mysql_tls_args(url) == args
