"""Operations (SPEC 7, 8): /health, /metrics, the `listening` lines, SIGTERM/SIGINT, and the
PROXY protocol (v1 and v2 headers built by hand) on both listeners."""
import json
import re
import signal
import socket
import struct

import pytest

from helpers import (DirectInBackground, RawHttp, RawMqtt, connect_packet,
                     direct, direct_path, http_request, metric_by_shard, metric_sum, metrics, raw_device,
                     refused, wait_until)


# ---------------------------------------------------------------------------------------------
# Start-up lines

def test_listening_lines(make_server):
    server = make_server()
    lines = [l.rstrip("\n") for l in server.stdout_lines if l.startswith("listening")]
    assert lines == [f"listening mqtt 127.0.0.1:{server.mqtt_port}", f"listening http 127.0.0.1:{server.http_port}"] or \
        lines == [f"listening http 127.0.0.1:{server.http_port}", f"listening mqtt 127.0.0.1:{server.mqtt_port}"]
    assert server.mqtt_port > 0 and server.http_port > 0 and server.mqtt_port != server.http_port
    # The printed ports are the live listeners.
    assert http_request(server.http_port, "GET", "/health")[0] == 200
    raw_device(server.mqtt_port, version=4).close()


# ---------------------------------------------------------------------------------------------
# /health

def test_health(server):
    status, headers, body = http_request(server.http_port, "GET", "/health")
    assert status == 200
    assert headers["Content-Type"] == "application/json"
    assert json.loads(body) == {"status": "ok", "shards": 2}
    assert http_request(server.http_port, "POST", "/health")[0] == 405


def test_health_is_503_while_draining(make_server):
    server = make_server("--drain-grace-ms", "10000", shards=1)
    dev = raw_device(server.mqtt_port, version=5)
    health = RawHttp(server.http_port)  # opened before the drain: the listener closes at SIGTERM
    health.send(b"GET /health HTTP/1.1\r\nHost: t\r\n\r\n")
    assert health.read_response()[0] == 200
    pending = DirectInBackground(server.http_port, dev.client_id, body=b"x", confirm=True, timeout=15)
    pub = dev.expect_publish()
    server.terminate()
    assert wait_until(lambda: refused(server.http_port), timeout=5), "listener still open while draining"
    health.send(b"GET /health HTTP/1.1\r\nHost: t\r\n\r\n")
    status, headers, body = health.read_response()
    assert status == 503
    assert json.loads(body)["status"] == "draining"
    assert headers.get("connection") == "close"
    # Finishing the last confirmation completes the drain.
    dev.puback(pub.packet_id)
    assert pending.get()[0] == 200
    dev.expect_disconnect(0x8B)
    assert server.wait() == 0


# ---------------------------------------------------------------------------------------------
# /metrics

def test_metrics_format(server):
    status, headers, body = http_request(server.http_port, "GET", "/metrics")
    assert status == 200
    assert headers["Content-Type"].startswith("text/plain; version=0.0.4")
    text = body.decode()
    for name, kind in [("switchboard_direct_messages_total", "counter"), ("switchboard_connections", "gauge"),
                       ("switchboard_mqtt_sessions", "gauge"), ("switchboard_direct_latency_seconds", "histogram"),
                       ("switchboard_http_requests_total", "counter")]:
        assert f"# TYPE {name} {kind}\n" in text, name
        assert f"# HELP {name} " in text, name
    label = r'[a-zA-Z_][a-zA-Z0-9_]*="[^"]*"'
    sample = re.compile(r'^[a-zA-Z_:][a-zA-Z0-9_:]*(\{' + label + '(,' + label + r')*\})? -?[0-9.e+]+$')
    for line in text.splitlines():
        assert line.startswith("# ") or sample.match(line), f"not Prometheus text: {line!r}"
    samples = metrics(server.http_port)
    assert set(metric_by_shard(samples, "switchboard_mqtt_sessions")) == {"0", "1"}  # per shard
    assert set(metric_by_shard(samples, "switchboard_direct_messages_total", status="404")) == {"0", "1"}


