# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""scripts/lab up|down|status|env|reset|knobs: run the lab in the background."""

from __future__ import annotations

import argparse
import collections
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
# What a reset empties: everything a project or a run leaves (the mirror and the knobs stay).
STATE_FILES = ("gke.json", "iam.json", "serviceusage.json", "requests.jsonl", "kubeconfig", "kserve-gke.kubeconfig",
               "token", "lab.log")
STATE_DIRS = ("gcs", "clusters", "serving", "kserve-gke.kubeconfig.d")


def state_dir():
    return os.environ.get("KSERVE_LAB_DIR") or os.path.join(ROOT, ".lab")


def read_endpoints(directory):
    try:
        with open(os.path.join(directory, "endpoints.json"), encoding="utf-8") as handle:
            return json.load(handle)
    except (FileNotFoundError, ValueError):
        return None


def alive(pid):
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    try:  # a zombie child of ours is not alive
        with open("/proc/%d/stat" % pid, encoding="utf-8") as handle:
            return handle.read().split(") ", 1)[1][0] != "Z"
    except (FileNotFoundError, IndexError):
        return True


def answers(endpoints):
    """True once every twin answers a real request (an API error is an answer:
    a new project's Kubernetes Engine API is disabled, so GKE says 403)."""
    checks = [
        (endpoints["gke"] + "/v1/projects/%s/locations/-/clusters" % endpoints["project"], endpoints["token"]),
        (endpoints["gcs"] + "/storage/v1/b?project=%s" % endpoints["project"], None),
        (endpoints["serviceusage"] + "/v1/projects/%s/services" % endpoints["project"], endpoints["token"]),
        (endpoints["iam"] + "/v1/projects/%s/serviceAccounts" % endpoints["project"], endpoints["token"]),
        (endpoints["mirror"] + "/", None),
    ]
    for url, token in checks:
        request = urllib.request.Request(url)
        if token:
            request.add_header("Authorization", "Bearer " + token)
        try:
            with urllib.request.urlopen(request, timeout=2) as response:
                json.load(response)
        except urllib.error.HTTPError as exc:
            if exc.code >= 500:
                return False
        except (urllib.error.URLError, OSError, ValueError):
            return False
    return True


def running(directory):
    endpoints = read_endpoints(directory)
    if endpoints and alive(endpoints["pid"]):
        return endpoints
    return None


def cmd_up(args):
    directory = state_dir()
    endpoints = running(directory)
    if endpoints and answers(endpoints):
        print("lab: already up (pid %d)" % endpoints["pid"])
        return 0
    os.makedirs(directory, exist_ok=True)
    try:
        os.remove(os.path.join(directory, "endpoints.json"))
    except FileNotFoundError:
        pass
    with open(os.path.join(directory, "lab.log"), "ab") as log:
        proc = subprocess.Popen(  # pylint: disable=consider-using-with
            [sys.executable, "-m", "kserve_lab", "serve", "--idle-timeout", str(args.idle_timeout)],
            cwd=os.path.dirname(os.path.dirname(__file__)), stdout=log, stderr=log, stdin=subprocess.DEVNULL,
            start_new_session=True, env=dict(os.environ, KSERVE_LAB_DIR=directory))
    deadline = time.monotonic() + args.timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            print("lab: the server exited with %d; see %s" % (proc.returncode, os.path.join(directory, "lab.log")),
                  file=sys.stderr)
            return 1
        endpoints = read_endpoints(directory)
        if endpoints and endpoints["pid"] == proc.pid and answers(endpoints):
            print("lab: up (pid %d) gke=%s gcs=%s" % (proc.pid, endpoints["gke"], endpoints["gcs"]))
            return 0
        time.sleep(0.1)
    proc.terminate()
    print("lab: not answering after %ss; see %s" % (args.timeout, os.path.join(directory, "lab.log")),
          file=sys.stderr)
    return 1


def lab_processes(directory):
    """The processes with the lab's directory on their command line (a cluster's etcd, kube-apiserver,
    controllers and kwok all have it), as (pid, command) pairs."""
    inside = os.path.realpath(directory) + os.sep
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as handle:
                command = handle.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if inside in command and int(pid) != os.getpid() and alive(int(pid)):
            found.append((int(pid), command[:200]))
    return found


def _wait_gone(pid, seconds):
    deadline = time.monotonic() + seconds
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not alive(pid)


def stop(directory):
    endpoints = read_endpoints(directory)
    if not endpoints or not alive(endpoints["pid"]):
        return False
    pid = endpoints["pid"]
    os.kill(pid, signal.SIGTERM)
    # A lab with real control planes stops each (kube-apiserver ends its watches first): allow for it.
    if not _wait_gone(pid, 60):
        os.kill(pid, signal.SIGKILL)
    # What the lab started dies with it (PR_SET_PDEATHSIG); wait for that, and end whatever does not go.
    for other, _command in lab_processes(directory):
        if not _wait_gone(other, 15):
            os.kill(other, signal.SIGKILL)
    try:
        os.remove(os.path.join(directory, "endpoints.json"))
    except FileNotFoundError:
        pass
    return True


def cmd_down(_args):
    print("lab: stopped" if stop(state_dir()) else "lab: was not running")
    return 0


