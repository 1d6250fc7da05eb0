# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A lab of its own for each test module: started in a temporary state
directory, stopped afterwards, and proven gone."""
from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
import time

import pytest
import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
LAB = os.path.join(ROOT, "scripts", "lab")
PLAYBOOK = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
sys.path.insert(0, os.path.join(ROOT, "lab"))
from kserve_lab.cli import alive, lab_processes  # noqa: E402  pylint: disable=wrong-import-position
from kserve_lab.core import Knobs, RequestLog  # noqa: E402  pylint: disable=wrong-import-position
from kserve_lab.model_server import ModelServer  # noqa: E402  pylint: disable=wrong-import-position

ANSIBLE = os.path.join(os.path.dirname(sys.executable), "ansible")
SAMPLE_MODEL = os.path.join(ROOT, "samples", "model", "dogs-vs-cats")
with open(os.path.join(ROOT, "playbooks", "vars", "versions.yml"), encoding="utf-8") as _handle:
    PINS = yaml.safe_load(_handle)["kserve_gke_version_defaults"]  # the versions the lab's mirror serves


class Lab:
    def __init__(self, directory):
        self.directory = str(directory)
        self.env = dict(os.environ, KSERVE_LAB_DIR=self.directory)

    def run(self, *args, check=True):
        proc = subprocess.run([LAB] + list(args), capture_output=True, text=True, env=self.env, check=False)
        if check:
            assert proc.returncode == 0, proc.stdout + proc.stderr
        return proc

    @property
    def endpoints(self):
        with open(os.path.join(self.directory, "endpoints.json"), encoding="utf-8") as handle:
            return json.load(handle)

    def client_env(self, **extra):
        """The environment `eval "$(scripts/lab env)"` gives a shell."""
        env = dict(self.env)
        for line in self.run("env").stdout.splitlines():
            name, value = line[len("export "):].split("=", 1)
            env[name] = value.strip("'")
        env.update(extra)
        return env

    def requests(self):
        path = os.path.join(self.directory, "requests.jsonl")
        if not os.path.exists(path):
            return []
        with open(path, encoding="utf-8") as handle:
            return [json.loads(line) for line in handle]

    def gcs_client(self):
        """A google-cloud-storage client on the lab's GCS, as the modules build one."""
        from google.cloud import storage
        import google.oauth2.credentials
        env = self.client_env()
        return storage.Client(project=env["GCP_PROJECT"], credentials=google.oauth2.credentials.Credentials("lab"),
                              client_options={"api_endpoint": env["KSERVE_GKE_STORAGE_ENDPOINT"].rstrip("/")})

    def kubectl(self, *args):
        """kubectl on the kubeconfig the gke_cluster role wrote; returns stdout."""
        proc = subprocess.run(["kubectl", "--kubeconfig", os.path.join(self.directory, "kserve-gke.kubeconfig")]
                              + list(args), capture_output=True, text=True, check=False)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    def wait_unready(self, namespace, deployment, timeout=60):
        """Wait until no Pod of a Deployment is ready (a real Deployment controller then leaves readyReplicas out
        of the status rather than writing 0, so `kubectl wait --for=jsonpath=...=0` would never match)."""
        deadline = time.monotonic() + timeout
        while self.kubectl("-n", namespace, "get", "deployment/" + deployment, "-o",
                           "jsonpath={.status.readyReplicas}") not in ("", "0"):
            assert time.monotonic() < deadline, "%s/%s still has ready Pods" % (namespace, deployment)
            time.sleep(0.5)

    def kubeconfig_with_token(self, token, path):
        """A copy of the kubeconfig the gke_cluster role wrote, at `path`, whose users present `token` instead (kubectl's
        --token does not replace a kubeconfig's tokenFile); returns the path."""
        with open(os.path.join(self.directory, "kserve-gke.kubeconfig"), encoding="utf-8") as handle:
            config = yaml.safe_load(handle)
        for user in config["users"]:
            user["user"] = {"token": token}
        with open(path, "w", encoding="utf-8") as handle:
            yaml.safe_dump(config, handle)
        return str(path)

    def kubectl_apply(self, text):
        """kubectl apply -f - on the kubeconfig the gke_cluster role wrote; returns the process."""
        return subprocess.run(["kubectl", "--kubeconfig", os.path.join(self.directory, "kserve-gke.kubeconfig"),
                               "apply", "-f", "-"], input=text, capture_output=True, text=True, check=False)

    def writes(self, since=0, service=None):
        """The mutating requests logged after the first `since` requests."""
        return [r for r in self.requests()[since:] if r["mutating"] and service in (None, r["service"])]

    def play(self, tags, *args, env=None):
        """site.yml against the lab inventory, limited to tags, as a user runs it (with `env` added to the lab's)."""
        env = self.client_env(ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, ".collections"), ANSIBLE_NOCOLOR="1",
                              ANSIBLE_FORCE_COLOR="0", **(env or {}))
        return subprocess.run([PLAYBOOK, "site.yml", "-i", "inventories/lab", "--tags", tags] + list(args),
                              cwd=ROOT, env=env, capture_output=True, text=True, check=False)

    def converged(self, tags, *args):
        """site.yml limited to tags, which must succeed; the lab, for module fixtures to build on."""
        proc = self.play(tags, *args)
        assert proc.returncode == 0, proc.stdout[-3000:]
        return self

    def assert_check_mode_writes_nothing(self, tags, *args):
        """site.yml in check mode: it must succeed and send no mutating request; returns the process."""
        before = len(self.requests())
        proc = self.play(tags, "--check", *args)
        assert proc.returncode == 0, proc.stdout[-3000:]
        assert self.writes(before) == []
        return proc

    def assert_rerun_changes_nothing(self, tags, *args):
        """site.yml again: it must succeed, report no change and send no mutating request."""
        before = len(self.requests())
        again = self.play(tags, *args)
        assert again.returncode == 0 and recap(again)["changed"] == "0", again.stdout[-3000:]
        assert self.writes(before) == []
        return again

    @staticmethod
    def pid_alive(pid):
        return alive(pid)


