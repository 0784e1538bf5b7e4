"""A throwaway Ray cluster on this machine for the batch tests: a head node and one more worker node, each
started with ``ray start --block`` in its own process group and stopped by that group's id (never by a
process name: other users' Ray processes on the machine are left alone)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[3]
# Ray 2.60 replaces a loopback --node-ip-address by the machine's own address (so other nodes can join):
# the nodes register with this machine's interface address; the driver reaches the head on 127.0.0.1.
NODE_OPTIONS = [
    "--num-cpus=1", "--num-gpus=0", "--disable-usage-stats", "--block", "--object-store-memory=80000000",
]  # fmt: skip


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class LocalCluster:
    def __init__(self) -> None:
        self.folder = tempfile.mkdtemp(prefix="lpray", dir="/tmp")  # short: Ray's socket paths have a limit
        self.address = f"127.0.0.1:{_free_port()}"
        # The test cluster lives on this machine only; Ray's token authentication is for shared clusters.
        path = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
        self.env = {**os.environ, "RAY_AUTH_MODE": "disabled", "PYTHONPATH": path}
        self.nodes: list[subprocess.Popen] = []

    def start(self, timeout: float = 90.0) -> LocalCluster:
        """Start both nodes and connect this process to them (as the batch's driver)."""
        import ray

        ray_command = [str(Path(sys.executable).with_name("ray")), "start"]
        port = self.address.rsplit(":", 1)[1]
        head = ["--head", f"--port={port}", "--include-dashboard=false", f"--temp-dir={self.folder}"]
        self._launch([*ray_command, *head, *NODE_OPTIONS], "head.log")
        self._launch([*ray_command, f"--address={self.address}", *NODE_OPTIONS], "worker.log")
        os.environ["RAY_AUTH_MODE"] = "disabled"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if not ray.is_initialized():
                    ray.init(address=self.address, logging_level="ERROR", log_to_driver=False)
                if ray.cluster_resources().get("CPU", 0) >= 2:
                    return self
            except (ConnectionError, RuntimeError):
                pass
            time.sleep(1.0)
        self.stop()
        raise RuntimeError(f"the test Ray cluster did not start; logs in {self.folder}")

    def _launch(self, command: list[str], log: str) -> None:
        with open(Path(self.folder) / log, "w") as out:
            self.nodes.append(
                subprocess.Popen(
                    command, env=self.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
                )
            )

    def processes(self) -> list[psutil.Process]:
        """Every process the cluster's nodes started (raylets, workers, ...)."""
        found = []
        for node in self.nodes:
            try:
                found += psutil.Process(node.pid).children(recursive=True)
            except psutil.NoSuchProcess:
                pass
        return found

    def busy_worker(self, method: str) -> psutil.Process | None:
        """A worker process running ``method`` of an actor right now (Ray names it ``ray::Class.method``)."""
        for process in self.processes():
            try:
                if " ".join(process.cmdline()).startswith(f"ray::{method}"):
                    return process
            except psutil.Error:
                pass
        return None

    def stop(self) -> None:
        import ray

        ray.shutdown()
        leftovers = self.processes()
        for node in self.nodes:
            _signal_group(node.pid, signal.SIGTERM)
        for node in self.nodes:
            try:
                node.wait(timeout=5)
            except subprocess.TimeoutExpired:
                _signal_group(node.pid, signal.SIGKILL)
                node.wait()
        # Workers that moved to a session of their own would outlive their node: end them by their ids.
        for process in leftovers:
            try:
                process.kill()
            except psutil.Error:
                pass


def _signal_group(pid: int, number: int) -> None:
    try:
        os.killpg(pid, number)
    except ProcessLookupError:
        pass
