"""A MAST-compatible HTTP server for tests: portal API, SANTA resolver and downloads on 127.0.0.1."""

from .faults import Fault
from .server import MastServer, RequestRecord

__all__ = ["Fault", "MastServer", "RequestRecord"]
