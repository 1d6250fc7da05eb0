# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The predict module and scripts/infer against real model servers: the lab's
TF-Serving-like server (V1) and KServe's own Python server (V1 and V2), both
running the sample SavedModel; plus a recording server for what goes on the
wire (Host header, bearer token) and what must not reach the log."""
from __future__ import annotations

import glob
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from conftest import ROOT, SAMPLE_MODEL, model_server, run_module

IMAGES = sorted(glob.glob(os.path.join(ROOT, "samples", "images", "*.jpg")))
EXPECTED = [os.path.basename(p).split("-")[0].capitalize() for p in IMAGES]


def run_predict(args, *flags):
    return run_module("mlops.kserve_gke.predict", args, *flags)


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def serve_in_thread(server):
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return thread


@pytest.fixture(scope="module")
def tf_serving(tmp_path_factory):
    with model_server(str(tmp_path_factory.mktemp("serving") / "requests.jsonl")) as server:
        yield server


@pytest.fixture(scope="module")
def kserve_server():
    port = free_port()
    env = dict(os.environ, KSERVE_TEST_PORT=str(port), KSERVE_TEST_MODEL=os.path.join(SAMPLE_MODEL, "1"),
               KSERVE_TEST_LIFETIME="900")
    proc = subprocess.Popen([sys.executable, os.path.join(os.path.dirname(__file__), "kserve_model_server.py")],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = "http://127.0.0.1:%d" % port
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url + "/v2/health/ready", timeout=2) as answer:
                if answer.status == 200:
                    break
        except OSError:
            time.sleep(0.5)
    else:
        proc.kill()
        pytest.fail("KServe's model server did not start")
    yield url
    proc.terminate()   # KServe shuts down gracefully, which can take its 30 s grace period
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


class Recorder(BaseHTTPRequestHandler):
    seen = []

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        pass

    def _answer(self, body):
        Recorder.seen.append({"path": self.path, "host": self.headers.get("Host"),
                              "authorization": self.headers.get("Authorization")})
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):  # noqa: N802
        self._answer({"name": "m", "ready": True})

    def do_POST(self):  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        rows = json.loads(self.rfile.read(length))["instances"]
        self._answer({"predictions": [[0.0, 1.0]] * len(rows)})


def test_tf_serving_classifies_every_sample_picture(tf_serving):
    proc, result = run_predict({"url": tf_serving.url, "model": "dogs-vs-cats", "images": IMAGES,
                                "labels": ["Cat", "Dog"], "batch_size": 3, "concurrency": 2})
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert result["labels"] == EXPECTED
    assert result["ready"] == "versions 1 AVAILABLE"
    assert result["latency"]["count"] == 3      # 8 pictures in batches of 3
    assert result["changed"] is False


def test_a_model_still_loading_is_waited_for(tmp_path):
    with model_server(str(tmp_path / "log")) as server:
        proc, result = run_predict({"url": server.url, "model": "dogs-vs-cats", "images": IMAGES[:1],
                                    "labels": ["Cat", "Dog"], "ready_timeout": 120})
        assert proc.returncode == 0, proc.stdout[-3000:]
        with open(str(tmp_path / "log"), encoding="utf-8") as handle:
            statuses = [json.loads(line) for line in handle]
        assert statuses[0]["method"] == "GET"     # readiness first, then the call
        assert result["labels"] == EXPECTED[:1]


def test_a_refusal_fails_with_the_servers_message(tf_serving):
    proc, result = run_predict({"url": tf_serving.url, "model": "dogs-vs-cats", "images": IMAGES[:1],
                                "input_name": "input_1"})
    assert proc.returncode != 0
    assert "HTTP 400: Failed to process element: 0 of 'instances' list" in result["msg"]
    assert "does not have named input: conv2d_input" in result["msg"]


def test_check_mode_reports_what_it_would_send_and_makes_no_call(tf_serving):
    with open(tf_serving.request_log, encoding="utf-8") as handle:
        before = len(handle.readlines())
    proc, result = run_predict({"url": tf_serving.url, "model": "dogs-vs-cats", "images": IMAGES, "batch_size": 3,
                                "host": "dogs-vs-cats.models.example.com"}, "--check")
    assert proc.returncode == 0 and result["changed"] is False
    sent = result["would_send"]
    assert sent["predict_url"] == tf_serving.url + "/v1/models/dogs-vs-cats:predict"
    assert sent["host"] == "dogs-vs-cats.models.example.com" and sent["inputs"] == len(IMAGES)
    assert sent["shapes"] == [[3, 128, 128, 3], [3, 128, 128, 3], [len(IMAGES) - 6, 128, 128, 3]]
    with open(tf_serving.request_log, encoding="utf-8") as handle:
        assert len(handle.readlines()) == before


def test_bad_arguments_are_named(tf_serving):
    proc, result = run_predict({"url": tf_serving.url, "model": "dogs-vs-cats", "images": IMAGES[:1],
                                "instances": [[1]]})
    assert proc.returncode != 0 and "give either images or instances" in result["msg"]


@pytest.mark.parametrize("protocol", ["v1", "v2"])
def test_kserve_python_server_classifies_over_both_protocols(kserve_server, protocol):
    proc, result = run_predict({"url": kserve_server, "model": "dogs-vs-cats", "images": IMAGES,
                                "labels": ["Cat", "Dog"], "protocol": protocol, "batch_size": 4})
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert result["labels"] == EXPECTED
    assert result["ready"] == "ready=True"


def test_kserve_refusal_over_v2_carries_its_message(kserve_server):
    proc, result = run_predict({"url": kserve_server, "model": "no-such-model", "protocol": "v2",
                                "instances": [[[[0.0, 0.0, 0.0]]]], "ready_timeout": 0})
    assert proc.returncode != 0
    assert "HTTP 404" in result["msg"] and "no-such-model" in result["msg"]


def test_host_header_and_token_go_on_the_wire_but_not_into_the_log():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    thread = serve_in_thread(server)
    try:
        url = "http://127.0.0.1:%d" % server.server_address[1]
        proc, result = run_predict({"url": url, "model": "m", "host": "dogs-vs-cats.models.example.com",
                                    "token": "s3cret-token-value", "instances": [[1.0], [2.0]]}, "-vvv")
        assert proc.returncode == 0, proc.stdout[-3000:]
        assert result["labels"] == ["1", "1"]   # no labels given: the index
        assert {r["host"] for r in Recorder.seen} == {"dogs-vs-cats.models.example.com"}
        assert {r["authorization"] for r in Recorder.seen} == {"Bearer s3cret-token-value"}
        assert "s3cret-token-value" not in proc.stdout + proc.stderr
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


def test_the_infer_script_prints_the_walk_throughs_answer(tf_serving):
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "infer"), "-u",
                           tf_serving.url + "/v1/models/dogs-vs-cats:predict", "-i"] + IMAGES,
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert [line.split(": ")[1].split()[0] for line in lines[:len(IMAGES)]] == EXPECTED
    assert "call(s): mean" in lines[-1]


def test_the_infer_script_reports_a_refusal(tf_serving):
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "infer"), "-u", tf_serving.url,
                           "--model", "dogs", "-i", IMAGES[0]], capture_output=True, text=True, check=False)
    assert proc.returncode == 1
    assert "HTTP 404: Servable not found for request: Latest(dogs)" in proc.stderr
