# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A lab of its own for each test module: started in a temporary state
directory, stopped afterwards, and proven gone."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
LAB = os.path.join(ROOT, "scripts", "lab")
sys.path.insert(0, os.path.join(ROOT, "scripts"))
from kserve_lab.cli import alive  # noqa: E402  pylint: disable=wrong-import-position


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

    @staticmethod
    def pid_alive(pid):
        return alive(pid)


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    instance = Lab(tmp_path_factory.mktemp("lab"))
    instance.run("up", "--idle-timeout", "600")
    pid = instance.endpoints["pid"]
    yield instance
    instance.run("down")
    assert not instance.pid_alive(pid), "the lab left a process behind"
