"""The monitor's switch."""

from __future__ import annotations

from wxwork_demo.contract.base import Body, Part
from wxwork_demo.contract.common import Reply


class NoBody(Body):
    """Nothing to read (a malformed or oversized body is still refused)."""


class Started(Part):
    enabled: bool
    interval_ms: int


class Stopped(Part):
    enabled: bool


class MonitorStarted(Reply):
    monitor: Started


class MonitorStopped(Reply):
    monitor: Stopped
