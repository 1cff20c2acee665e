"""Simulator of the WeChat Work "iPad protocol" upstream (see /work/shared/upstream-api.md).

`create_simulator_app(settings)` builds the Flask app; `SimulatorServer` serves it on a real socket.
"""

from .app import create_simulator_app
from .server import SimulatorServer

__all__ = ["SimulatorServer", "create_simulator_app"]
