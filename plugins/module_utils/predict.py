# -*- coding: utf-8 -*-
# Copyright (c) 2026, kserve_gke contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Inference calls to a served model: the walk-through's image preprocessing without
TensorFlow, V1 (TF Serving / KServe) and V2 (Open Inference Protocol) payloads,
readiness, and answers read back into scores and labels.

Pure functions first (unit tested with tables); `Client` at the end does the HTTP,
on one requests Session (connection reuse) with bounded concurrency.
"""

from __future__ import annotations

import json
import math
import time
from concurrent.futures import ThreadPoolExecutor

try:
    from PIL import Image
    HAS_PIL = True
except ImportError:  # reported by the module through missing_required_lib
    HAS_PIL = False

try:
    import requests
    from requests.adapters import HTTPAdapter
    from urllib3.util.retry import Retry
    HAS_REQUESTS = True
except ImportError:
    HAS_REQUESTS = False

PROTOCOLS = ("v1", "v2")


class PredictError(Exception):
    """A failure with a message a user can act on."""


# --- inputs -------------------------------------------------------------------------------
def image_tensor(path, size=(128, 128), scale=1.0 / 255.0):
    """A picture as the walk-through feeds it: RGB, resized (bilinear), scaled; rows of [r, g, b]."""
    try:
        with Image.open(path) as image:
            resized = image.convert("RGB").resize(tuple(size), Image.BILINEAR)
    except (OSError, ValueError) as exc:
        raise PredictError("%s is not a picture Pillow can read: %s" % (path, exc)) from exc
    width, height = resized.size
    flat = [value * scale for value in resized.tobytes()]   # RGB bytes, row by row
    row = width * 3
    return [[flat[y * row + x * 3:y * row + x * 3 + 3] for x in range(width)] for y in range(height)]


def shape_of(tensor):
    shape = []
    while isinstance(tensor, list):
        shape.append(len(tensor))
        tensor = tensor[0] if tensor else None
    return shape


def flatten(tensor):
    if not isinstance(tensor, list):
        return [tensor]
    return [value for item in tensor for value in flatten(item)]


def request_body(protocol, tensors, input_name, layout="rows", datatype="FP32"):
    """The body of one predict call for a batch of tensors."""
    if protocol == "v1":
        if layout == "columns":
            return {"inputs": {input_name: tensors} if input_name else tensors}
        return {"instances": [{input_name: t} for t in tensors] if input_name else list(tensors)}
    if protocol == "v2":
        return {"inputs": [{"name": input_name or "input-0", "shape": [len(tensors)] + shape_of(tensors[0]),
                            "datatype": datatype, "data": flatten(list(tensors))}]}
    raise PredictError("protocol %r is not one of %s" % (protocol, ", ".join(PROTOCOLS)))


# --- answers ------------------------------------------------------------------------------
def _server_message(status, text):
    try:
        body = json.loads(text)
    except ValueError:
        return text.strip()[:500] or "HTTP %d with an empty body" % status
    if isinstance(body, dict):
        for key in ("error", "detail", "message"):
            if body.get(key):
                return str(body[key])
    return text.strip()[:500]


def _reshape(data, shape):
    if len(shape) <= 1:
        return list(data)
    step = len(data) // shape[0] if shape[0] else 0
    return [_reshape(data[i * step:(i + 1) * step], shape[1:]) for i in range(shape[0])]


def read_predictions(protocol, status, text, output_name=None):
    """The score rows of a predict answer; PredictError with the server's own message otherwise."""
    if status != 200:
        raise PredictError("the model server answered HTTP %d: %s" % (status, _server_message(status, text)))
    try:
        body = json.loads(text)
    except ValueError as exc:
        raise PredictError("the model server's answer is not JSON: %s" % text[:200]) from exc
    if isinstance(body, dict) and body.get("error"):
        raise PredictError("the model server refused the request: %s" % body["error"])
    if protocol == "v1":
        rows = body.get("predictions", body.get("outputs"))
        if rows is None:
            raise PredictError("the answer has neither 'predictions' nor 'outputs': %s" % text[:200])
        if isinstance(rows, dict):   # columnar, several outputs
            rows = rows[output_name] if output_name else next(iter(rows.values()))
        return [row[output_name] if isinstance(row, dict) and output_name else
                (next(iter(row.values())) if isinstance(row, dict) else row) for row in rows]
    outputs = body.get("outputs") or []
    if not outputs:
        raise PredictError("the V2 answer has no 'outputs': %s" % text[:200])
    chosen = next((o for o in outputs if o.get("name") == output_name), outputs[0]) if output_name else outputs[0]
    return _reshape(chosen.get("data") or [], chosen.get("shape") or [len(chosen.get("data") or [])])


def label_of(scores, labels):
    """(index, label) of the highest score; the label is None when labels do not cover it."""
    values = flatten(scores)
    if not values:
        raise PredictError("an empty prediction cannot be labelled")
    index = max(range(len(values)), key=values.__getitem__)
    return index, (labels[index] if labels and index < len(labels) else None)


def check_expected(expected, count):
    """Expected labels, when given, name one label per input."""
    if expected and len(expected) != count:
        raise PredictError("expected names %d labels for %d inputs; give one per input" % (len(expected), count))


def mismatches(inputs, labels, expected):
    """[{input, expected, label}] where a label differs from the one expected (lists in the same order)."""
    check_expected(expected, len(labels))
    return [{"input": item, "expected": want, "label": got}
            for item, want, got in zip(inputs, expected, labels) if str(want) != str(got)]


