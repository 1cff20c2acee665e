"""gunicorn settings of the benchmark's upstream simulator: one process (shared state), many threads."""

import os

bind = os.environ["SIM_BIND"]
workers = 1
worker_class = "gthread"
threads = int(os.environ.get("SIM_THREADS", "64"))
backlog = 2048
keepalive = 30
timeout = 120
accesslog = None
errorlog = "-"
loglevel = "warning"
