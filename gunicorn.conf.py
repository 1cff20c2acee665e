"""gunicorn settings for `gunicorn -c gunicorn.conf.py wsgi:app` in a clone: the package's own
(wxwork_demo/gunicorn_conf.py), which an installed app uses too (`wxwork serve`)."""

from wxwork_demo.gunicorn_conf import *  # noqa: F403
