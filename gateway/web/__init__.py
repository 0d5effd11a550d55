"""The property manager's console: web pages served by the gateway on the office network."""

from gateway.web.app import Console
from gateway.web.server import serve

__all__ = ["Console", "serve"]
