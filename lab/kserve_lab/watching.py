# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the lab's controllers on a real control plane share: watch some lists, and reconcile after any change,
as a Kubernetes controller's informers and work queue do (one queue item: everything)."""

from __future__ import annotations

import threading
import traceback


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

    def start(self):
        for lister, args in self.watched():
            threading.Thread(target=self._watch, args=(lister, args), daemon=True).start()
        threading.Thread(target=self._loop, daemon=True).start()
        self.dirty.set()

    def _watch(self, lister, args):
        from kubernetes import watch
        while not self.stopping.is_set():
            try:
                for _event in watch.Watch().stream(lister, *args, timeout_seconds=60):
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
