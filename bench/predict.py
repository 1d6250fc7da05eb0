# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Classifying pictures: the predict module against the walk-through's pattern
(one Python process per picture, importing TensorFlow to prepare it), and
against a plain HTTP loop that posts payloads encoded beforehand, all against
the lab's model server running the sample model, in one run.

    .venv/bin/python bench/predict.py [--images 200] [--baseline-images 20]

The walk-through's pattern costs seconds per picture (TensorFlow's import), so
it runs on --baseline-images pictures and is compared per picture; the module
and the HTTP loop classify all --images. Prints each figure and both ratios.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import subprocess
import sys
import tempfile
import time

import requests

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "lab"))
from conftest import model_server, run_module as run_ansible_module  # noqa: E402  pylint: disable=wrong-import-position

SAMPLES = sorted(glob.glob(os.path.join(ROOT, "samples", "images", "*.jpg")))

# The walk-through's client, one process per picture: TensorFlow reads and resizes it.
WALKTHROUGH = r"""
import json, sys
import requests
import tensorflow as tf
image = tf.io.decode_jpeg(tf.io.read_file(sys.argv[2]), channels=3)
image = tf.image.resize(image, [128, 128]) / 255.0
answer = requests.post(sys.argv[1], json={"instances": [{"conv2d_input": image.numpy().tolist()}]}, timeout=60)
print("Dog" if answer.json()["predictions"][0][1] > answer.json()["predictions"][0][0] else "Cat")
"""


def run_module(url, images):
    args = {"url": url, "model": "dogs-vs-cats", "images": images, "labels": ["Cat", "Dog"], "batch_size": 8,
            "concurrency": 2}
    started = time.monotonic()
    proc, result = run_ansible_module("mlops.kserve_gke.predict", args)
    if proc.returncode != 0:
        raise SystemExit("the predict module failed: %s" % proc.stdout[-2000:])
    return time.monotonic() - started, result


def run_walkthrough(url, images):
    started = time.monotonic()
    labels = [subprocess.run([sys.executable, "-c", WALKTHROUGH, url + "/v1/models/dogs-vs-cats:predict", path],
                             capture_output=True, text=True, check=True).stdout.strip() for path in images]
    return time.monotonic() - started, labels


def run_plain_loop(url, payloads):
    """Pre-encoded bodies, one picture per request, one Session, sequential: the floor of HTTP cost."""
    session = requests.Session()
    started = time.monotonic()
    for body in payloads:
        answer = session.post(url + "/v1/models/dogs-vs-cats:predict", data=body,
                              headers={"Content-Type": "application/json"}, timeout=60)
        answer.raise_for_status()
    return time.monotonic() - started


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--baseline-images", type=int, default=20)
    args = parser.parse_args(argv)
    sys.path.insert(0, os.path.join(ROOT, "plugins", "module_utils"))
    import predict  # pylint: disable=import-outside-toplevel,import-error
    images = [SAMPLES[i % len(SAMPLES)] for i in range(args.images)]
    with tempfile.TemporaryDirectory() as directory, model_server(os.path.join(directory, "log")) as server:
        server.servable.loaded.wait(300)
        module_s, result = run_module(server.url, images)
        expected = [os.path.basename(p).split("-")[0].capitalize() for p in images]
        assert result["labels"] == expected, "the module got pictures wrong"
        walk_s, walk_labels = run_walkthrough(server.url, images[:args.baseline_images])
        assert walk_labels == expected[:args.baseline_images], "the walk-through's client got pictures wrong"
        payloads = [json.dumps({"instances": [{"conv2d_input": predict.image_tensor(p)}]}) for p in images]
        loop_s = run_plain_loop(server.url, payloads)
    module_rate = args.images / module_s
    walk_rate = args.baseline_images / walk_s
    loop_rate = args.images / loop_s
    print("predict module:        %d pictures in %6.2f s  %7.2f pictures/s (incl. Ansible start-up; calls: "
          "mean %.1f ms, p95 %.1f ms)" % (args.images, module_s, module_rate, result["latency"]["mean_ms"],
                                          result["latency"]["p95_ms"]))
    print("walk-through pattern:  %d pictures in %6.2f s  %7.2f pictures/s (one process per picture)"
          % (args.baseline_images, walk_s, walk_rate))
    print("plain HTTP loop:       %d pictures in %6.2f s  %7.2f pictures/s (payloads encoded beforehand)"
          % (args.images, loop_s, loop_rate))
    print("module vs walk-through pattern: %.1fx faster per picture" % (module_rate / walk_rate))
    print("module vs plain HTTP loop:      %.2fx the loop's throughput" % (module_rate / loop_rate))
    return 0


if __name__ == "__main__":
    sys.exit(main())
