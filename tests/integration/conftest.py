"""Shared fixtures: start the real switchboard binary on ephemeral loopback ports."""
import os
import re
import signal
import subprocess
import tempfile
import threading
import time

import pytest

BIN = os.environ.get("SWITCHBOARD_BIN", os.path.join(os.path.dirname(__file__), "../../build/switchboard"))


class Server:
    def __init__(self, *args, shards=2):
        self.data = tempfile.mkdtemp(prefix="sb-data-")
        self.args = [BIN, "--mqtt", "127.0.0.1:0", "--http", "127.0.0.1:0", "--shards", str(shards),
                     "--data", self.data, "--pin-threads", "off", *args]
        self.proc = subprocess.Popen(self.args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.mqtt_port = self.http_port = None
        self.log = []
        deadline = time.time() + 20
        while (self.mqtt_port is None or self.http_port is None) and time.time() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            m = re.match(r"listening (mqtt|http) (\S+):(\d+)", line.strip())
            if m:
                setattr(self, f"{m.group(1)}_port", int(m.group(3)))
        if self.mqtt_port is None or self.http_port is None:
            self.proc.kill()
            raise RuntimeError("server did not start: " + self.proc.stderr.read())
        # Keep draining stderr so the server never blocks on a full pipe.
        self._reader = threading.Thread(target=self._drain, daemon=True)
        self._reader.start()

    def _drain(self):
        for line in self.proc.stderr:
            self.log.append(line)

    @property
    def http(self):
        return f"http://127.0.0.1:{self.http_port}"

    def stop(self, timeout=20):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("server did not stop after SIGTERM")
        return self.proc.returncode


@pytest.fixture
def server():
    s = Server()
    yield s
    assert s.stop() == 0, "server exited uncleanly:\n" + "".join(s.log[-50:])


@pytest.fixture
def make_server():
    started = []

    def make(*args, **kwargs):
        s = Server(*args, **kwargs)
        started.append(s)
        return s

    yield make
    for s in started:
        assert s.stop() == 0, "server exited uncleanly:\n" + "".join(s.log[-50:])
