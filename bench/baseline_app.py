"""The floor of this stack: a bare Flask endpoint that stores each callback with one PyMySQL INSERT.

No ORM, no pool, no checks: one autocommit INSERT per request on a connection kept per thread. Served by
the same gunicorn settings as the app (`gunicorn -c gunicorn.conf.py bench.baseline_app:app`), it is
what callback intake costs at the least on this machine; the app's figure is a ratio against it.

Reads BASELINE_DATABASE_URL (`mysql+pymysql://user[:password]@host:port/database`).
"""

from __future__ import annotations

import os
import threading

import pymysql
from flask import Flask, jsonify, request

from bench.database import FLOOR_TABLE, connect_args

app = Flask(__name__)
_local = threading.local()


def _connection() -> pymysql.connections.Connection:
    connection = getattr(_local, "connection", None)
    if connection is None:
        connection = pymysql.connect(**connect_args(os.environ["BASELINE_DATABASE_URL"]))
        _local.connection = connection
    return connection


@app.post("/callback/wxwork")
def receive():
    body = request.get_json(force=True)
    with _connection().cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {FLOOR_TABLE} (uuid, type, body) VALUES (%s, %s, %s)",
            (str(body.get("uuid", ""))[:64], int(body.get("type", 0)), request.get_data(as_text=True)),
        )
    return jsonify(errcode=0, errmsg="ok")


@app.get("/api/health")
def health():
    return jsonify(ok=True)
