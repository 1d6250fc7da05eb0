# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A lab cluster on its real control plane (issue 14), as a user meets it, against issue 14's figures:

- the gke_cluster role on an empty lab (enables the API, creates the cluster, waits, writes the kubeconfig);
- the istio, cert_manager, knative and kserve roles on that cluster;
- resident memory of the lab's processes with that stack installed (the lab server, etcd, kube-apiserver,
  kube-controller-manager, kube-scheduler and kwok);
- a lab restart: `scripts/lab down`, `scripts/lab up`, until `kubectl get nodes` answers.

    .venv/bin/python bench/lab_planes.py

Issue 14's figures, printed beside them with the share of each used: a cluster that answers within 30 s of
`scripts/lab up`; one cluster within 1.5 GB resident. (The hand-written API it replaced took 9.9 s, 25.3 s, 73 MB
and 1.0 s here: bench/README.md.)
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


def run(directory):
    env = dict(os.environ, KSERVE_LAB_DIR=directory, ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, ".collections"))

    def lab(*args):
        return subprocess.run([LAB, *args], env=env, capture_output=True, text=True, check=True)

    lab("up", "--idle-timeout", "600")
    for line in lab("env").stdout.splitlines():
        name, value = line[len("export "):].split("=", 1)
        env[name] = value.strip("'")
    figures = {}

    def play(tags):
        started = time.monotonic()
        proc = subprocess.run([PLAYBOOK, "site.yml", "-i", "inventories/lab", "--tags", tags], cwd=ROOT, env=env,
                              capture_output=True, text=True, check=False)
        if proc.returncode:
            raise SystemExit("%s failed:\n%s" % (tags, proc.stdout[-2000:]))
        return time.monotonic() - started

    figures["gke_cluster"] = play("gke_cluster")
    figures["stack"] = play(STACK)
    with open(os.path.join(directory, "endpoints.json"), encoding="utf-8") as handle:
        server = json.load(handle)["pid"]
    figures["rss_mb"] = rss_mb([server] + [pid for pid, _command in lab_processes(directory)])
    kubeconfig = os.path.join(directory, "kserve-gke.kubeconfig")
    lab("down")
    started = time.monotonic()
    lab("up", "--idle-timeout", "600")
    while subprocess.run(["kubectl", "--kubeconfig", kubeconfig, "get", "nodes"], capture_output=True,
                         check=False).returncode:
        time.sleep(0.2)
    figures["restart"] = time.monotonic() - started
    lab("down")
    return figures


def main():
    directory = tempfile.mkdtemp(prefix="kserve-bench-planes-")
    try:
        figures = run(directory)
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    print("%-44s %10s %10s %8s" % ("", "measured", "issue 14", "share"))
    for key, label, unit, target in (("gke_cluster", "gke_cluster role on an empty lab", "s", None),
                                     ("stack", "istio, cert_manager, knative, kserve roles", "s", None),
                                     ("rss_mb", "resident memory with the stack", "MB", 1536),
                                     ("restart", "lab down + up until kubectl answers", "s", 30)):
        limit = "%d %s" % (target, unit) if target else "-"
        share = "%.2f" % (figures[key] / target) if target else "-"
        print("%-44s %8.1f %-2s %10s %8s" % (label, figures[key], unit, limit, share))


if __name__ == "__main__":
    main()
