# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""GCS twin: gcp-storage-emulator (PyPI) as the engine, with the lab's request
log and fault injection around it, and what the emulator lacks and the roles
rely on: ifGenerationMatch preconditions (412), JSON error bodies on 404,
public access prevention refusing allUsers/allAuthenticatedUsers (412), and
uniform bucket-level access refusing object ACLs (400)."""

from __future__ import annotations

import hashlib
import io
import json
import re
import socket
import threading
import traceback
from functools import partial
from urllib.parse import parse_qs, quote, unquote, urlsplit

from gcp_storage_emulator.server import RequestHandler
from gcp_storage_emulator.storage import Storage

from .core import LabServer, start_request, write_json
from .gke import REGION_ZONES

OBJECT_RE = re.compile(r"^(?:/storage/v1)?/b/(?P<bucket>[^/]+)/o/(?P<object>[^/]+)(?P<acl>/acl(?:/.*)?)?$")
BUCKET_IAM_RE = re.compile(r"^(?:/storage/v1)?/b/(?P<bucket>[^/]+)/iam$")
BUCKETS_RE = re.compile(r"^(?:/storage/v1)?/b$")
BUCKET_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{1,61}[a-z0-9]$")
# Fields of a bucket insert that the emulator drops and the roles rely on.
INSERT_FIELDS = ("location", "storageClass", "labels", "versioning", "iamConfiguration")
# Where a bucket may be: a region GKE also has (gke.REGION_ZONES), or a multi-region or predefined dual-region
# (cloud.google.com/storage/docs/locations). Another location gets GCS's 400 (the XML API's words for
# InvalidLocationConstraint; the JSON API's exact wording is not known here).
BUCKET_LOCATIONS = frozenset(("us", "eu", "asia", "nam4", "eur4", "eur5", "eur7", "eur8", "asia1"))
UPLOAD_RE = re.compile(r"^/upload/storage/v1/b/(?P<bucket>[^/]+)/o$")
PUBLIC = ("allUsers", "allAuthenticatedUsers")


class Refusal(Exception):
    """An answer the real service gives that the emulator would not."""

    def __init__(self, code, message, reason):
        super().__init__(message)
        self.code, self.message, self.reason = code, message, reason

    def body(self):
        return {"error": {"code": self.code, "message": self.message,
                          "errors": [{"message": self.message, "domain": "global", "reason": self.reason}]}}


PRECONDITION = Refusal(412, "At least one of the pre-conditions you specified did not hold.", "conditionNotMet")


class LabStorage(Storage):
    """The emulator's storage, checking the request's ifGenerationMatch on every object write."""

    def __init__(self, *args, **kwargs):
        self.config_lock = threading.Lock()
        super().__init__(*args, **kwargs)
        self.request = threading.local()

    def _write_config_to_file(self):
        """The emulator rewrites its .meta file after every change, from whichever request thread made
        it; two at once interleave and leave a file the next start cannot parse (seen after parallel
        uploads then a lab restart). One writer at a time."""
        with self.config_lock:
            super()._write_config_to_file()

    def _object_path(self, bucket_name, file_name):
        """Where an object's bytes are kept on disk. GCS takes any name but "." and ".." (a/../b, a//b and a/./b
        are three objects); the emulator maps names onto paths, refusing ".." segments with an exception and
        folding the others together. Plain names keep the emulator's path; the others get one of their own."""
        segments = file_name.split("/")
        if file_name.startswith("/") or "\\" in file_name or any(s in ("", ".", "..") for s in segments):
            return "%s/.lab-names/%s" % (bucket_name, hashlib.sha256(file_name.encode("utf-8")).hexdigest())
        return super()._object_path(bucket_name, file_name)

    base_url = None

    def media_link(self, obj):
        """GCS's mediaLink: the object's name percent-encoded (the emulator leaves it raw, and a client then
        reads a/../b as b), on this server's address."""
        return "%s/download/storage/v1/b/%s/o/%s?generation=%s&alt=media" % (
            self.base_url, quote(obj["bucket"], safe=""), quote(obj["name"], safe=""), obj["generation"])

    def rebase_links(self, base_url):
        """Point every stored mediaLink at this server: the emulator keeps the address an object was written
        through, and a lab restarted on another port would hand out dead download links (GCS's never move)."""
        self.base_url = base_url
        for objects in self.objects.values():
            for obj in objects.values():
                if obj.get("mediaLink"):
                    obj["mediaLink"] = self.media_link(obj)

    def generation(self, bucket, name):
        obj = self.objects.get(bucket, {}).get(name)
        return int(obj["generation"]) if obj else 0

    def check_precondition(self, bucket, name):
        wanted = getattr(self.request, "if_generation_match", None)
        if wanted is not None and int(wanted) != self.generation(bucket, name):
            raise PRECONDITION

    def create_bucket(self, bucket_name, bucket_obj):
        metadata = getattr(self.request, "bucket_metadata", None)
        if metadata:  # an insert: keep what the caller asked for, as GCS does
            for key in INSERT_FIELDS:
                if metadata.get(key) is not None:
                    bucket_obj[key] = metadata[key]
            bucket_obj["location"] = str(bucket_obj.get("location") or "US").upper()
            bucket_obj["locationType"] = "region" if "-" in bucket_obj["location"] else "multi-region"
            config = bucket_obj.setdefault("iamConfiguration", {})
            config.setdefault("publicAccessPrevention", "inherited")
            config.setdefault("uniformBucketLevelAccess", {"enabled": False})
        return super().create_bucket(bucket_name, bucket_obj)

    def create_resumable_upload(self, bucket_name, file_name, file_obj):
        check_object_name(file_name)
        return super().create_resumable_upload(bucket_name, file_name, file_obj)

    def create_file(self, bucket_name, file_name, content, file_obj, file_id=None):
        check_object_name(file_name)
        self.check_precondition(bucket_name, file_name)
        created = super().create_file(bucket_name, file_name, content, file_obj, file_id)
        stored = self.objects.get(bucket_name, {}).get(file_name)
        if self.base_url and stored and stored.get("mediaLink"):
            stored["mediaLink"] = self.media_link(stored)
        return created


