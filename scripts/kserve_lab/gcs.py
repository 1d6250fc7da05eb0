# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""GCS twin: gcp-storage-emulator (PyPI) as the engine, with the lab's request
log and fault injection around it."""

from __future__ import annotations

from functools import partial
from urllib.parse import urlsplit

from gcp_storage_emulator.server import RequestHandler
from gcp_storage_emulator.storage import Storage

from .core import LabServer, start_request


class GcsHandler(RequestHandler):
    """The emulator's handler, logging every request and injecting faults."""

    protocol_version = "HTTP/1.1"
    _status = 0

    def send_response(self, code, message=None):
        self._status = code
        super().send_response(code, message)

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        """The request log replaces the default stderr lines."""

    def _fault_then(self, method, handler):
        path = urlsplit(self.path).path
        fault = start_request(self, method, path)
        if fault == "reset":
            return
        if fault in ("429", "500", "503"):
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            body = ('{"error": {"code": %s, "message": "Injected fault.", "errors": [{"message": "Injected fault.",'
                    ' "domain": "global", "reason": "backendError"}]}}' % fault).encode()
            self.send_response(int(fault))
            self.send_header("Content-Type", "application/json; charset=UTF-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        else:
            handler()
        self.server.log.record("gcs", method, path, self._status, **({"fault": fault} if fault else {}))

    def do_GET(self):  # noqa: N802
        self._fault_then("GET", super().do_GET)

    def do_POST(self):  # noqa: N802
        self._fault_then("POST", super().do_POST)

    def do_PUT(self):  # noqa: N802
        self._fault_then("PUT", super().do_PUT)

    def do_PATCH(self):  # noqa: N802
        self._fault_then("PATCH", super().do_PATCH)

    def do_DELETE(self):  # noqa: N802
        self._fault_then("DELETE", super().do_DELETE)


class GcsServer(LabServer):
    """The lab's server around the emulator's storage (on disk under data_dir)."""

    def __init__(self, address, data_dir, log, knobs):
        self.storage = Storage(use_memory_fs=False, data_dir=data_dir)
        super().__init__(address, partial(GcsHandler, self.storage), "gcs", log, knobs)
