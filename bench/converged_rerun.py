# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""site.yml against a fresh lab, then again on the converged cluster, next to the floor measured in the same
run: `kubectl apply --server-side --dry-run=server` of the same release files plus one `kubectl get` per
readiness check (CRDs, then each component's Deployments and webhook Endpoints). Istio's objects come from
its Helm charts, rendered with `helm template` as the istio role renders them.

    .venv/bin/python bench/converged_rerun.py

Prints the full converge, the re-run (wall time, tasks, Kubernetes requests, writes), the floor, and the
ratio re-run / floor. The goal (issue 15): the re-run within 3x the floor and under 60 s on a 2-core machine,
with 0 writes. The lab is started in a temporary directory and stopped afterwards.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "lab"))
from conftest import PINS, PLAYBOOK, Lab  # noqa: E402  pylint: disable=wrong-import-position

# What site.yml applies from the release mirror; Istio comes from Helm charts, which the floor renders with
# `helm template` as the role does (release names as istio_helm_charts, default values).
ISTIO_CHARTS = [("istio-base", "base"), ("istiod", "istiod"), ("istio-ingressgateway", "gateway")]
RELEASE_FILES = [
    "cert-manager/cert-manager/releases/download/v{cert_manager}/cert-manager.yaml",
    "knative/serving/releases/download/knative-v{knative}/serving-crds.yaml",
    "knative/serving/releases/download/knative-v{knative}/serving-core.yaml",
    "knative-extensions/net-istio/releases/download/knative-v{net_istio}/net-istio.yaml",
    "kserve/kserve/releases/download/v{kserve}/kserve.yaml",
]
READINESS = [("crd", None), ("deployments", "cert-manager"), ("endpoints", "cert-manager"),
             ("deployments", "knative-serving"), ("endpoints", "knative-serving"), ("deployments", "kserve"),
             ("endpoints", "kserve"), ("deployments", "istio-system"), ("service", "istio-system")]


def site(lab):
    env = lab.client_env(ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, ".collections"), ANSIBLE_NOCOLOR="1")
    started = time.perf_counter()
    proc = subprocess.run([PLAYBOOK, "site.yml", "-i", "inventories/lab"], cwd=ROOT, env=env,
                          capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit("site.yml failed:\n" + proc.stdout[-4000:])
    recap = dict(re.findall(r"(\w+)=(\d+)", proc.stdout.rsplit("PLAY RECAP", 1)[1]))
    return seconds, recap


def k8s_requests(lab, before):
    new = [r for r in lab.requests()[before:] if r["service"] == "k8s"]
    return len(new), len([r for r in new if r.get("mutating")])


def floor(lab, mirror):
    helm = shutil.which("helm") or os.path.join(ROOT, ".venv", "bin", "helm")
    started = time.perf_counter()
    for release, chart in ISTIO_CHARTS:
        tgz = os.path.join(mirror, "istio-release", "charts", "%s-%s.tgz" % (chart, PINS["istio"]))
        rendered = subprocess.run([helm, "template", release, tgz, "--namespace", "istio-system", "--include-crds"],
                                  capture_output=True, text=True, check=True).stdout
        proc = subprocess.run(["kubectl", "--kubeconfig", os.path.join(lab.directory, "kserve-gke.kubeconfig"),
                               "apply", "--server-side", "--force-conflicts", "--field-manager", "kserve_gke",
                               "--dry-run=server", "-f", "-"], input=rendered, capture_output=True, text=True,
                              check=False)
        assert proc.returncode == 0, proc.stderr
    for path in RELEASE_FILES:
        lab.kubectl("apply", "--server-side", "--force-conflicts", "--field-manager", "kserve_gke",
                    "--dry-run=server", "-f", os.path.join(mirror, path.format(**PINS)))
    for kind, namespace in READINESS:
        lab.kubectl("get", kind, *(["-n", namespace] if namespace else []), "-o", "name")
    return time.perf_counter() - started


def main():
    work = tempfile.mkdtemp(prefix="bench-rerun-")
    lab = Lab(os.path.join(work, "lab"))
    try:
        lab.run("up", "--idle-timeout", "900")
        full, recap = site(lab)
        print("full converge on an empty lab: %6.1f s  (changed=%s)" % (full, recap.get("changed")))
        before = len(lab.requests())
        again, recap = site(lab)
        requests, writes = k8s_requests(lab, before)
        tasks = sum(int(recap.get(k, 0)) for k in ("ok", "changed", "skipped", "failed"))
        print("converged re-run:              %6.1f s  %d tasks (changed=%s), %d Kubernetes requests, %d writes"
              % (again, tasks, recap.get("changed"), requests, writes))
        before = len(lab.requests())
        base = floor(lab, os.path.join(lab.directory, "mirror"))
        requests, writes = k8s_requests(lab, before)
        print("floor (kubectl dry-run + gets): %6.1f s  %d Kubernetes requests, %d writes" % (base, requests, writes))
        print("ratio re-run / floor: %.2fx (goal: within 3x, and under 60 s)" % (again / base))
    finally:
        lab.run("down", check=False)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