def check_object_name(name):
    """GCS's object naming rules (cloud.google.com/storage/docs/objects#naming): any UTF-8 name of up to 1024
    bytes, except "." and "..", names with a carriage return or line feed, and .well-known/acme-challenge/."""
    if name in (".", "..") or "\r" in name or "\n" in name or len(name.encode("utf-8")) > 1024 or \
            name.startswith(".well-known/acme-challenge/"):
        raise Refusal(400, "The object name is invalid: %r. See cloud.google.com/storage/docs/objects#naming."
                      % name[:100], "invalid")


class GcsHandler(RequestHandler):
    """The emulator's handler, logging every request and injecting faults."""

    protocol_version = "HTTP/1.1"
    _status = 0
    _pending_body = None

    def send_response(self, code, message=None):
        self._status = code
        super().send_response(code, message)

    def send_header(self, keyword, value):
        # The emulator answers 404 with an empty body; Google sends a JSON error.
        if self._status == 404 and keyword.lower() == "content-length" and str(value) == "0":
            self._pending_body = json.dumps({"error": {"code": 404, "message": "No such object or bucket.",
                                                       "errors": [{"message": "Not Found", "domain": "global",
                                                                   "reason": "notFound"}]}}).encode()
            super().send_header("Content-Type", "application/json; charset=UTF-8")
            value = str(len(self._pending_body))
        super().send_header(keyword, value)

    def end_headers(self):
        super().end_headers()
        if self._pending_body is not None:
            self.wfile.write(self._pending_body)
            self._pending_body = None

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        """The request log replaces the default stderr lines."""

    def send_error_body(self, code, body):
        write_json(self, code, body)

    def _drain(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def check_rules(self, method, path, query):
        """Refuse what real GCS refuses and the emulator accepts. Returns a request body read here, if any."""
        storage = self.server.storage
        match = OBJECT_RE.match(path)
        upload = UPLOAD_RE.match(path)
        if match:
            bucket, name = match.group("bucket"), unquote(match.group("object"))
            raw = self._drain() if method == "PATCH" else None
            sets_acl = match.group("acl") and method != "GET" or b'"acl"' in (raw or b"")
            if sets_acl and self._ubla(bucket):
                raise Refusal(400, "Cannot insert legacy ACL for an object when uniform bucket-level access is "
                                   "enabled. Read more at https://cloud.google.com/storage/docs/"
                                   "uniform-bucket-level-access", "invalid")
            if method == "DELETE" and "ifGenerationMatch" in query and \
                    int(query["ifGenerationMatch"]) != storage.generation(bucket, name):
                raise PRECONDITION
            return raw
        if BUCKETS_RE.match(path) and method == "POST":
            raw = self._drain()
            metadata = json.loads(raw or b"{}")
            if not BUCKET_NAME_RE.match(metadata.get("name") or ""):
                raise Refusal(400, "Invalid bucket name: '%s'" % (metadata.get("name") or ""), "invalid")
            location = str(metadata.get("location") or "US").lower()
            if location not in BUCKET_LOCATIONS and location not in REGION_ZONES:
                raise Refusal(400, "The specified location constraint is not valid.", "invalid")
            storage.request.bucket_metadata = metadata
            return raw
        if upload and "predefinedAcl" in query and self._ubla(upload.group("bucket")):
            raise Refusal(400, "Cannot use predefined ACLs when uniform bucket-level access is enabled.", "invalid")
        iam = BUCKET_IAM_RE.match(path)
        if iam and method == "PUT":
            raw = self._drain()
            bucket = storage.buckets.get(iam.group("bucket")) or {}
            pap = (bucket.get("iamConfiguration") or {}).get("publicAccessPrevention")
            members = [m for b in (json.loads(raw or b"{}").get("bindings") or []) for m in b.get("members") or []]
            if pap == "enforced" and any(m in PUBLIC for m in members):
                raise Refusal(412, "The member bindings allUsers and allAuthenticatedUsers are not allowed since "
                                   "public access prevention is enforced.", "conditionNotMet")
            iam_twin = self.server.iam
            for member in members:
                email = member.split(":", 1)[-1]
                if member.startswith("serviceAccount:") and email.endswith(".iam.gserviceaccount.com") and \
                        iam_twin is not None and not iam_twin.exists(email):
                    raise Refusal(400, "Service account %s does not exist." % email, "invalid")
            return raw
        return None

    def _ubla(self, bucket):
        config = (self.server.storage.buckets.get(bucket) or {}).get("iamConfiguration") or {}
        return bool((config.get("uniformBucketLevelAccess") or {}).get("enabled"))

    def _fault_then(self, method, handler):
        self._status = 0  # the handler serves one keep-alive connection's requests in turn
        parts = urlsplit(self.path)
        path = parts.path
        fault = start_request(self, method, path)
        if fault == "reset":
            return
        if fault in ("429", "500", "503"):
            self._drain()
            self.send_error_body(int(fault), {"error": {"code": int(fault), "message": "Injected fault.", "errors": [
                {"message": "Injected fault.", "domain": "global", "reason": "backendError"}]}})
            self._status = int(fault)
        else:
            query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
            storage = self.server.storage
            storage.request.if_generation_match = query.get("ifGenerationMatch")
            rfile = self.rfile
            wfile = self.wfile
            if fault == "lost":   # carried out, answered into nothing, then the connection drops
                self.wfile = io.BytesIO()
            try:
                raw = self.check_rules(method, path, query)
                if raw is not None:  # the body was read to check it: hand it on
                    self.rfile = _Replay(raw, self.rfile)
                handler()
            except Refusal as refusal:
                self.send_error_body(refusal.code, refusal.body())
            except Exception:  # pylint: disable=broad-except
                # A request the emulator cannot handle is answered (and logged) as GCS answers its own bugs,
                # not with a dropped connection that clients retry for two minutes.
                traceback.print_exc()
                self.close_connection = True
                if not self._status:
                    self.send_error_body(500, Refusal(500, "Internal error in the lab's storage emulator (see the "
                                                           "lab's log).", "backendError").body())
                    self._status = 500
            finally:
                storage.request.if_generation_match = storage.request.bucket_metadata = None
                self.rfile, self.wfile = rfile, wfile
                if fault == "lost":
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
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


class _Replay:
    """A request body already read, offered again to the emulator."""

    def __init__(self, data, rest):
        self.data, self.rest = data, rest

    def read(self, size=-1):
        if size is None or size < 0:
            data, self.data = self.data, b""
            return data
        data, self.data = self.data[:size], self.data[size:]
        return data

    def readline(self, size=-1):
        return self.rest.readline(size)


class GcsServer(LabServer):
    """The lab's server around the emulator's storage (on disk under data_dir)."""

    def __init__(self, address, data_dir, log, knobs, iam=None):
        self.storage = LabStorage(use_memory_fs=False, data_dir=data_dir)
        self.iam = iam
        super().__init__(address, partial(GcsHandler, self.storage), "gcs", log, knobs)
        self.storage.rebase_links(self.url)
