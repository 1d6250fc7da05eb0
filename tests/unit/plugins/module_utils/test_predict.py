# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import json

import pytest

from ansible_collections.mlops.kserve_gke.plugins.module_utils import predict
from ansible_collections.mlops.kserve_gke.plugins.module_utils.predict import PredictError

PIXEL = [[[0.0, 0.5, 1.0]]]   # a 1x1 RGB tensor


@pytest.mark.parametrize("protocol, layout, name, expected", [
    ("v1", "rows", "conv2d_input", {"instances": [{"conv2d_input": PIXEL}, {"conv2d_input": PIXEL}]}),
    ("v1", "rows", "", {"instances": [PIXEL, PIXEL]}),
    ("v1", "columns", "conv2d_input", {"inputs": {"conv2d_input": [PIXEL, PIXEL]}}),
    ("v2", "rows", "conv2d_input", {"inputs": [{"name": "conv2d_input", "shape": [2, 1, 1, 3], "datatype": "FP32",
                                                "data": [0.0, 0.5, 1.0, 0.0, 0.5, 1.0]}]}),
])
def test_request_body(protocol, layout, name, expected):
    assert predict.request_body(protocol, [PIXEL, PIXEL], name, layout) == expected


def test_request_body_refuses_an_unknown_protocol():
    with pytest.raises(PredictError, match="protocol 'v3' is not one of v1, v2"):
        predict.request_body("v3", [PIXEL], "x")


@pytest.mark.parametrize("protocol, body, output, expected", [
    ("v1", {"predictions": [[0.9, 0.1], [0.2, 0.8]]}, None, [[0.9, 0.1], [0.2, 0.8]]),
    ("v1", {"outputs": [[0.9, 0.1]]}, None, [[0.9, 0.1]]),
    ("v1", {"predictions": [{"dense_1": [0.9, 0.1], "logits": [3, 1]}]}, "dense_1", [[0.9, 0.1]]),
    ("v1", {"outputs": {"dense_1": [[0.9, 0.1]], "logits": [[3, 1]]}}, "logits", [[3, 1]]),
    ("v2", {"outputs": [{"name": "output-0", "shape": [2, 2], "datatype": "FP32", "data": [0.9, 0.1, 0.2, 0.8]}]},
     None, [[0.9, 0.1], [0.2, 0.8]]),
    ("v2", {"outputs": [{"name": "a", "shape": [1], "data": [7]}, {"name": "b", "shape": [1, 2], "data": [1, 2]}]},
     "b", [[1, 2]]),
])
def test_read_predictions(protocol, body, output, expected):
    assert predict.read_predictions(protocol, 200, json.dumps(body), output) == expected


@pytest.mark.parametrize("status, text, message", [
    (400, '{"error": "JSON object: does not have named input: conv2d_input"}',
     "HTTP 400: JSON object: does not have named input: conv2d_input"),
    (500, '{"detail": "model crashed"}', "HTTP 500: model crashed"),
    (502, "<html>bad gateway</html>", "HTTP 502: <html>bad gateway</html>"),
    (200, '{"error": "Servable not found"}', "refused the request: Servable not found"),
    (200, "not json", "is not JSON"),
    (200, '{"result": 1}', "neither 'predictions' nor 'outputs'"),
])
def test_read_predictions_fails_with_the_servers_message(status, text, message):
    with pytest.raises(PredictError, match=message.replace("(", r"\(").replace(")", r"\)")):
        predict.read_predictions("v1", status, text)


@pytest.mark.parametrize("scores, labels, expected", [
    ([0.1, 0.9], ["Cat", "Dog"], (1, "Dog")),
    ([[0.8, 0.2]], ["Cat", "Dog"], (0, "Cat")),
    ([0.1, 0.2, 0.7], ["Cat", "Dog"], (2, None)),
    ([0.3, 0.7], [], (1, None)),
])
def test_label_of(scores, labels, expected):
    assert predict.label_of(scores, labels) == expected


