# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Issue 16's fault matrix: site.yml on a fresh lab with one fault kind injected on one API at a rate, then
again on the converged lab without faults. For each API and kind it prints whether the faulty run converged,
its time and the faults it met, and the writes of the re-run (which must be 0), next to a run without faults
measured in the same session.

    .venv/bin/python bench/fault_matrix.py [--rate 0.2] [--apis k8s,gke] [--kinds 429,503,reset]

Each case starts its own lab in a temporary directory and stops it afterwards (about four minutes a case on
2 cores; the whole matrix takes about an hour).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "lab"))
from conftest import PLAYBOOK, Lab  # noqa: E402  pylint: disable=wrong-import-position

APIS = ("k8s", "gke", "serviceusage", "iam", "gcs")
KINDS = ("429", "503", "reset")


def site(lab):
    env = lab.client_env(ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, ".collections"), ANSIBLE_NOCOLOR="1")
    started = time.perf_counter()
    proc = subprocess.run([PLAYBOOK, "site.yml", "-i", "inventories/lab"], cwd=ROOT, env=env,
                          capture_output=True, text=True, check=False)
    return proc, time.perf_counter() - started


def case(api, kind, rate):
    """(converged, seconds, faults met, re-run writes or None, last lines when it failed)."""
    directory = tempfile.mkdtemp(prefix="fault-matrix-")
    lab = Lab(os.path.join(directory, "lab"))
    try:
        if api:
            lab.run("knobs", "--fault", "%s=%s:%s" % (api, rate, kind), "--seed", "16")
        lab.run("up", "--idle-timeout", "900")
        proc, seconds = site(lab)
        faults = sum(1 for r in lab.requests() if r.get("fault"))
        if proc.returncode != 0:
            return False, seconds, faults, None, proc.stdout[-1500:]
        lab.run("down")
        lab.run("knobs")
        lab.run("up", "--idle-timeout", "900")
        before = len(lab.requests())
        again, _seconds = site(lab)
        writes = len(lab.writes(before)) if again.returncode == 0 else None
        return True, seconds, faults, writes, "" if again.returncode == 0 else again.stdout[-1500:]
    finally:
        lab.run("down", check=False)
        shutil.rmtree(directory, ignore_errors=True)


def main():
    # The tools the site playbook runs (helm, kubectl from the venv) as `make` finds them.
    os.environ["PATH"] = os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--rate", type=float, default=0.2)
    parser.add_argument("--apis", default=",".join(APIS))
    parser.add_argument("--kinds", default=",".join(KINDS))
    args = parser.parse_args()
    rows = [("(none)", "-", case(None, None, 0))]
    for api in args.apis.split(","):
        for kind in args.kinds.split(","):
            rows.append((api, kind, case(api, kind, args.rate)))
            print("%-13s %-6s done" % (api, kind), flush=True)
    base = rows[0][2][1]
    print("\nfault rate %.0f %%; each row: site.yml on a fresh lab with the fault, then a re-run without it" % (
        args.rate * 100))
    header = ("api", "kind", "converged", "time s", "x base", "faults", "re-run writes")
    print("%-13s %-6s %-9s %8s %7s %7s %s" % header)
    for api, kind, (converged, seconds, faults, writes, tail) in rows:
        shown = "-" if writes is None else writes
        print("%-13s %-6s %-9s %8.1f %7.2f %7d %s" % (
            api, kind, "yes" if converged else "NO", seconds, seconds / base, faults, shown))
        if tail:
            print("    " + tail.strip().replace("\n", "\n    ")[-1200:])


if __name__ == "__main__":
    main()
