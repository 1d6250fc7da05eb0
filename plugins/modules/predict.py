#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, kserve_gke contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: predict
short_description: Classify pictures (or send tensors) to a served model and read back scores and labels
version_added: "0.3.0"
description:
  - Calls a model served by KServe, over TF Serving's REST API or KServe's V1 server, or over the V2 / Open
    Inference Protocol. It waits for the model to be ready, sends the inputs in batches over one pooled
    connection with bounded concurrency, and returns the scores, the labels (argmax) and latency figures.
  - Pictures are prepared as the original walk-through did, without TensorFlow. They are converted to RGB,
    resized to O(image_size) (bilinear), scaled by O(scale), and sent under the input name O(input_name).
  - Route by DNS (O(url) names the model's host), or by the ingress address in O(url) plus O(host) as the
    C(Host) header.
  - A non-200 answer, or a body with an C(error) key, fails with the server's own message.
  - In check mode it reads the inputs and returns what it would send (RV(would_send)), making no call.
author:
  - kserve_gke contributors (@mlops)
requirements:
  - requests
  - Pillow (for O(images))
options:
  url:
    description: Base URL of the model server or ingress, for example C(http://34.1.2.3) or
      C(https://dogs-vs-cats.models.example.com).
    type: str
    required: true
  model:
    description: The model's name (the InferenceService's name).
    type: str
    required: true
  host:
    description: The C(Host) header, when O(url) is the ingress address (the host of the InferenceService's
      C(status.url)).
    type: str
  protocol:
    description: V(v1) for TF Serving and KServe's V1 servers, V(v2) for the Open Inference Protocol.
    type: str
    choices: [v1, v2]
    default: v1
  images:
    description: Picture files to classify, one prediction each.
    type: list
    elements: path
    default: []
  instances:
    description: Tensors to send as they are, one prediction each (instead of O(images)).
    type: list
    elements: raw
    default: []
  input_name:
    description: The model's input name; empty sends bare rows (V1) or C(input-0) (V2).
    type: str
    default: conv2d_input
  output_name:
    description: Which output to read when the model has several.
    type: str
  layout:
    description: V1 row format (V(rows), C(instances)) or columnar (V(columns), C(inputs)).
    type: str
    choices: [rows, columns]
    default: rows
  image_size:
    description: Width and height pictures are resized to.
    type: list
    elements: int
    default: [128, 128]
  scale:
    description: The factor pixel values (0-255) are multiplied by.
    type: float
    default: 0.00392156862745098
  labels:
    description: Labels by output index, for example C([Cat, Dog]).
    type: list
    elements: str
    default: []
  expected:
    description: The label each input should get, in order; the answers that differ are returned as
      RV(mismatches) (the module does not fail on them).
    type: list
    elements: str
    default: []
  batch_size:
    description: Inputs per call.
    type: int
    default: 8
  concurrency:
    description: Calls in flight at once.
    type: int
    default: 4
  timeout:
    description: Seconds per call.
    type: int
    default: 30
  ready_timeout:
    description: Seconds to wait for the model to report ready before the first call (it may be warming up);
      V(0) skips the readiness check.
    type: int
    default: 300
  retries:
    description: Retries of a call answered 502, 503 or 504, with backoff.
    type: int
    default: 3
  validate_certs:
    description: Verify the server's TLS certificate.
    type: bool
    default: true
  token:
    description: A bearer token for the C(Authorization) header.
    type: str
attributes:
  check_mode:
    description: Reads the inputs and reports what it would send; makes no call.
    support: full
  diff_mode:
    description: Nothing changes.
    support: none
"""

EXAMPLES = r"""
- name: Serving | Classify the sample pictures through the ingress
  mlops.kserve_gke.predict:
    url: "http://{{ istio_ingress_address }}"
    host: dogs-vs-cats.models.34.1.2.3.sslip.io
    model: dogs-vs-cats
    images: "{{ query('ansible.builtin.fileglob', 'samples/images/*.jpg') }}"
    labels: [Cat, Dog]
  register: classified

- name: Serving | Send one raw tensor over the V2 protocol
  mlops.kserve_gke.predict:
    url: https://iris.models.example.com
    model: iris
    protocol: v2
    input_name: input-0
    instances: [[6.8, 2.8, 4.8, 1.4]]
"""

RETURN = r"""
results:
  description: One entry per input, in order.
  returned: success and not check mode
  type: list
  elements: dict
  sample: [{"input": "samples/images/cat-1.jpg", "label": "Cat", "index": 0, "scores": [0.998, 0.002]}]
labels:
  description: The label of each input, in order (the index where O(labels) does not name it).
  returned: success and not check mode
  type: list
  elements: str
  sample: [Cat, Dog]
latency:
  description: Per call, in milliseconds - count, mean_ms, p50_ms, p95_ms, max_ms - plus the wait for readiness
    (ready_wait_ms) and the whole run (total_ms).
  returned: success and not check mode
  type: dict
  sample: {"count": 1, "mean_ms": 41.2, "p50_ms": 41.2, "p95_ms": 41.2, "max_ms": 41.2, "total_ms": 310.5}
mismatches:
  description: The inputs whose label differs from O(expected).
  returned: success and not check mode, when O(expected) is given
  type: list
  elements: dict
  sample: [{"input": "samples/images/cat-4.jpg", "expected": "Cat", "label": "Dog"}]
would_send:
  description: What the run would send - the readiness and predict URLs, the C(Host) header, the protocol, the
    input name, the number of inputs and calls, and each call's tensor shape (batch first).
  returned: check mode
  type: dict
  sample: {"ready_url": "http://34.1.2.3/v1/models/dogs-vs-cats", "predict_url":
    "http://34.1.2.3/v1/models/dogs-vs-cats:predict", "host": "dogs-vs-cats.models.example.com", "protocol": "v1",
    "input_name": "conv2d_input", "inputs": 8, "calls": 1, "shapes": [[8, 128, 128, 3]]}
ready:
  description: What the readiness check last read.
  returned: success and not check mode
  type: str
  sample: versions 1 AVAILABLE
"""

import time

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.mlops.kserve_gke.plugins.module_utils import predict


def argspec():
    return dict(
        url=dict(type="str", required=True),
        model=dict(type="str", required=True),
        host=dict(type="str"),
        protocol=dict(type="str", choices=list(predict.PROTOCOLS), default="v1"),
        images=dict(type="list", elements="path", default=[]),
        instances=dict(type="list", elements="raw", default=[]),
        input_name=dict(type="str", default="conv2d_input"),
        output_name=dict(type="str"),
        layout=dict(type="str", choices=["rows", "columns"], default="rows"),
        image_size=dict(type="list", elements="int", default=[128, 128]),
        scale=dict(type="float", default=1.0 / 255.0),
        labels=dict(type="list", elements="str", default=[]),
        expected=dict(type="list", elements="str", default=[]),
        batch_size=dict(type="int", default=8),
        concurrency=dict(type="int", default=4),
        timeout=dict(type="int", default=30),
        ready_timeout=dict(type="int", default=300),
        retries=dict(type="int", default=3),
        validate_certs=dict(type="bool", default=True),
        token=dict(type="str", no_log=True),
    )


def read_inputs(params):
    """The tensors to send, after the checks that need no server."""
    if bool(params["images"]) == bool(params["instances"]):
        raise predict.PredictError("give either images or instances (one of them, not both)")
    if len(params["image_size"]) != 2:
        raise predict.PredictError("image_size must be [width, height], got %s" % params["image_size"])
    predict.check_expected(params["expected"], len(params["images"] or params["instances"]))
    return [predict.image_tensor(p, params["image_size"], params["scale"]) for p in params["images"]] \
        or list(params["instances"])


def plan(params):
    """Check mode: what run() would send."""
    tensors = read_inputs(params)
    return dict(changed=False, would_send=predict.plan_calls(
        params["url"], params["model"], params["protocol"], params["host"], tensors, params["input_name"],
        params["batch_size"]))


def run(params):
    started = time.monotonic()
    tensors = read_inputs(params)
    client = predict.Client(params["url"], params["model"], params["protocol"], params["host"], params["token"],
                            params["validate_certs"], params["timeout"], params["concurrency"], params["retries"])
    try:
        waited, ready = (client.wait_ready(params["ready_timeout"]) if params["ready_timeout"] > 0
                         else (0.0, "not checked"))
        rows, seconds = client.predict_all(tensors, params["input_name"], params["batch_size"], params["layout"],
                                           params["output_name"])
    finally:
        client.close()
    results = []
    for position, scores in enumerate(rows):
        index, label = predict.label_of(scores, params["labels"])
        results.append({"input": params["images"][position] if params["images"] else position,
                        "index": index, "label": label if label is not None else str(index), "scores": scores})
    latency = dict(predict.latency_summary(seconds), ready_wait_ms=round(waited * 1000.0, 2),
                   total_ms=round((time.monotonic() - started) * 1000.0, 2))
    labels = [r["label"] for r in results]
    result = dict(changed=False, results=results, labels=labels, latency=latency, ready=ready)
    if params["expected"]:
        result["mismatches"] = predict.mismatches([r["input"] for r in results], labels, params["expected"])
    return result


def main():
    module = AnsibleModule(argument_spec=argspec(), supports_check_mode=True)
    if not predict.HAS_REQUESTS:
        module.fail_json(msg=missing_required_lib("requests"))
    if module.params["images"] and not predict.HAS_PIL:
        module.fail_json(msg=missing_required_lib("Pillow"))
    try:
        module.exit_json(**(plan if module.check_mode else run)(module.params))
    except predict.PredictError as exc:
        module.fail_json(msg=str(exc))


if __name__ == "__main__":
    main()