def test_metrics_move(server):
    before = metrics(server.http_port)
    for _ in range(3):
        assert direct(server.http_port, "nobody-at-all")[0] == 404
    assert direct(server.http_port, "$bad")[0] == 400
    devices = [raw_device(server.mqtt_port, version=5) for _ in range(3)]
    assert direct(server.http_port, devices[0].client_id, body=b"m")[0] == 200
    devices[0].expect_publish()
    bad = RawHttp(server.http_port)
    bad.send(b"GET / HTTP/2.0\r\nHost: t\r\n\r\n")
    bad.read_response()
    bad.close()
    after = metrics(server.http_port)

    def delta(name, **labels):
        return metric_sum(after, name, **labels) - metric_sum(before, name, **labels)

    assert delta("switchboard_direct_messages_total", status="404") == 3
    assert delta("switchboard_direct_messages_total", status="400") == 1
    assert delta("switchboard_direct_messages_total", status="200") == 1
    assert delta("switchboard_mqtt_sessions") == 3
    assert delta("switchboard_http_bad_requests_total") == 1
    assert delta("switchboard_mqtt_publish_sent_total") == 1
    assert delta("switchboard_direct_latency_seconds_count") == 5
    for d in devices:
        d.close()
    assert wait_until(lambda: metric_sum(metrics(server.http_port), "switchboard_mqtt_sessions")
                      == metric_sum(before, "switchboard_mqtt_sessions"))


def test_metrics_count_protocol_errors_and_takeovers(server):
    before = metrics(server.http_port)
    dev = raw_device(server.mqtt_port, version=5)
    raw_device(server.mqtt_port, client_id=dev.client_id, version=5)
    dev.expect_disconnect(0x8E)
    bad = raw_device(server.mqtt_port, version=5)
    bad.send(b"\x00\x00")
    assert bad.read_packet() is not None
    after = metrics(server.http_port)
    assert metric_sum(after, "switchboard_mqtt_takeovers_total") - metric_sum(before, "switchboard_mqtt_takeovers_total") == 1
    assert metric_sum(after, "switchboard_mqtt_protocol_errors_total") > metric_sum(before, "switchboard_mqtt_protocol_errors_total")


# ---------------------------------------------------------------------------------------------
# Signals

@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_drains_and_exits_0(make_server, sig):
    server = make_server()
    v5 = raw_device(server.mqtt_port, version=5)
    v4 = raw_device(server.mqtt_port, version=4)
    idle_http = RawHttp(server.http_port)
    idle_http.send(b"GET /health HTTP/1.1\r\nHost: t\r\n\r\n")
    assert idle_http.read_response()[0] == 200
    server.proc.send_signal(sig)
    v5.expect_disconnect(0x8B)  # Server shutting down
    assert v4.closed()
    assert idle_http.closed()
    assert server.wait() == 0
    assert refused(server.mqtt_port) and refused(server.http_port)


# ---------------------------------------------------------------------------------------------
# PROXY protocol

V2_SIGNATURE = b"\r\n\r\n\x00\r\nQUIT\n"


def proxy_v1(src="192.0.2.10", dst="127.0.0.1", sport=51234, dport=1883):
    return f"PROXY TCP4 {src} {dst} {sport} {dport}\r\n".encode()


def proxy_v2(src="198.51.100.7", dst="127.0.0.1", sport=40000, dport=8080, command=0x1, tlvs=b""):
    addresses = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack(">HH", sport, dport) + tlvs
    return V2_SIGNATURE + bytes([0x20 | command, 0x11]) + struct.pack(">H", len(addresses)) + addresses


def proxy_v2_ipv6():
    addresses = socket.inet_pton(socket.AF_INET6, "2001:db8::1") + socket.inet_pton(socket.AF_INET6, "::1") + \
        struct.pack(">HH", 1, 2)
    return V2_SIGNATURE + b"\x21\x21" + struct.pack(">H", len(addresses)) + addresses


PROXY_HEADERS = {
    "v1": proxy_v1(),
    "v1 unknown": b"PROXY UNKNOWN\r\n",
    "v1 tcp6": b"PROXY TCP6 2001:db8::1 ::1 1000 2000\r\n",
    "v2": proxy_v2(),
    "v2 with TLV": proxy_v2(tlvs=b"\x04\x00\x03abc"),
    "v2 local": proxy_v2(command=0x0),
    "v2 ipv6": proxy_v2_ipv6(),
}


@pytest.fixture(scope="module")
def proxied_server():
    from conftest import Server
    server = Server("--proxy-protocol", "both")
    yield server
    assert server.stop() == 0, "".join(server.log[-50:])


