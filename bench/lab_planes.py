# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A lab cluster on a real control plane (`scripts/lab up --kubernetes real`, issue 14) against the same cluster
on the hand-written API, in one run, as a user meets them:

- the gke_cluster role on an empty lab (enables the API, creates the cluster, waits, writes the kubeconfig);
- the istio, cert_manager, knative and kserve roles on that cluster;
- resident memory of the lab's processes with that stack installed (the lab server, and for the real plane
  etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok);
- a lab restart: `scripts/lab down`, `scripts/lab up`, until `kubectl get nodes` answers.

    .venv/bin/python bench/lab_planes.py

Issue 14's figures: a cluster that answers within 30 s of `scripts/lab up`; one cluster within 1.5 GB resident.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, "lab"))
from kserve_lab.cli import lab_processes  # noqa: E402  pylint: disable=wrong-import-position

LAB = os.path.join(ROOT, "scripts", "lab")
PLAYBOOK = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
STACK = "istio,cert_manager,knative,kserve"


def rss_mb(pids):
    total = 0
    for pid in pids:
        try:
            with open("/proc/%d/status" % pid, encoding="utf-8") as handle:
                total += next(int(line.split()[1]) for line in handle if line.startswith("VmRSS:"))
        except (OSError, StopIteration):
            continue
    return total / 1024


def run(directory, kubernetes):
    env = dict(os.environ, KSERVE_LAB_DIR=directory, ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, ".collections"))

    def lab(*args):
        return subprocess.run([LAB, *args], env=env, capture_output=True, text=True, check=True)

    lab("up", "--kubernetes", kubernetes, "--idle-timeout", "600")
    for line in lab("env").stdout.splitlines():
        name, value = line[len("export "):].split("=", 1)
        env[name] = value.strip("'")
    figures = {}

    def play(tags):
        started = time.monotonic()
        proc = subprocess.run([PLAYBOOK, "site.yml", "-i", "inventories/lab", "--tags", tags], cwd=ROOT, env=env,
                              capture_output=True, text=True, check=False)
        if proc.returncode:
            raise SystemExit("%s (%s) failed:\n%s" % (tags, kubernetes, proc.stdout[-2000:]))
        return time.monotonic() - started

    figures["gke_cluster"] = play("gke_cluster")
    figures["stack"] = play(STACK)
    with open(os.path.join(directory, "endpoints.json"), encoding="utf-8") as handle:
        server = json.load(handle)["pid"]
    figures["rss_mb"] = rss_mb([server] + [pid for pid, _command in lab_processes(directory)])
    kubeconfig = os.path.join(directory, "kserve-gke.kubeconfig")
    lab("down")
    started = time.monotonic()
    lab("up", "--kubernetes", kubernetes, "--idle-timeout", "600")
    while subprocess.run(["kubectl", "--kubeconfig", kubeconfig, "get", "nodes"], capture_output=True,
                         check=False).returncode:
        time.sleep(0.2)
    figures["restart"] = time.monotonic() - started
    lab("down")
    return figures


def main():
    results = {}
    for kubernetes in ("twin", "real"):
        directory = tempfile.mkdtemp(prefix="kserve-bench-%s-" % kubernetes)
        try:
            results[kubernetes] = run(directory, kubernetes)
        finally:
            shutil.rmtree(directory, ignore_errors=True)
    twin, real = results["twin"], results["real"]
    print("%-44s %10s %10s %8s" % ("", "twin", "real", "ratio"))
    for key, label, unit in (("gke_cluster", "gke_cluster role on an empty lab", "s"),
                             ("stack", "istio, cert_manager, knative, kserve roles", "s"),
                             ("rss_mb", "resident memory with the stack", "MB"),
                             ("restart", "lab down + up until kubectl answers", "s")):
        print("%-44s %8.1f %-2s %7.1f %-2s %7.2fx" % (label, twin[key], unit, real[key], unit, real[key] / twin[key]))


if __name__ == "__main__":
    main()