def ready_from(protocol, status, text):
    """(ready, detail) from a readiness answer: TF Serving's model_version_status, KServe's `ready`."""
    if status != 200:
        return False, "HTTP %d: %s" % (status, _server_message(status, text))
    try:
        body = json.loads(text) if text.strip() else {}
    except ValueError:
        return False, "not JSON: %s" % text[:200]
    if "model_version_status" in body:
        states = [v.get("state") for v in body["model_version_status"]]
        errors = [v.get("status", {}).get("error_message") for v in body["model_version_status"]
                  if v.get("status", {}).get("error_message")]
        versions = ", ".join("%s %s" % (v.get("version"), v.get("state")) for v in body["model_version_status"])
        return "AVAILABLE" in states, "versions %s%s" % (versions, ("; " + "; ".join(errors)) if errors else "")
    if "ready" in body:
        return body["ready"] in (True, "True", "true"), "ready=%s" % body["ready"]
    return protocol == "v2", "HTTP 200"   # V2 readiness is the status code itself


def endpoints(base_url, model, protocol):
    base = base_url.rstrip("/")
    if protocol == "v1":
        return {"ready": "%s/v1/models/%s" % (base, model), "predict": "%s/v1/models/%s:predict" % (base, model)}
    return {"ready": "%s/v2/models/%s/ready" % (base, model), "predict": "%s/v2/models/%s/infer" % (base, model)}


def batches(items, size):
    size = max(1, int(size))
    return [items[i:i + size] for i in range(0, len(items), size)]


def plan_calls(base_url, model, protocol, host, tensors, input_name, batch_size):
    """What a run would send, without sending it: the URLs, the Host header, the calls and their shapes."""
    groups, urls = batches(tensors, batch_size), endpoints(base_url, model, protocol)
    return {"ready_url": urls["ready"], "predict_url": urls["predict"],
            "host": host or "", "protocol": protocol, "input_name": input_name or "",
            "inputs": len(tensors), "calls": len(groups),
            "shapes": [[len(group)] + shape_of(group[0]) for group in groups]}


def latency_summary(seconds):
    """Milliseconds: count, mean, p50, p95, max (nearest-rank percentiles)."""
    if not seconds:
        return {"count": 0}
    ordered = sorted(seconds)

    def rank(p):
        return ordered[max(0, int(math.ceil(p / 100.0 * len(ordered))) - 1)] * 1000.0
    return {"count": len(ordered), "mean_ms": round(sum(ordered) / len(ordered) * 1000.0, 2),
            "p50_ms": round(rank(50), 2), "p95_ms": round(rank(95), 2), "max_ms": round(ordered[-1] * 1000.0, 2)}


# --- HTTP ---------------------------------------------------------------------------------
class Client:
    """One model endpoint: a pooled Session, Host header routing, retries on 502/503/504."""

    def __init__(self, base_url, model, protocol="v1", host=None, token=None, validate_certs=True, timeout=30,
                 concurrency=4, retries=3):
        self.urls = endpoints(base_url, model, protocol)
        self.protocol, self.timeout = protocol, timeout
        self.session = requests.Session()
        self.session.verify = validate_certs
        self.session.headers["Content-Type"] = "application/json"
        if host:
            self.session.headers["Host"] = host
        if token:
            self.session.headers["Authorization"] = "Bearer %s" % token
        retry = Retry(total=retries, backoff_factor=0.5, status_forcelist=(502, 503, 504),
                      allowed_methods=frozenset(["GET", "POST"]), raise_on_status=False)
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=max(1, concurrency), max_retries=retry)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.concurrency = max(1, concurrency)

    def _call(self, method, url, body=None):
        """(status, text) of one exchange; body is the JSON text already encoded, or None."""
        try:
            answer = self.session.request(method, url, data=body, timeout=self.timeout)
        except requests.exceptions.SSLError as exc:
            raise PredictError("TLS verification failed for %s: %s. Fix: trust the server's CA, or set "
                               "validate_certs: false for a test endpoint" % (url, exc)) from exc
        except requests.exceptions.RequestException as exc:
            raise PredictError("cannot reach %s: %s" % (url, exc)) from exc
        return answer.status_code, answer.text

    def wait_ready(self, timeout, interval=1.0, clock=time.monotonic, sleep=time.sleep):
        """Poll readiness until ready or timeout; return (seconds waited, last detail)."""
        start = clock()
        while True:
            try:
                ready, detail = ready_from(self.protocol, *self._call("GET", self.urls["ready"]))
            except PredictError as exc:
                ready, detail = False, str(exc)
            if ready:
                return clock() - start, detail
            if clock() - start >= timeout:
                raise PredictError("the model at %s was not ready after %ds: %s"
                                   % (self.urls["ready"], timeout, detail))
            sleep(interval)

    def predict(self, tensors, input_name, layout="rows", output_name=None):
        """(score rows, seconds) of one call; the seconds are the exchange's, not the encoding's."""
        body = json.dumps(request_body(self.protocol, tensors, input_name, layout))
        started = time.monotonic()
        status, text = self._call("POST", self.urls["predict"], body)
        seconds = time.monotonic() - started
        return read_predictions(self.protocol, status, text, output_name), seconds

    def predict_all(self, tensors, input_name, batch_size=1, layout="rows", output_name=None):
        """Score rows for every tensor (in order), and the latency of each call."""
        groups = batches(tensors, batch_size)
        with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
            answers = list(pool.map(lambda group: self.predict(group, input_name, layout, output_name), groups))
        rows = [row for scores, _unused in answers for row in scores]
        if len(rows) != len(tensors):
            raise PredictError("sent %d inputs but got %d predictions back" % (len(tensors), len(rows)))
        return rows, [seconds for _unused, seconds in answers]

    def close(self):
        self.session.close()