@pytest.mark.parametrize("header", list(PROXY_HEADERS.values()), ids=list(PROXY_HEADERS))
def test_proxy_header_before_mqtt_connect(proxied_server, header):
    dev = RawMqtt(proxied_server.mqtt_port, version=5, prefix=header)
    client_id = "proxied-" + header[:8].hex()
    dev.connect(client_id.encode())
    http = RawHttp(proxied_server.http_port, prefix=proxy_v1())
    http.send(f"POST {direct_path(client_id, 'via/proxy')} HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nok".encode())
    assert http.read_response()[0] == 200
    assert dev.expect_publish().payload == b"ok"
    http.close()
    dev.close()


@pytest.mark.parametrize("header", list(PROXY_HEADERS.values()), ids=list(PROXY_HEADERS))
def test_proxy_header_before_http_request(proxied_server, header):
    conn = RawHttp(proxied_server.http_port, prefix=header)
    conn.send(b"GET /health HTTP/1.1\r\nHost: t\r\n\r\n")
    status, _, body = conn.read_response()
    assert status == 200 and json.loads(body)["status"] == "ok"
    # Keep-alive goes on without a second header.
    conn.send(b"GET /health HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
    assert conn.read_response()[0] == 200
    conn.close()


def test_proxy_header_split_across_writes(proxied_server):
    header = proxy_v2()
    s = socket.create_connection(("127.0.0.1", proxied_server.http_port), timeout=10)
    for i in range(0, len(header), 5):
        s.sendall(header[i:i + 5])
    s.sendall(b"GET /health HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
    data = b""
    while True:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    assert data.startswith(b"HTTP/1.1 200")
    s.close()


def test_connection_without_proxy_header_is_closed(proxied_server):
    dev = RawMqtt(proxied_server.mqtt_port, version=4)
    dev.send(connect_packet(b"no-header", version=4))
    assert dev.closed(), "an MQTT connection without a PROXY header must be closed"
    conn = RawHttp(proxied_server.http_port)
    conn.send(b"GET /health HTTP/1.1\r\nHost: t\r\n\r\n")
    assert conn.closed(), "an HTTP connection without a PROXY header must be closed"
    assert conn.buf == b""


@pytest.mark.parametrize("header", [
    b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n",               # bare LF
    b"PROXY TCP4 1.2.3.999 5.6.7.8 1 2\r\n",           # bad address
    b"PROXY TCP4 1.2.3.4 5.6.7.8 1 65536\r\n",         # bad port
    b"PROXY TCP4  1.2.3.4 5.6.7.8 1 2\r\n",            # double space
    b"PROXY " + b"A" * 120 + b"\r\n",                  # too long
    V2_SIGNATURE + b"\x31\x11\x00\x0c" + bytes(12),    # version 3
    V2_SIGNATURE + b"\x21\x11\x00\x04" + bytes(4),     # address block too short
], ids=["bare-lf", "bad-address", "bad-port", "double-space", "too-long", "v2-version", "v2-short"])
def test_bad_proxy_header_is_closed(proxied_server, header):
    for port in (proxied_server.mqtt_port, proxied_server.http_port):
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        s.sendall(header + b"GET /health HTTP/1.1\r\nHost: t\r\n\r\n")
        s.settimeout(10)
        try:
            data = s.recv(4096)
        except ConnectionResetError:
            data = b""
        assert data == b"", data
        s.close()


def test_proxied_server_still_serves(proxied_server):
    dev = RawMqtt(proxied_server.mqtt_port, version=5, prefix=proxy_v1())
    dev.connect(b"after-bad-headers")
    conn = RawHttp(proxied_server.http_port, prefix=proxy_v2())
    conn.send(f"POST {direct_path('after-bad-headers', 't', confirm=True, timeout=15)} HTTP/1.1\r\nHost: t\r\n"
              f"Content-Length: 1\r\n\r\nz".encode())
    pub = dev.expect_publish()
    dev.puback(pub.packet_id)
    assert conn.read_response()[0] == 200
    conn.close()
    dev.close()


def test_proxy_protocol_on_one_listener_only(make_server):
    server = make_server("--proxy-protocol", "mqtt")
    # HTTP needs no header ...
    assert http_request(server.http_port, "GET", "/health")[0] == 200
    # ... MQTT does.
    plain = RawMqtt(server.mqtt_port, version=4)
    plain.send(connect_packet(b"plain", version=4))
    assert plain.closed()
    dev = RawMqtt(server.mqtt_port, version=4, prefix=proxy_v1())
    dev.connect(b"proxied")
    assert direct(server.http_port, "proxied", body=b"y")[0] == 200
    assert dev.expect_publish().payload == b"y"
    dev.close()