@pytest.mark.parametrize("protocol, status, body, ready", [
    ("v1", 200, {"model_version_status": [{"version": "1", "state": "AVAILABLE", "status": {"error_code": "OK"}}]},
     True),
    ("v1", 200, {"model_version_status": [{"version": "1", "state": "LOADING", "status": {}}]}, False),
    ("v1", 200, {"name": "m", "ready": True}, True),
    ("v1", 200, {"name": "m", "ready": False}, False),
    ("v2", 200, {}, True),
    ("v2", 503, {"error": "Model m is not ready"}, False),
    ("v1", 404, {"error": "Servable not found"}, False),
])
def test_ready_from(protocol, status, body, ready):
    assert predict.ready_from(protocol, status, json.dumps(body))[0] is ready


def test_ready_from_names_a_failed_load():
    body = {"model_version_status": [{"version": "1", "state": "END",
                                      "status": {"error_code": "UNKNOWN", "error_message": "no saved_model.pb"}}]}
    assert predict.ready_from("v1", 200, json.dumps(body)) == (False, "versions 1 END; no saved_model.pb")


@pytest.mark.parametrize("protocol, expected", [
    ("v1", {"ready": "http://h/v1/models/m", "predict": "http://h/v1/models/m:predict"}),
    ("v2", {"ready": "http://h/v2/models/m/ready", "predict": "http://h/v2/models/m/infer"}),
])
def test_endpoints(protocol, expected):
    assert predict.endpoints("http://h/", "m", protocol) == expected


@pytest.mark.parametrize("items, size, expected", [
    ([1, 2, 3, 4, 5], 2, [[1, 2], [3, 4], [5]]), ([1, 2], 8, [[1, 2]]), ([1, 2], 0, [[1], [2]]), ([], 3, []),
])
def test_batches(items, size, expected):
    assert predict.batches(items, size) == expected


def test_plan_calls_names_the_urls_and_each_calls_shape():
    tensors = [[[0.0, 0.0, 0.0]] * 2] * 5     # five 2x3 inputs
    plan = predict.plan_calls("http://10.0.0.1/", "m", "v2", None, tensors, "", 2)
    assert plan["ready_url"] == "http://10.0.0.1/v2/models/m/ready"
    assert plan["predict_url"] == "http://10.0.0.1/v2/models/m/infer"
    assert (plan["inputs"], plan["calls"], plan["host"]) == (5, 3, "")
    assert plan["shapes"] == [[2, 2, 3], [2, 2, 3], [1, 2, 3]]


def test_latency_summary_uses_nearest_rank_percentiles():
    summary = predict.latency_summary([0.010 * n for n in range(1, 21)])
    assert summary == {"count": 20, "mean_ms": 105.0, "p50_ms": 100.0, "p95_ms": 190.0, "max_ms": 200.0}
    assert predict.latency_summary([]) == {"count": 0}


def test_image_tensor_is_rgb_resized_and_scaled(tmp_path):
    from PIL import Image
    path = str(tmp_path / "grey.png")
    Image.new("L", (40, 20), 255).save(path)        # greyscale and not square: converted and resized
    tensor = predict.image_tensor(path, (4, 3))
    assert predict.shape_of(tensor) == [3, 4, 3]
    assert all(value == pytest.approx(1.0) for value in predict.flatten(tensor))


def test_image_tensor_names_a_file_that_is_no_picture(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("hello")
    with pytest.raises(PredictError, match="notes.txt is not a picture Pillow can read"):
        predict.image_tensor(str(path))


def test_mismatches_lists_the_wrong_answers_in_order():
    assert predict.mismatches(["a.jpg", "b.jpg", "c.jpg"], ["Cat", "Cat", "Dog"], ["Cat", "Dog", "Dog"]) == [
        {"input": "b.jpg", "expected": "Dog", "label": "Cat"}]
    with pytest.raises(PredictError, match="expected names 1 labels for 2 inputs"):
        predict.mismatches(["a", "b"], ["Cat", "Dog"], ["Cat"])
