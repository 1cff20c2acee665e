"""Forwarding over HTTP: `GET /api/deliveries`, `POST /api/deliveries/replay`, `POST /api/forward/test`."""

from __future__ import annotations

from flask import Blueprint

from wxwork_demo.blueprints.edge import READS, WRITES, endpoint
from wxwork_demo.config import current_settings
from wxwork_demo.contract import forwarding as contract
from wxwork_demo.contract.monitor import NoBody
from wxwork_demo.services.forwarding import probe, reports

bp = Blueprint("forwarding", __name__, url_prefix="/api")


@bp.get("/deliveries")
@endpoint(query=contract.DeliveriesQuery, reply=contract.Deliveries, errors=("400", *READS))
def list_deliveries(query: contract.DeliveriesQuery) -> contract.Deliveries:
    """Forwarding deliveries, newest first, with the counts per status and each target's last error"""
    found = reports.deliveries(query.status, query.target or None, query.after, query.limit)
    return contract.Deliveries.model_validate(found)


@bp.post("/deliveries/replay")
@endpoint(body=contract.ReplayBody, reply=contract.Replayed, errors=WRITES, body_required=True)
def replay(body: contract.ReplayBody) -> contract.Replayed:
    """Deliver again (same delivery id, a fresh count of attempts)"""
    return contract.Replayed(requeued=reports.replay(body.ids, body.status))


@bp.post("/forward/test")
@endpoint(body=NoBody, reply=contract.ForwardTest, errors=(*WRITES, "409"))
def forward_test(body: NoBody) -> contract.ForwardTest:
    """Send a signed test delivery (type 0) to every target now"""
    results = probe.send_test(current_settings())
    targets = [contract.ProbeResult.model_validate(result) for result in results]
    return contract.ForwardTest(ok=bool(results) and all(r["error"] == "" for r in results), targets=targets)
