# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A model server with TF Serving's REST API, running the SavedModel with TensorFlow.

What KServe's `kserve-tensorflow-serving` runtime answers, written here so
the predict module and the lab's serving are tested against the behaviour
that matters, with the model really run:

- GET  /v1/models/<name>[/versions/<v>]   model_version_status: LOADING while
  the SavedModel loads, then AVAILABLE (or END with the load error)
- GET  /v1/models/<name>[/versions/<v>]/metadata   the signature's inputs/outputs
- POST /v1/models/<name>[/versions/<v>]:predict   row format ("instances")
  or columnar ("inputs"); named inputs checked against the serving signature;
  {"predictions": ...} / {"outputs": ...}
- errors as TF Serving gives them: {"error": "..."} with 400 (bad request),
  404 (no such model or version) or 503 (still loading).

The newest numbered directory under --model_base_path is served, as TF Serving
does. TensorFlow is imported when the server starts, not by the rest of the lab.

Speed: a predict call of eight 128x128 pictures (8 MB of JSON) answers in
about 0.1 s here. Python's cyclic garbage collector made it 0.3-2 s: decoding
builds 400,000 floats in nested lists, which sets off full collections that walk
every object TensorFlow made. So the objects of the loaded model are frozen out
of the collector (gc.freeze), the request is decoded with collection paused (a
JSON tree has no cycles), and the inputs go to TensorFlow as numpy arrays.

    python -m kserve_lab.model_server --model_name=dogs-vs-cats --model_base_path=DIR --rest_api_port=8501
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import re
import threading
import time
from http.server import BaseHTTPRequestHandler

from .core import Knobs, LabServer, RequestLog, start_request, write_json

ROUTE = re.compile(r"^/v1/models/(?P<name>[^/:]+)(?:/versions/(?P<version>\d+))?(?P<rest>/metadata|:predict)?$")


def decode_json(raw):
    """The request body, decoded with the garbage collector paused (see the module's docstring)."""
    paused = gc.isenabled()
    gc.disable()
    try:
        return json.loads(raw or b"null")
    except ValueError as exc:
        raise ServingError(400, "JSON Parse error: %s" % exc) from exc
    finally:
        if paused:
            gc.enable()


class ServingError(Exception):
    def __init__(self, code, message):
        super().__init__(message)
        self.code = code


def latest_version(base_path):
    versions = [int(d) for d in os.listdir(base_path) if d.isdigit() and os.path.isdir(os.path.join(base_path, d))]
    if not versions:
        raise ServingError(404, "No versions of servable found under base path %s" % base_path)
    return max(versions)


