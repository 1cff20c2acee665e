"""The upstream simulator as a WSGI app for gunicorn (`bench/gunicorn_sim.conf.py`).

The simulator keeps its instances in memory, so it runs as one gunicorn process with many threads:
its latency fault waits without holding the GIL, so 64 threads serve 64 delayed calls at once.
"""

from wxwork_demo.simulator import create_simulator_app

# 500 rooms per account for bench/send_more.py (generated only for an account whose rooms are asked for).
app = create_simulator_app({"contacts_inner_people": 20, "contacts_external": 20, "rooms_per_account": 500})