@contextlib.contextmanager
def model_server(log_path, name="dogs-vs-cats", base_path=SAMPLE_MODEL):
    """The lab's model server on 127.0.0.1, in a thread, serving the sample model; stopped and proven
    stopped on exit. Its request log is at .request_log."""
    server = ModelServer(("127.0.0.1", 0), name, base_path, RequestLog(log_path), Knobs())
    server.request_log = log_path
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)
        assert not thread.is_alive(), "the model server did not stop"


def until(what, check, timeout=60):
    """check()'s first truthy answer within `timeout` seconds, asked every half second; else fail naming `what`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.5)
    raise AssertionError("no %s within %d s" % (what, timeout))


def run_module(module, args, *flags):
    """One module run as `ansible localhost -m module -a JSON`: (process, the task's result or {})."""
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, ".collections"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_LOAD_CALLBACK_PLUGINS="1", ANSIBLE_STDOUT_CALLBACK="json")
    proc = subprocess.run([ANSIBLE, "localhost", "-m", module, "-a", json.dumps(args)] + list(flags),
                          capture_output=True, text=True, env=env, cwd=ROOT, check=False)
    start = proc.stdout.find("{")
    result = json.loads(proc.stdout[start:])["plays"][0]["tasks"][0]["hosts"]["localhost"] if start >= 0 else {}
    return proc, result


def recap(proc):
    """The PLAY RECAP counters of a playbook run, as a dict of strings."""
    line = [x for x in proc.stdout.splitlines() if x.startswith("localhost")][-1]
    return dict(part.split("=") for part in line.split(":", 1)[1].split())


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    instance = Lab(tmp_path_factory.mktemp("lab"))
    instance.run("up", "--idle-timeout", "600")
    pid = instance.endpoints["pid"]
    yield instance
    instance.run("down")
    assert not instance.pid_alive(pid), "the lab left a process behind"
    assert lab_processes(instance.directory) == [], "the lab left a process behind"
