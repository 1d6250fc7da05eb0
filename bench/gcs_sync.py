# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Model sync against the lab's GCS: the gcs_sync module versus a plain
sequential upload with google-cloud-storage (and `gcloud storage cp -r` when
it can reach the lab), all in one run on the same data, then a re-sync.

    .venv/bin/python bench/gcs_sync.py [--files 200] [--megabytes 200]

Prints each figure and the ratios; the lab is started in a temporary
directory and stopped afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "lab"))
from conftest import Lab  # noqa: E402  pylint: disable=wrong-import-position

BUCKET = "bench-models"


def make_model(root, files, megabytes, seed=1):
    """files files, megabytes in all: one tenth of them large, the rest small, like a SavedModel's shards."""
    rng = random.Random(seed)
    large = max(1, files // 10)
    small_size = 256 * 1024
    large_size = (megabytes * 1024 * 1024 - (files - large) * small_size) // large
    for index in range(files):
        size = large_size if index < large else small_size
        path = os.path.join(root, "1", "variables" if index < large else "assets", "part-%04d" % index)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as handle:
            handle.write(rng.randbytes(size))
    with open(os.path.join(root, "1", "saved_model.pb"), "wb") as handle:
        handle.write(rng.randbytes(64 * 1024))


def timed(func):
    started = time.perf_counter()
    value = func()
    return time.perf_counter() - started, value


def sequential_upload(lab, source, prefix):
    bucket = lab.gcs_client().bucket(BUCKET)
    for root, _dirs, names in os.walk(source):
        for name in names:
            path = os.path.join(root, name)
            bucket.blob(prefix + "/" + os.path.relpath(path, source)).upload_from_filename(path)


def module_sync(lab, source, prefix):
    env = lab.client_env(ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, ".collections"))
    args = json.dumps({"bucket": BUCKET, "source": source, "prefix": prefix})
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible"), "localhost", "-o",
                           "-m", "mlops.kserve_gke.gcs_sync", "-a", args], cwd=ROOT, env=env,
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit("gcs_sync failed:\n" + proc.stdout + proc.stderr)
    return json.loads(proc.stdout.split("=>", 1)[1])


def gcloud_copy(lab, source, prefix):
    env = lab.client_env(CLOUDSDK_API_ENDPOINT_OVERRIDES_STORAGE=lab.client_env()["KSERVE_GKE_STORAGE_ENDPOINT"],
                         CLOUDSDK_CONFIG=tempfile.mkdtemp(prefix="bench-gcloud-"))
    try:
        proc = subprocess.run(["gcloud", "storage", "cp", "-r", source, "gs://%s/%s" % (BUCKET, prefix)],
                              env=env, capture_output=True, text=True, check=False, timeout=600)
    finally:
        shutil.rmtree(env["CLOUDSDK_CONFIG"], ignore_errors=True)
    return proc.returncode == 0, (proc.stderr.strip().splitlines() or ["no output"])[-1]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--megabytes", type=int, default=200)
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="bench-gcs-")
    lab = Lab(os.path.join(work, "lab"))
    try:
        source = os.path.join(work, "model")
        make_model(source, args.files, args.megabytes)
        lab.run("up", "--idle-timeout", "900")
        lab.gcs_client().create_bucket(BUCKET)
        total = sum(os.path.getsize(os.path.join(r, n)) for r, _d, ns in os.walk(source) for n in ns)
        print("model: %d files, %.1f MiB" % (sum(len(n) for _r, _d, n in os.walk(source)), total / 1048576))

        base, _value = timed(lambda: sequential_upload(lab, source, "sequential"))
        print("sequential google-cloud-storage upload: %6.2f s  (%.1f MiB/s)" % (base, total / 1048576 / base))
        ours, result = timed(lambda: module_sync(lab, source, "synced"))
        print("gcs_sync module (wall, incl. Ansible): %6.2f s  (%.1f MiB/s); transfers alone %.2f s"
              % (ours, total / 1048576 / ours, result["seconds"]))
        again, result2 = timed(lambda: module_sync(lab, source, "synced"))
        print("gcs_sync re-sync:                      %6.2f s  moved %d bytes, %d files unchanged"
              % (again, result2["bytes_uploaded"], result2["unchanged"]))
        gcloud, (ok, detail) = timed(lambda: gcloud_copy(lab, source, "gcloud"))
        if ok:
            print("gcloud storage cp -r:                  %6.2f s" % gcloud)
        else:
            print("gcloud storage cp -r: could not run against the lab (%s)" % detail)
        print("ratio sequential / gcs_sync:        %.2fx" % (base / ours))
        print("ratio sequential / gcs_sync re-sync: %.2fx" % (base / again))
        if ok:
            print("ratio gcloud / gcs_sync:            %.2fx" % (gcloud / ours))
    finally:
        lab.run("down", check=False)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
