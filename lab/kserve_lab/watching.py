# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the lab's controllers on a real control plane share: watch some lists, and reconcile after any change,
as a Kubernetes controller's informers and work queue do (one queue item: everything)."""

from __future__ import annotations

import datetime
import threading
import traceback


def timestamp(days=0):
    """Now (or `days` from now) as Kubernetes writes times: RFC 3339, UTC, whole seconds."""
    when = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=days)
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


class Reconciler:
    """Subclasses give watched() (list functions of the kubernetes client, with their arguments) and reconcile().
    A list whose resource does not exist yet (a CRD not installed) is watched again every few seconds."""

    def __init__(self, api, stopping):
        self.api, self.stopping = api, stopping
        self.dirty = threading.Event()

    def watched(self):
        raise NotImplementedError

    def reconcile(self):
        raise NotImplementedError

    def changed(self, index):
        """Called for every event of the index-th watched list, before the reconcile it brings."""

    def start(self):
        for index, (lister, args) in enumerate(self.watched()):
            threading.Thread(target=self._watch, args=(index, lister, args), daemon=True).start()
        threading.Thread(target=self._loop, daemon=True).start()
        self.dirty.set()

    def _watch(self, index, lister, args):
        from kubernetes import watch
        while not self.stopping.is_set():
            try:
                for _event in watch.Watch().stream(lister, *args, timeout_seconds=60):
                    self.changed(index)
                    self.dirty.set()
            except Exception:  # pylint: disable=broad-except  # not installed yet, the API restarting or going
                if self.stopping.wait(2):
                    return

    def _loop(self):
        while not self.stopping.is_set():
            if not self.dirty.wait(1):
                continue
            self.dirty.clear()
            try:
                self.reconcile()
            except Exception:  # pylint: disable=broad-except  # logged; the next change tries again
                if not self.stopping.is_set():
                    traceback.print_exc()
