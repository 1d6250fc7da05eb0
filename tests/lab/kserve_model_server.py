# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""KServe's own Python model server (the kserve package), serving the sample SavedModel.

The predict module's second counterpart: KServe's V1 ({"name", "ready"},
{"predictions"}) and V2 / Open Inference Protocol endpoints, as KServe's
server implements them. Run by tests/lab/test_predict.py as a subprocess:

    KSERVE_TEST_PORT=8080 KSERVE_TEST_MODEL=samples/model/dogs-vs-cats/1 python tests/lab/kserve_model_server.py

KServe binds its REST server to 0.0.0.0; here it binds to 127.0.0.1 only, and
the process stops itself after KSERVE_TEST_LIFETIME seconds (default 900).
Settings come from the environment: kserve parses sys.argv when imported.
"""
from __future__ import annotations

import os
import threading

import uvicorn

PORT = int(os.environ["KSERVE_TEST_PORT"])
MODEL = os.environ["KSERVE_TEST_MODEL"]
LIFETIME = float(os.environ.get("KSERVE_TEST_LIFETIME", "900"))


class LoopbackConfig(uvicorn.Config):
    def __init__(self, app, **kwargs):
        kwargs["host"] = "127.0.0.1"
        super().__init__(app, **kwargs)


uvicorn.Config = LoopbackConfig

import kserve  # noqa: E402  pylint: disable=wrong-import-position
import tensorflow as tf  # noqa: E402  pylint: disable=wrong-import-position
from kserve.protocol.infer_type import InferOutput, InferRequest, InferResponse  # noqa: E402


class DogsVsCats(kserve.Model):
    def __init__(self, name, path):
        super().__init__(name)
        self.path = path
        self.signature = None
        self.load()

    def load(self):
        self.signature = tf.saved_model.load(self.path).signatures["serving_default"]
        self.ready = True
        return self.ready

    def _run(self, tensor):
        return self.signature(conv2d_input=tf.constant(tensor, dtype=tf.float32))["dense_1"].numpy()

    def predict(self, payload, headers=None, response_headers=None):
        if isinstance(payload, InferRequest):
            scores = self._run(payload.inputs[0].as_numpy())
            return InferResponse(response_id=payload.id or "lab", model_name=self.name, infer_outputs=[
                InferOutput(name="dense_1", shape=list(scores.shape), datatype="FP32", data=scores.tolist())])
        rows = [row["conv2d_input"] if isinstance(row, dict) else row for row in payload["instances"]]
        return {"predictions": self._run(rows).tolist()}


def main():
    threading.Timer(LIFETIME, lambda: os._exit(0)).start()   # pylint: disable=protected-access
    kserve.ModelServer(http_port=PORT, enable_grpc=False).start([DogsVsCats("dogs-vs-cats", MODEL)])


if __name__ == "__main__":
    main()
