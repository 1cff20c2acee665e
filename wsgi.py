"""gunicorn entry point: `gunicorn wsgi:app` (see gunicorn.conf.py)."""

from wxwork_demo import create_app

app = create_app()
