"""Shared fixtures: start the real switchboard binary on ephemeral loopback ports."""
import os
import queue
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time

import pytest

BIN = os.environ.get("SWITCHBOARD_BIN", os.path.join(os.path.dirname(__file__), "../../build/switchboard"))

LISTENING = re.compile(r"listening (mqtt|http) (\S+):(\d+)$")


class Server:
    def __init__(self, *args, shards=2):
        self.data = tempfile.mkdtemp(prefix="sb-data-")
        self.args = [BIN, "--mqtt", "127.0.0.1:0", "--http", "127.0.0.1:0", "--shards", str(shards),
                     "--data", self.data, "--pin-threads", "off", *args]
        self.proc = subprocess.Popen(self.args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.mqtt_port = self.http_port = None
        self.stdout_lines = []
        self.log = []
        # Both pipes are drained by threads for the life of the process, so the server never
        # blocks on a full pipe and start-up never blocks on a silent server.
        lines = queue.Queue()
        threading.Thread(target=self._drain, args=(self.proc.stdout, self.stdout_lines, lines), daemon=True).start()
        threading.Thread(target=self._drain, args=(self.proc.stderr, self.log, None), daemon=True).start()
        deadline = time.monotonic() + 20
        while self.mqtt_port is None or self.http_port is None:
            try:
                line = lines.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                break
            if line is None:
                break
            m = LISTENING.match(line.strip())
            if m:
                setattr(self, f"{m.group(1)}_port", int(m.group(3)))
        if self.mqtt_port is None or self.http_port is None:
            self.proc.kill()
            self.proc.wait()
            raise RuntimeError("server did not start:\n" + "".join(self.log))

    @staticmethod
    def _drain(stream, sink, lines):
        for line in stream:
            sink.append(line)
            if lines is not None:
                lines.put(line)
        if lines is not None:
            lines.put(None)

    @property
    def http(self):
        return f"http://127.0.0.1:{self.http_port}"

    def terminate(self):
        """Sends SIGTERM without waiting (the caller checks what happens during the drain)."""
        self.proc.send_signal(signal.SIGTERM)

    def wait(self, timeout=20):
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("server did not exit after SIGTERM")

    def stop(self, timeout=20):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        code = self.wait(timeout)
        shutil.rmtree(self.data, ignore_errors=True)
        return code


@pytest.fixture
def server():
    s = Server()
    yield s
    assert s.stop() == 0, "server exited uncleanly:\n" + "".join(s.log[-50:])


def _servers():
    """Yields make(*flags, **options) -> Server; stops every server made when resumed and fails
    if one exited uncleanly."""
    started = []

    def make(*args, **kwargs):
        s = Server(*args, **kwargs)
        started.append(s)
        return s

    yield make
    failures = []
    for s in started:
        code = s.stop()
        if code != 0:
            failures.append(f"exit code {code}:\n" + "".join(s.log[-50:]))
    assert not failures, "server exited uncleanly:\n" + "\n".join(failures)


@pytest.fixture
def make_server():
    yield from _servers()


@pytest.fixture
def make_server_on_data():
    """Like make_server, for restart tests: make(*flags, data=DIR, shards=N) starts a server on
    an existing data directory (data=None: a fresh one, as make_server). Data directories
    outlive the servers and are removed after all of the test's servers stopped. A test that
    kills a server on purpose sets `s.killed = True` so its SIGKILL exit is not a failure."""
    started = []
    dirs = []

    def make(*args, data=None, shards=2):
        s = Server(*args, *(("--data", data) if data else ()), shards=shards)  # the last --data wins
        if data:
            shutil.rmtree(s.data, ignore_errors=True)  # the unused fresh directory
            s.data = data
        s.killed = False
        started.append(s)
        if s.data not in dirs:
            dirs.append(s.data)
        return s

    yield make
    failures = []
    for s in started:
        if s.proc.poll() is None:
            s.proc.send_signal(signal.SIGTERM)
        code = s.wait()
        if code != 0 and not (s.killed and code == -signal.SIGKILL):
            failures.append(f"exit code {code}:\n" + "".join(s.log[-50:]))
    for d in dirs:
        shutil.rmtree(d, ignore_errors=True)
    assert not failures, "server exited uncleanly:\n" + "\n".join(failures)


@pytest.fixture(scope="module")
def make_module_server():
    """Like make_server, but the servers live for the whole test module (for tests that share
    one server and keep out of each other's way with unique names)."""
    yield from _servers()