def cmd_status(_args):
    directory = state_dir()
    endpoints = running(directory)
    counts = collections.Counter()
    log_path = os.path.join(directory, "requests.jsonl")
    if os.path.exists(log_path):
        with open(log_path, encoding="utf-8") as handle:
            for line in handle:
                entry = json.loads(line)
                counts[(entry["service"], entry["mutating"])] += 1
    if not endpoints:
        print("lab: down")
    else:
        print("lab: up (pid %d)" % endpoints["pid"])
        for service in ("gke", "gcs", "serviceusage", "iam", "mirror"):
            print("  %-4s %s" % (service, endpoints[service]))
        print("  knobs %s" % json.dumps(endpoints["knobs"], sort_keys=True))
    for (service, mutating), count in sorted(counts.items()):
        print("  requests %-8s %-9s %d" % (service, "mutating" if mutating else "reading", count))
    return 0 if endpoints else 3


def env_lines(endpoints, directory):
    token_file = os.path.join(directory, "token")
    exports = collections.OrderedDict([
        ("KSERVE_LAB_DIR", directory),
        ("KUBECONFIG", os.path.join(directory, "kubeconfig")),
        ("CLOUDSDK_API_ENDPOINT_OVERRIDES_CONTAINER", endpoints["gke"] + "/"),
        ("CLOUDSDK_API_ENDPOINT_OVERRIDES_SERVICEUSAGE", endpoints["serviceusage"] + "/"),
        ("CLOUDSDK_API_ENDPOINT_OVERRIDES_IAM", endpoints["iam"] + "/"),
        ("CLOUDSDK_API_ENDPOINT_OVERRIDES_IAMCREDENTIALS", endpoints["iam"] + "/"),
        ("CLOUDSDK_AUTH_ACCESS_TOKEN_FILE", token_file),
        ("CLOUDSDK_CORE_PROJECT", endpoints["project"]),
        ("CLOUDSDK_CORE_DISABLE_PROMPTS", "1"),
        ("STORAGE_EMULATOR_HOST", endpoints["gcs"]),
        ("GOOGLE_CLOUD_PROJECT", endpoints["project"]),
        # The collection's GCP modules: auth options and one endpoint per API.
        ("GCP_AUTH_KIND", "accesstoken"),
        ("GCP_ACCESS_TOKEN", endpoints["token"]),
        ("GCP_PROJECT", endpoints["project"]),
        ("KSERVE_GKE_CONTAINER_ENDPOINT", endpoints["gke"] + "/"),
        ("KSERVE_GKE_COMPUTE_ENDPOINT", endpoints["gke"] + "/"),
        ("KSERVE_GKE_IAM_ENDPOINT", endpoints["iam"] + "/"),
        ("KSERVE_GKE_SERVICEUSAGE_ENDPOINT", endpoints["serviceusage"] + "/"),
        ("KSERVE_GKE_STORAGE_ENDPOINT", endpoints["gcs"] + "/"),
        # Release manifests: the lab's mirror stands in for https://github.com.
        ("KSERVE_GKE_RELEASE_BASE", endpoints["mirror"]),
        ("KSERVE_GKE_RAW_BASE", endpoints["mirror"] + "/raw"),
    ])
    return ["export %s=%s" % (k, shlex.quote(v)) for k, v in exports.items()]


def cmd_env(_args):
    directory = state_dir()
    endpoints = running(directory)
    if not endpoints:
        print("lab: down; run scripts/lab up first", file=sys.stderr)
        return 1
    print("\n".join(env_lines(endpoints, directory)))
    return 0


def cmd_reset(args):
    directory = state_dir()
    was_up = stop(directory)
    for name in STATE_FILES:
        try:
            os.remove(os.path.join(directory, name))
        except FileNotFoundError:
            pass
    for name in STATE_DIRS:
        shutil.rmtree(os.path.join(directory, name), ignore_errors=True)
    print("lab: state emptied")
    return cmd_up(args) if was_up else 0


def parse_fault(text):
    """'gke=0.2:503,reset' -> ('gke', {'rate': 0.2, 'kinds': ['503', 'reset']})."""
    service, spec = text.split("=", 1) if "=" in text else (text, "")
    rate, kinds = spec.split(":", 1) if ":" in spec else (spec, "")
    return service, {"rate": float(rate), "kinds": [k for k in kinds.split(",") if k]}


def cmd_knobs(args):
    from .core import Knobs
    faults = dict(parse_fault(f) for f in args.fault)
    knobs = Knobs(latency_scale=args.latency_scale, faults=faults, seed=args.seed)  # validates the kinds
    directory = state_dir()
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, "knobs.json"), "w", encoding="utf-8") as handle:
        json.dump(knobs.as_dict(), handle, indent=2)
    print("lab: knobs saved; they apply from the next 'scripts/lab up' (or 'reset')")
    return 0


def cmd_serve(args):
    from .server import serve
    serve(state_dir(), idle_timeout=args.idle_timeout)
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(prog="scripts/lab", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("up", "reset"):
        p = sub.add_parser(name)
        p.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for every twin to answer")
        p.add_argument("--idle-timeout", type=float, default=1800.0,
                       help="the lab stops by itself after this many seconds without a request")
    sub.add_parser("down")
    sub.add_parser("status")
    sub.add_parser("env")
    p = sub.add_parser("knobs")
    p.add_argument("--latency-scale", type=float, default=0.02)
    p.add_argument("--fault", action="append", default=[], metavar="SERVICE=RATE:KIND[,KIND]",
                   help="e.g. gke=0.3:503,reset (kinds: 429 500 503 reset slow)")
    p.add_argument("--seed", type=int, default=0)
    p = sub.add_parser("serve")
    p.add_argument("--idle-timeout", type=float, default=1800.0)
    args = parser.parse_args(argv)
    handlers = {"up": cmd_up, "down": cmd_down, "status": cmd_status, "env": cmd_env, "reset": cmd_reset,
                "knobs": cmd_knobs, "serve": cmd_serve}
    sys.exit(handlers[args.command](args))
