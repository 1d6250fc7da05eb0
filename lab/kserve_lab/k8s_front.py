# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A cluster's public endpoint in front of its real kube-apiserver (control_plane.py).

GKE's control-plane address is Google's front end, not the API server's own socket; here the front is where the lab
does what it does for every API: each request is logged (service "k8s", with `dryRun` for dry runs, so the tests can
count writes) and may draw an injected fault (429, 500, 503, a reset connection, a slow answer), exactly as the
other twins do. Everything else is the API server's: the request goes on unchanged (the caller's bearer token
included: kube-apiserver authenticates it), and the answer comes back as sent, streamed for watches and followed
logs. TLS on both sides with the cluster's certificate and CA.

Not passed: protocol upgrades (exec, attach, port-forward), which kwok's simulated Pods could not serve anyway; the
front answers them 501 with a Status saying so.
"""

from __future__ import annotations

import http.client
import http.server
import json
import socket
import ssl
import threading
import urllib.parse

from .core import LabServer, start_request

# Hop-by-hop headers (RFC 9110 7.6.1) are the front's own; the rest pass both ways.
HOP_BY_HOP = frozenset(("connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding",
                        "upgrade", "host", "content-length"))
FAULT_STATUS = {"429": "TooManyRequests", "500": "InternalError", "503": "ServiceUnavailable"}


def failure(code, reason, message):
    """A metav1.Status, as the API server answers an error."""
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message,
            "reason": reason, "code": code}


class FrontHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "kserve-lab-front"

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        """The request log replaces the default stderr lines."""

    def _backend(self):
        """This handler thread's connection to kube-apiserver (kept alive between requests)."""
        local = self.server.local
        if getattr(local, "conn", None) is None:
            local.conn = http.client.HTTPSConnection(*self.server.backend, context=self.server.backend_tls,
                                                     timeout=None)
        return local.conn

    def _body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                chunk = self.rfile.read(size + 2)[:size]
                if not size:
                    break
                data += chunk
            return data
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _status(self, code, reason, message):
        data = json.dumps(failure(code, reason, message)).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _forward(self, method):
        parts = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(parts.query)
        body = self._body()
        fault = start_request(self, method, parts.path)
        if fault == "reset":
            return
        extra = {"fault": fault} if fault else {}
        if "All" in query.get("dryRun", []):
            extra["dryRun"] = True
        if fault in FAULT_STATUS:
            self.server.log.record("k8s", method, parts.path, int(fault), **extra)
            self._status(int(fault), FAULT_STATUS[fault], "injected fault")
            return
        if self.headers.get("Upgrade"):
            self.server.log.record("k8s", method, parts.path, 501, **extra)
            self._status(501, "NotImplemented", "the lab's front does not pass protocol upgrades (exec, attach, "
                                                "port-forward): kwok's simulated Pods run no processes")
            return
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
        headers["Host"] = "%s:%d" % self.server.backend
        watch = query.get("watch", [""])[-1] in ("1", "true") or query.get("follow", [""])[-1] == "true"
        try:
            answer = self._send(method, body, headers)
        except OSError as exc:
            self.server.log.record("k8s", method, parts.path, 503, **extra)
            self._status(503, "ServiceUnavailable", "kube-apiserver did not answer: %s" % exc)
            return
        self.server.log.record("k8s", method, parts.path, answer.status, **extra, **({"watch": True} if watch else {}))
        self.send_response(answer.status, answer.reason)
        for name, value in answer.getheaders():
            if name.lower() not in HOP_BY_HOP and name.lower() != "date":  # send_response wrote the front's Date
                self.send_header(name, value)
        if answer.chunked or answer.length is None:
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self._stream(answer)
        else:
            data = answer.read()
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    def _send(self, method, body, headers):
        """The request to kube-apiserver, once more on a fresh connection if the kept one had gone stale."""
        for attempt in (1, 2):
            conn = self._backend()
            try:
                conn.request(method, self.path, body=body or None, headers=headers)
                return conn.getresponse()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                conn.close()
                self.server.local.conn = None
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _stream(self, answer):
        """Pass a streamed answer (a watch, a followed log) on chunk by chunk until either side ends it."""
        try:
            while True:
                data = answer.read1(65536)
                if not data:
                    break
                self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
        except OSError:
            self.close_connection = True
            answer.close()
            self.server.local.conn = None

    def do_GET(self):  # noqa: N802 (http.server's naming)
        self._forward("GET")

    def do_POST(self):  # noqa: N802
        self._forward("POST")

    def do_PUT(self):  # noqa: N802
        self._forward("PUT")

    def do_PATCH(self):  # noqa: N802
        self._forward("PATCH")

    def do_DELETE(self):  # noqa: N802
        self._forward("DELETE")


class ApiFront(LabServer):
    """The endpoint `address` (TLS with certfile/keyfile) in front of kube-apiserver at `backend` (host, port),
    whose certificate `cafile` checks."""

    def __init__(self, address, backend, cafile, certfile, keyfile, log, knobs):
        super().__init__(address, FrontHandler, "k8s", log, knobs)
        self.backend = backend
        self.backend_tls = ssl.create_default_context(cafile=cafile)
        self.local = threading.local()
        self.tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.tls.load_cert_chain(certfile, keyfile)
        self.tls.set_alpn_protocols(["http/1.1"])

    @property
    def url(self):
        return "https://%s:%d" % self.server_address[:2]

    def finish_request(self, request, client_address):
        """The TLS handshake on the request's own thread (a slow client never holds up accept())."""
        request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            tls = self.tls.wrap_socket(request, server_side=True)
        except OSError:  # a client that gave up, or spoke something else
            return
        try:
            self.RequestHandlerClass(tls, client_address, self)
        finally:
            tls.close()