class Servable:
    """One model: loads in the background, then runs its serving_default signature."""

    def __init__(self, name, base_path):
        self.name, self.base_path = name, base_path
        self.version, self.state, self.error = None, "LOADING", ""
        self.signature = self.inputs = self.outputs = None
        self.loaded = threading.Event()
        threading.Thread(target=self._load, daemon=True).start()

    def _load(self):
        try:
            import numpy  # pylint: disable=import-outside-toplevel,import-error
            import tensorflow as tf  # pylint: disable=import-outside-toplevel,import-error
            self.np, self.tf = numpy, tf
            self.version = latest_version(self.base_path)
            model = tf.saved_model.load(os.path.join(self.base_path, str(self.version)))
            self.model = model  # keeps the variables alive
            self.signature = model.signatures["serving_default"]
            self.inputs = self.signature.structured_input_signature[1]
            self.outputs = self.signature.structured_outputs
            gc.collect()
            gc.freeze()  # the model's objects stay; full collections no longer walk them
            self.state = "AVAILABLE"
        except Exception as exc:  # pylint: disable=broad-except
            self.state, self.error = "END", "%s: %s" % (type(exc).__name__, exc)
        finally:
            self.loaded.set()

    def _check_version(self, version):
        """404 for a version other than the one served (unknown while loading: any is taken)."""
        if version is not None and self.version is not None and int(version) != self.version:
            raise ServingError(404, "Servable not found for request: Specific(%s, %s)" % (self.name, version))

    def status(self, version=None):
        self._check_version(version)
        code, message = ("OK", "") if self.state != "END" else ("UNKNOWN", self.error)
        return {"model_version_status": [{"version": str(self.version or 0), "state": self.state,
                                          "status": {"error_code": code, "error_message": message}}]}

    def metadata(self):
        self._ready()

        def spec(specs):
            return {k: {"dtype": "DT_" + v.dtype.name.upper(), "name": v.name or k,
                        "tensor_shape": {"dim": [{"size": str(-1 if d is None else d)} for d in v.shape]}}
                    for k, v in specs.items()}
        return {"model_spec": {"name": self.name, "signature_name": "", "version": str(self.version)},
                "metadata": {"signature_def": {"signature_def": {"serving_default": {
                    "inputs": spec(self.inputs), "outputs": spec(self.outputs),
                    "method_name": "tensorflow/serving/predict"}}}}}

    def _ready(self):
        if self.state == "LOADING":
            raise ServingError(503, "Servable not found for request: Latest(%s)" % self.name)
        if self.state == "END":
            raise ServingError(404, "Servable not found for request: Latest(%s)" % self.name)

    def _rows(self, instances):
        if not isinstance(instances, list) or not instances:
            raise ServingError(400, "'instances' must be a non-empty list")
        names = sorted(self.inputs)
        columns = {name: [] for name in names}
        for index, row in enumerate(instances):
            if isinstance(row, dict):
                unknown = sorted(set(row) - set(names))
                missing = sorted(set(names) - set(row))
                if unknown or missing:
                    raise ServingError(400, "Failed to process element: %d of 'instances' list. Error: Invalid "
                                       "argument: JSON object: does not have named input: %s" % (
                                           index, (missing or unknown)[0]))
                for name in names:
                    columns[name].append(row[name])
            elif len(names) == 1:
                columns[names[0]].append(row)
            else:
                raise ServingError(400, "Failed to process element: %d of 'instances' list. Error: Invalid "
                                   "argument: JSON Value not formatted correctly: expected a JSON object with "
                                   "the named inputs %s" % (index, ", ".join(names)))
        return columns

    def _columns(self, inputs):
        names = sorted(self.inputs)
        if not isinstance(inputs, dict):
            if len(names) != 1:
                raise ServingError(400, "'inputs' must name the signature's inputs: %s" % ", ".join(names))
            return {names[0]: inputs}
        unknown = sorted(set(inputs) - set(names))
        missing = sorted(set(names) - set(inputs))
        if missing:
            raise ServingError(400, "Invalid argument: JSON object: does not have named input: %s" % missing[0])
        if unknown:
            raise ServingError(400, "Invalid argument: 'inputs' names %s, which the signature does not take "
                               "(it takes %s)" % (unknown[0], ", ".join(names)))
        return inputs

    def predict(self, body, version=None):
        self._ready()
        self._check_version(version)
        if not isinstance(body, dict) or ("instances" in body) == ("inputs" in body):
            raise ServingError(400, "Missing 'inputs' or 'instances' key" if not isinstance(body, dict) or (
                "instances" not in body and "inputs" not in body) else
                "Request contains both 'instances' and 'inputs' keys; use one of them")
        if body.get("signature_name", "serving_default") != "serving_default":
            raise ServingError(400, "Serving signature name: \"%s\" not found in signature def"
                               % body["signature_name"])
        rows = "instances" in body
        feed = self._rows(body["instances"]) if rows else self._columns(body["inputs"])
        tf = self.tf
        try:
            tensors = {name: tf.constant(self.np.asarray(value, dtype=self.inputs[name].dtype.as_numpy_dtype))
                       for name, value in feed.items()}
            for name, tensor in tensors.items():
                if not self.inputs[name].shape.is_compatible_with(tensor.shape):
                    raise ServingError(400, "input %s: the signature takes shape %s, the request sent %s" % (
                        name, self.inputs[name].shape, tensor.shape))
            result = self.signature(**tensors)
        except ServingError:
            raise
        except (ValueError, TypeError, tf.errors.InvalidArgumentError) as exc:
            raise ServingError(400, str(exc).splitlines()[0]) from exc
        result = {k: v.numpy().tolist() for k, v in result.items()}
        if rows:
            if len(result) == 1:
                return {"predictions": next(iter(result.values()))}
            count = len(next(iter(result.values())))
            return {"predictions": [{k: v[i] for k, v in result.items()} for i in range(count)]}
        return {"outputs": next(iter(result.values())) if len(result) == 1 else result}


class ModelHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "kserve-lab-model-server"

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        """The request log replaces the default stderr lines."""

    def _answer(self, method):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        path = self.path.split("?", 1)[0]
        fault = start_request(self, method, path)
        if fault == "reset":
            return
        try:
            if fault in ("429", "500", "503"):
                raise ServingError(int(fault), "injected fault")
            status, payload = 200, self.route(method, path, raw)
        except ServingError as exc:
            status, payload = exc.code, {"error": str(exc)}
        self.server.log.record(self.server.service, method, path, status, **({"fault": fault} if fault else {}))
        write_json(self, status, payload, "application/json")

    def route(self, method, path, raw):
        match = ROUTE.match(path)
        servable = self.server.servable
        if not match or match.group("name") != servable.name:
            raise ServingError(404, "Servable not found for request: Latest(%s)" % (
                match.group("name") if match else path))
        rest, version = match.group("rest"), match.group("version")
        if method == "GET" and rest is None:
            return servable.status(version)
        if method == "GET" and rest == "/metadata":
            return servable.metadata()
        if method == "POST" and rest == ":predict":
            body = decode_json(raw)
            return servable.predict(body, version)
        raise ServingError(404, "Malformed request: %s %s" % (method, path))

    def do_GET(self):  # noqa: N802
        self._answer("GET")

    def do_POST(self):  # noqa: N802
        self._answer("POST")


class ModelServer(LabServer):
    def __init__(self, address, name, base_path, log, knobs, service="serving"):
        super().__init__(address, ModelHandler, service, log, knobs)
        self.servable = Servable(name, base_path)


def _stop_with_parent(parent_pid, server, interval=1.0):
    while True:
        time.sleep(interval)
        try:
            os.kill(parent_pid, 0)
        except OSError:
            server.shutdown()
            return


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--model_name", required=True)
    parser.add_argument("--model_base_path", required=True)
    parser.add_argument("--rest_api_port", type=int, default=8501)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--request_log", default=os.devnull)
    parser.add_argument("--parent_pid", type=int, help="stop when this process is gone (the lab that started us)")
    parser.add_argument("--knobs", default="{}", help="the lab's knobs as JSON (faults for service 'serving')")
    args = parser.parse_args(argv)
    server = ModelServer((args.host, args.rest_api_port), args.model_name, args.model_base_path,
                         RequestLog(args.request_log), Knobs(**json.loads(args.knobs)))
    if args.parent_pid:
        threading.Thread(target=_stop_with_parent, args=(args.parent_pid, server), daemon=True).start()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
