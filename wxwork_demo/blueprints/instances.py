"""Instances as the console manages them: the default one, deleting one, and a person's help when an account
needs it."""

from __future__ import annotations

from flask import Blueprint

from wxwork_demo.blueprints.edge import UPSTREAM, WRITES, endpoint
from wxwork_demo.contract import instances as contract
from wxwork_demo.services.instances.closing import delete_instance
from wxwork_demo.services.instances.registry import activate_instance, instance_info
from wxwork_demo.services.monitor import by_person

bp = Blueprint("sessions", __name__, url_prefix="/api/sessions")


@bp.post("/activate")
@endpoint(body=contract.RequiredUuidBody, reply=contract.Activated, errors=(*WRITES, "404"))
def activate(body: contract.RequiredUuidBody) -> contract.Activated:
    """Make an instance the active one (the default of every `uuid`)"""
    return contract.Activated(active=instance_info(activate_instance(body.uuid)))


@bp.post("/reconnect")
@endpoint(body=contract.RequiredUuidBody, reply=contract.Reconnected, errors=(*WRITES, "404"))
def reconnect_now(body: contract.RequiredUuidBody) -> contract.Reconnected:
    """Bring a known account back now: init(vid), SetCallbackUrl, automaticLogin (else a new QR code)"""
    return by_person.reconnect_now(body.uuid)


@bp.post("/secondary-validation")
@endpoint(body=contract.RequiredUuidBody, reply=contract.SecondaryValidation, errors=(*WRITES, "404", "409"))
def secondary_validation(body: contract.RequiredUuidBody) -> contract.SecondaryValidation:
    """Fetch a new SecondaryValidation QR code for an account waiting for secondary verification"""
    return by_person.renew_secondary_validation(body.uuid)


@bp.post("/delete")
@endpoint(body=contract.DeleteBody, reply=contract.Deleted, errors=UPSTREAM)
def delete(body: contract.DeleteBody) -> contract.Deleted:
    """Close an instance upstream (CloseConnent) and delete its row; `force` deletes it even when the upstream
    cannot be asked"""
    return delete_instance(body.uuid, force=body.force, by="api")
