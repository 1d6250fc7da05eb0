# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lab's TF-Serving-like model server, with the sample SavedModel really run.

It is the predict module's counterpart, so it must refuse what TF Serving
refuses: a named input the signature does not take, a wrong shape, an unknown
model or version, a body that is not a request."""
from __future__ import annotations

import glob
import json
import os
import time
import urllib.error
import urllib.request

import numpy as np
import pytest
from PIL import Image

from conftest import ROOT, model_server

IMAGES = sorted(glob.glob(os.path.join(ROOT, "samples", "images", "*.jpg")))


def pixels(path):
    with Image.open(path) as image:
        return (np.asarray(image.convert("RGB").resize((128, 128), Image.BILINEAR), dtype=np.float32) / 255.0).tolist()


def call(server, path, body=None, raw=None):
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    request = urllib.request.Request(server.url + path, data=data, method="POST" if data is not None else "GET",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with model_server(str(tmp_path_factory.mktemp("serving") / "requests.jsonl")) as instance:
        yield instance


def wait_available(server):
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        status, body = call(server, "/v1/models/dogs-vs-cats")
        state = body["model_version_status"][0]["state"]
        if state != "LOADING":
            return status, body
        assert status == 200
        time.sleep(0.2)
    raise AssertionError("the model never loaded")


def test_the_model_loads_then_reports_available_with_its_signature(server):
    status, body = wait_available(server)
    assert status == 200
    assert body["model_version_status"] == [{"version": "1", "state": "AVAILABLE",
                                             "status": {"error_code": "OK", "error_message": ""}}]
    status, meta = call(server, "/v1/models/dogs-vs-cats/metadata")
    inputs = meta["metadata"]["signature_def"]["signature_def"]["serving_default"]["inputs"]
    assert [d["size"] for d in inputs["conv2d_input"]["tensor_shape"]["dim"]] == ["-1", "128", "128", "3"]


def test_every_sample_picture_gets_its_label(server):
    wait_available(server)
    assert len(IMAGES) >= 8
    status, body = call(server, "/v1/models/dogs-vs-cats:predict",
                        {"instances": [{"conv2d_input": pixels(p)} for p in IMAGES]})
    assert status == 200, body
    labels = ["cat", "dog"]
    got = [labels[int(np.argmax(scores))] for scores in body["predictions"]]
    assert got == [os.path.basename(p).split("-")[0] for p in IMAGES]
    assert all(abs(sum(scores) - 1.0) < 1e-4 for scores in body["predictions"])   # softmax


def test_columnar_and_unnamed_rows_are_accepted(server):
    wait_available(server)
    picture = pixels(IMAGES[0])
    status, columnar = call(server, "/v1/models/dogs-vs-cats/versions/1:predict",
                            {"inputs": {"conv2d_input": [picture]}})
    assert status == 200 and len(columnar["outputs"]) == 1
    status, rows = call(server, "/v1/models/dogs-vs-cats:predict", {"instances": [picture]})
    assert status == 200 and np.allclose(rows["predictions"], columnar["outputs"], atol=1e-5)


@pytest.mark.parametrize("path, body, raw, code, message", [
    ("/v1/models/dogs-vs-cats:predict", {"instances": [{"input_1": [[[0.0] * 3] * 128] * 128}]}, None, 400,
     "does not have named input: conv2d_input"),
    ("/v1/models/dogs-vs-cats:predict", {"instances": [[[[0.0] * 3] * 64] * 64]}, None, 400,
     "the signature takes shape (None, 128, 128, 3)"),
    ("/v1/models/dogs-vs-cats:predict", {"rows": []}, None, 400, "Missing 'inputs' or 'instances' key"),
    ("/v1/models/dogs-vs-cats:predict", None, b"{not json", 400, "JSON Parse error"),
    ("/v1/models/cats:predict", {"instances": [1]}, None, 404, "Servable not found for request: Latest(cats)"),
    ("/v1/models/dogs-vs-cats/versions/2:predict", {"instances": [1]}, None, 404,
     "Servable not found for request: Specific(dogs-vs-cats, 2)"),
])
def test_refusals_carry_tf_servings_error_body(server, path, body, raw, code, message):
    wait_available(server)
    status, answer = call(server, path, body, raw)
    assert status == code
    assert set(answer) == {"error"} and message in answer["error"]
