"""Honesty check for the bundled load tool: what switchboard-bench says it delivered must
match what an independent client (mosquitto_sub) saw on the same server."""
import json
import os
import subprocess
import time

import pytest

BENCH = os.environ.get("SWITCHBOARD_BENCH_BIN", os.path.join(os.path.dirname(__file__), "../../build/switchboard-bench"))


def run_bench(*args):
    proc = subprocess.run([BENCH, *args, "--json", "--no-progress"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout)


def count_with_mosquitto_sub(port, topic, expected, start_bench):
    """Subscribes with mosquitto_sub -C expected, runs the bench, returns (bench report, lines seen)."""
    sub = subprocess.Popen(["mosquitto_sub", "-p", str(port), "-i", "honesty-check", "-q", "1", "-t", topic,
                            "-C", str(expected), "-W", "60", "-F", "%t"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True)
    time.sleep(0.5)  # let the subscription reach every shard before the first publish
    report = start_bench()
    try:
        out, err = sub.communicate(timeout=70)
    except subprocess.TimeoutExpired:
        sub.kill()
        out, err = sub.communicate()
    return report, [line for line in out.splitlines() if line]


@pytest.mark.parametrize("qos", [0, 1])
def test_pubsub_counts_match_an_independent_subscriber(make_server, qos):
    server = make_server(shards=2)
    messages = 600
    report, lines = count_with_mosquitto_sub(
        server.mqtt_port, "bench/p2p/#", messages,
        lambda: run_bench("pubsub", "--mqtt", f"127.0.0.1:{server.mqtt_port}", "--mode", "p2p", "--pairs", "6",
                          "--qos", str(qos), "--count", str(messages), "--warmup", "0"))
    assert report["sent_total"] == messages
    assert report["received_total"] == messages, report
    assert report["lost"] == 0 and report["duplicates"] == 0
    # The independent subscriber saw exactly the messages the bench says it published.
    assert len(lines) == messages
    topics = set(lines)
    assert topics == {f"bench/p2p/{i}" for i in range(6)}


def test_direct_counts_match_the_servers_metrics(make_server):
    server = make_server("--sender-rate", "0", "--device-rate", "0", shards=2)
    report = run_bench("direct", "--mqtt", f"127.0.0.1:{server.mqtt_port}", "--http", f"127.0.0.1:{server.http_port}",
                       "--devices", "20", "--senders", "4", "--confirm", "--count", "500", "--warmup", "0")
    assert report["received_total"] == report["sent_total"]
    import helpers
    metrics = helpers.http_request(server.http_port, "GET", "/metrics")[2].decode()
    served = sum(float(line.rsplit(" ", 1)[1]) for line in metrics.splitlines()
                 if line.startswith("switchboard_direct_messages_total") and 'status="200"' in line)
    # Every 200 the bench counted was counted by the server too (and nothing else was sent).
    assert served == report["http_status"].get("200", 0) == report["sent_total"]
