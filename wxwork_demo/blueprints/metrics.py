"""GET /metrics: Prometheus' text format, behind the API's access control (services/operations/metrics.py)."""

from __future__ import annotations

from flask import Blueprint, Response

from wxwork_demo.services.operations.metrics import CONTENT_TYPE, render_metrics

bp = Blueprint("metrics", __name__)


@bp.get("/metrics")
def metrics() -> Response:
    """Counters and gauges for Prometheus"""
    return Response(render_metrics(), content_type=CONTENT_TYPE)
