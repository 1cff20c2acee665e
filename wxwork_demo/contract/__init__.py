"""The models of the local API: what each endpoint reads and answers (`local-api.md`).

Plain pydantic models, importing nothing from the app: the views validate requests with them
(`blueprints/edge.py`), the services return them, and the OpenAPI document is generated from them.
"""
