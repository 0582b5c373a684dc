"""Direct messages (SPEC 2): delivery and QoS, every parameter rule (400), 404, 405, 413."""
import json
import uuid

import pytest

from helpers import (Device, DirectInBackground, RawHttp, b64_json, direct, direct_full, direct_path,
                     raw_device)

NOT_CONNECTED = "nobody-home"


@pytest.fixture(scope="module")
def shared_server():
    """One server for the read-only validation tests of this module (they change no state)."""
    from conftest import Server
    server = Server()
    yield server
    assert server.stop() == 0, "server exited uncleanly:\n" + "".join(server.log[-50:])


def check_error_body(body, reason):
    assert set(body) == {"message", "reason", "traceId"}, body
    assert body["reason"] == reason, body
    assert body["message"] and body["traceId"]


# ---------------------------------------------------------------------------------------------
# 200

@pytest.mark.parametrize("version", [4, 5])
@pytest.mark.parametrize("confirm", [False, True])
def test_delivered_without_subscription_at_the_requested_qos(server, version, confirm):
    dev = Device(server.mqtt_port, version=version)
    try:
        status, headers, body = direct_full(server.http_port, dev.client_id, topic="cmd/reboot",
                                            body=b"now", confirm=confirm, timeout=5)
        assert status == 200, body
        assert headers["content-type"] == "application/json"
        assert set(body) == {"message", "traceId"} and body["traceId"], body
        m = dev.next_message()
        assert (m.topic, m.payload, m.qos, m.retain) == ("cmd/reboot", b"now", 1 if confirm else 0, False)
        dev.no_message(0.3)  # exactly one copy
    finally:
        dev.close()


@pytest.mark.parametrize("version", [4, 5])
def test_confirmed_answer_waits_for_the_puback(server, version):
    dev = raw_device(server.mqtt_port, version=version)
    pending = DirectInBackground(server.http_port, dev.client_id, topic="a/b", body=b"x", confirm=True, timeout=10)
    pub = dev.expect_publish()
    assert (pub.topic, pub.payload, pub.qos, pub.retain) == ("a/b", b"x", 1, False)
    assert pub.packet_id != 0
    pending.thread.join(0.3)
    assert not pending.done(), "answered before the PUBACK"
    dev.puback(pub.packet_id)
    status, body = pending.get()
    assert status == 200, body
    assert "reason" not in body
    dev.close()


def test_unconfirmed_is_qos0_on_the_wire_and_confirmation_false_is_the_default(server):
    dev = raw_device(server.mqtt_port, version=4)
    for extra in ({}, {"confirm": False}):
        status, body = direct(server.http_port, dev.client_id, topic="t/1", body=b"p", **extra)
        assert status == 200, body
        pub = dev.expect_publish()
        assert (pub.topic, pub.payload, pub.qos, pub.packet_id) == ("t/1", b"p", 0, None)
    dev.close()


def test_client_id_is_percent_decoded_and_binary_payload_is_intact(server):
    client_id = "dev ice/é+1"
    dev = raw_device(server.mqtt_port, client_id=client_id, version=5)
    payload = bytes(range(256)) * 4
    status, body = direct(server.http_port, client_id, topic="bin/ä", body=payload)
    assert status == 200, body
    pub = dev.expect_publish()
    assert (pub.topic, pub.payload) == ("bin/ä", payload)
    dev.close()


def test_empty_payload(server):
    dev = raw_device(server.mqtt_port, version=4)
    status, body = direct(server.http_port, dev.client_id, body=b"")
    assert status == 200, body
    assert dev.expect_publish().payload == b""
    dev.close()


def test_limits_are_inclusive(server):
    client_id = "c" * 128
    dev = raw_device(server.mqtt_port, client_id=client_id, version=5)
    topic_256 = "/".join(["x" * 31] * 8)  # 8 levels, 255 bytes ...
    topic_256 += "y"                      # ... now 256
    assert len(topic_256) == 256 and topic_256.count("/") == 7
    pending = DirectInBackground(server.http_port, client_id, topic=topic_256, body=b"edge", confirm=True, timeout=15)
    pub = dev.expect_publish()
    assert (pub.topic, pub.payload, pub.qos) == (topic_256, b"edge", 1)
    dev.puback(pub.packet_id)
    status, body = pending.get()
    assert status == 200, body
    dev.close()


# ---------------------------------------------------------------------------------------------
# 400: every parameter rule. Validation happens before the connection lookup, so a 400 for a
# client that is not connected proves the rule (a valid request would be 404).

BAD_REQUESTS = {
    # client ID
    "client id broken percent": ("/connections/ab%zz/messages?topic=t", "INVALID_CLIENT_ID"),
    "client id truncated percent": ("/connections/ab%4/messages?topic=t", "INVALID_CLIENT_ID"),
    "client id too long": (f"/connections/{'c' * 129}/messages?topic=t", "INVALID_CLIENT_ID"),
    "client id too long once decoded": (f"/connections/{'%C3%A9' * 65}/messages?topic=t", "INVALID_CLIENT_ID"),
    "client id dollar": ("/connections/$dev/messages?topic=t", "INVALID_CLIENT_ID"),
    "client id encoded dollar": ("/connections/%24dev/messages?topic=t", "INVALID_CLIENT_ID"),
    "client id empty": ("/connections//messages?topic=t", "INVALID_CLIENT_ID"),
    "client id not utf-8": ("/connections/dev%FF/messages?topic=t", "INVALID_CLIENT_ID"),
    # topic
    "topic missing": ("/connections/dev/messages", "MISSING_TOPIC"),
    "topic missing, other params": ("/connections/dev/messages?confirmation=false", "MISSING_TOPIC"),
    "topic empty": ("/connections/dev/messages?topic=", "INVALID_TOPIC"),
    "topic plus": ("/connections/dev/messages?topic=a/+/b", "INVALID_TOPIC"),
    "topic encoded plus": ("/connections/dev/messages?topic=a%2F%2B", "INVALID_TOPIC"),
    "topic hash": ("/connections/dev/messages?topic=a/%23", "INVALID_TOPIC"),
    "topic dollar": ("/connections/dev/messages?topic=$aws/things", "INVALID_TOPIC"),
    "topic encoded dollar": ("/connections/dev/messages?topic=%24SYS%2Fx", "INVALID_TOPIC"),
    "topic too long": (f"/connections/dev/messages?topic={'t' * 257}", "INVALID_TOPIC"),
    "topic too deep": ("/connections/dev/messages?topic=" + "/".join("abcdefghi"), "INVALID_TOPIC"),
    "topic broken percent": ("/connections/dev/messages?topic=a%g1", "INVALID_TOPIC"),
    "topic NUL": ("/connections/dev/messages?topic=a%00b", "INVALID_TOPIC"),
    "topic not utf-8": ("/connections/dev/messages?topic=a%C3", "INVALID_TOPIC"),
    # confirmation / timeout
    "confirmation word": ("/connections/dev/messages?topic=t&confirmation=yes", "INVALID_CONFIRMATION"),
    "confirmation empty": ("/connections/dev/messages?topic=t&confirmation=", "INVALID_CONFIRMATION"),
    "confirmation number": ("/connections/dev/messages?topic=t&confirmation=1", "INVALID_CONFIRMATION"),
    "timeout 0": ("/connections/dev/messages?topic=t&confirmation=true&timeout=0", "INVALID_TIMEOUT"),
    "timeout 16": ("/connections/dev/messages?topic=t&confirmation=true&timeout=16", "INVALID_TIMEOUT"),
    "timeout abc": ("/connections/dev/messages?topic=t&confirmation=true&timeout=abc", "INVALID_TIMEOUT"),
    "timeout negative": ("/connections/dev/messages?topic=t&confirmation=true&timeout=-1", "INVALID_TIMEOUT"),
    "timeout fraction": ("/connections/dev/messages?topic=t&confirmation=true&timeout=1.5", "INVALID_TIMEOUT"),
    "timeout empty": ("/connections/dev/messages?topic=t&confirmation=true&timeout=", "INVALID_TIMEOUT"),
    "timeout huge": ("/connections/dev/messages?topic=t&confirmation=true&timeout=99999999999", "INVALID_TIMEOUT"),
    # duplicates
    "duplicate topic": ("/connections/dev/messages?topic=a&topic=b", "DUPLICATE_PARAMETER"),
    "duplicate confirmation": ("/connections/dev/messages?topic=a&confirmation=true&confirmation=true",
                               "DUPLICATE_PARAMETER"),
    "duplicate timeout": ("/connections/dev/messages?topic=a&confirmation=true&timeout=1&timeout=2",
                          "DUPLICATE_PARAMETER"),
    # responseTopic (optional, but must be a topic name when present)
    "response topic wildcard": ("/connections/dev/messages?topic=a&responseTopic=r/%23", "INVALID_RESPONSE_TOPIC"),
    "response topic empty": ("/connections/dev/messages?topic=a&responseTopic=", "INVALID_RESPONSE_TOPIC"),
}


@pytest.mark.parametrize("path,reason", list(BAD_REQUESTS.values()), ids=list(BAD_REQUESTS))
def test_invalid_parameters_are_400(shared_server, path, reason):
    conn = RawHttp(shared_server.http_port)
    conn.send(f"POST {path} HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nhi".encode())
    status, headers, body = conn.read_json_response()
    assert status == 400, (path, body)
    assert headers["content-type"] == "application/json"
    check_error_body(body, reason)
    # A parameter error is the request's fault, not the connection's: it stays usable.
    conn.send(b"GET /health HTTP/1.1\r\nHost: t\r\n\r\n")
    assert conn.read_response()[0] == 200
    conn.close()


BAD_HEADERS = {
    "payload format unknown": ({"x-amz-mqtt5-payload-format-indicator": "JSON"}, "INVALID_HEADER"),
    "payload format lower case": ({"x-amz-mqtt5-payload-format-indicator": "utf8_data"}, "INVALID_HEADER"),
    "correlation not base64": ({"x-amz-mqtt5-correlation-data": "***"}, "INVALID_HEADER"),
    "user properties not base64": ({"x-amz-mqtt5-user-properties": "not base64!"}, "INVALID_HEADER"),
    "user properties not json": ({"x-amz-mqtt5-user-properties": "bm90IGpzb24="}, "INVALID_HEADER"),
    "user properties object": ({"x-amz-mqtt5-user-properties": b64_json({"a": "b"})}, "INVALID_HEADER"),
    "user properties two keys": ({"x-amz-mqtt5-user-properties": b64_json([{"a": "b", "c": "d"}])},
                                 "INVALID_HEADER"),
    "user properties number": ({"x-amz-mqtt5-user-properties": b64_json([{"a": 1}])}, "INVALID_HEADER"),
    "user properties empty object": ({"x-amz-mqtt5-user-properties": b64_json([{}])}, "INVALID_HEADER"),
    "utf8 format, binary payload": ({"x-amz-mqtt5-payload-format-indicator": "UTF8_DATA"}, "INVALID_PAYLOAD"),
}


@pytest.mark.parametrize("headers,reason", list(BAD_HEADERS.values()), ids=list(BAD_HEADERS))
def test_invalid_mqtt5_headers_are_400(shared_server, headers, reason):
    status, body = direct(shared_server.http_port, NOT_CONNECTED, body=b"\xff\xfe", headers=headers)
    assert status == 400, body
    check_error_body(body, reason)


def test_parameter_edges_that_are_valid(shared_server):
    # Each of these passes validation, so the answer is 404 (not connected), not 400.
    cases = [
        direct_path(NOT_CONNECTED, "t", confirm=False, timeout="abc"),      # timeout ignored without confirmation
        direct_path(NOT_CONNECTED, "t", confirm=True, timeout=1),
        direct_path(NOT_CONNECTED, "t", confirm=True, timeout=15),
        direct_path(NOT_CONNECTED, "/".join("abcdefgh")),                  # 8 levels
        direct_path(NOT_CONNECTED, "a" * 256),
        direct_path("d" * 128, "t"),
        direct_path(NOT_CONNECTED, "t", extra="&unknown=1&contentType=text%2Fplain"),
        "/connections/nobody-home/messages?topic=t&confirmation=TRUE",
        "/connections/nobody%2Dhome/messages?topic=a%2Fb",
    ]
    for path in cases:
        conn = RawHttp(shared_server.http_port)
        conn.send(f"POST {path} HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n".encode())
        status, _, body = conn.read_json_response()
        conn.close()
        assert status == 404, (path, body)


def test_trace_ids_are_unique(shared_server):
    seen = set()
    for client_id in ["a", "b", "$c", "a"]:
        status, body = direct(shared_server.http_port, client_id)
        assert status in (400, 404) and body["traceId"] not in seen, body
        seen.add(body["traceId"])


# ---------------------------------------------------------------------------------------------
# 404: never queued

@pytest.mark.parametrize("version", [4, 5])
def test_not_connected_is_404_and_never_queued(server, version):
    client_id = "late-" + uuid.uuid4().hex[:8]
    for confirm in (False, True):
        status, headers, body = direct_full(server.http_port, client_id, topic="queued/not", body=b"lost",
                                            confirm=confirm)
        assert status == 404, body
        assert headers["content-type"] == "application/json"
        check_error_body(body, "CLIENT_NOT_CONNECTED")
    # The device connects afterwards (3.1.1 even asks for a persistent session): nothing waits.
    dev = Device(server.mqtt_port, client_id=client_id, version=version, clean=False)
    try:
        dev.no_message(1.0)
        # ... while a message sent now does arrive, so the silence above means something.
        status, body = direct(server.http_port, client_id, topic="queued/now", body=b"fresh")
        assert status == 200, body
        m = dev.next_message()
        assert (m.topic, m.payload) == ("queued/now", b"fresh")
    finally:
        dev.close()


def test_404_after_the_device_disconnects(server):
    dev = Device(server.mqtt_port, version=5)
    assert direct(server.http_port, dev.client_id)[0] == 200
    dev.close()
    from helpers import wait_until
    assert wait_until(lambda: direct(server.http_port, dev.client_id)[0] == 404)


# ---------------------------------------------------------------------------------------------
# 405

@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH"])
def test_other_methods_are_405(server, method):
    dev = raw_device(server.mqtt_port, version=4)
    conn = RawHttp(server.http_port)
    conn.send(f"{method} {direct_path(dev.client_id, 't')} HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n".encode())
    status, headers, body = conn.read_json_response()
    assert status == 405, body
    assert headers["allow"] == "POST"
    check_error_body(body, "METHOD_NOT_ALLOWED")
    assert dev.no_packet(0.3)  # nothing was delivered
    conn.close()
    dev.close()


# ---------------------------------------------------------------------------------------------
# 413

def send_and_read(port, head, body):
    """Sends a request whose body the server may refuse unread; returns the first response."""
    conn = RawHttp(port)
    try:
        conn.send(head)
        try:
            conn.send(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed before reading the body: allowed
        status, headers, data = conn.read_response()
        return status, headers, (json.loads(data) if data else None), conn.closed()
    finally:
        conn.close()


def test_payload_over_128k_is_413(server):
    dev = raw_device(server.mqtt_port, version=5)
    limit = 128 * 1024
    # Exactly the limit is fine and arrives intact ...
    payload = bytes(i % 251 for i in range(limit))
    status, body = direct(server.http_port, dev.client_id, topic="big", body=payload)
    assert status == 200, body
    assert dev.expect_publish().payload == payload
    # ... one byte more is refused, and nothing reaches the device.
    path = direct_path(dev.client_id, "big")
    head = f"POST {path} HTTP/1.1\r\nHost: t\r\nContent-Length: {limit + 1}\r\n\r\n".encode()
    status, headers, body, closed = send_and_read(server.http_port, head, b"x" * (limit + 1))
    assert status == 413, body
    check_error_body(body, "PAYLOAD_TOO_LARGE")
    assert closed, "the unread body makes the connection unusable: it must be closed"
    assert dev.no_packet(0.3)
    dev.close()


def test_configured_payload_limit(make_server):
    server = make_server("--max-direct-payload", "10")
    dev = raw_device(server.mqtt_port, version=4)
    status, body = direct(server.http_port, dev.client_id, body=b"0123456789")
    assert status == 200, body
    assert dev.expect_publish().payload == b"0123456789"
    path = direct_path(dev.client_id, "t")
    head = f"POST {path} HTTP/1.1\r\nHost: t\r\nContent-Length: 11\r\n\r\n".encode()
    status, headers, body, closed = send_and_read(server.http_port, head, b"0123456789A")
    assert status == 413, body
    check_error_body(body, "PAYLOAD_TOO_LARGE")
    assert dev.no_packet(0.3)
    dev.close()


def test_chunked_upload_over_the_limit_is_413(make_server):
    server = make_server("--max-direct-payload", "10")
    dev = raw_device(server.mqtt_port, version=4)
    path = direct_path(dev.client_id, "chunked")
    head = f"POST {path} HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n".encode()
    # Within the limit, the chunks arrive as one payload.
    conn = RawHttp(server.http_port)
    conn.send(head + b"4\r\nabcd\r\n6\r\nefghij\r\n0\r\n\r\n")
    status, _, body = conn.read_json_response()
    assert status == 200, body
    assert dev.expect_publish().payload == b"abcdefghij"
    conn.close()
    # Over it (each chunk small, the sum too big) is refused.
    status, headers, body, closed = send_and_read(server.http_port, head, b"6\r\nabcdef\r\n6\r\nghijkl\r\n0\r\n\r\n")
    assert status == 413, body
    check_error_body(body, "PAYLOAD_TOO_LARGE")
    assert closed
    # Also when the body keeps coming and never ends.
    status, headers, body, closed = send_and_read(server.http_port, head, b"ff\r\n" + b"z" * 255 + b"\r\n")
    assert status == 413, body
    assert dev.no_packet(0.3)
    dev.close()


def test_payload_limit_applies_to_the_default_128k_with_chunked(server):
    dev = raw_device(server.mqtt_port, version=4)
    path = direct_path(dev.client_id, "chunked")
    head = f"POST {path} HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n".encode()
    chunk = b"10000\r\n" + b"q" * 0x10000 + b"\r\n"
    status, headers, body, closed = send_and_read(server.http_port, head, chunk * 2 + b"1\r\nq\r\n0\r\n\r\n")
    assert status == 413, body
    check_error_body(body, "PAYLOAD_TOO_LARGE")
    assert dev.no_packet(0.3)
    dev.close()


def test_request_with_expect_100_continue(server):
    dev = raw_device(server.mqtt_port, version=4)
    conn = RawHttp(server.http_port)
    path = direct_path(dev.client_id, "t")
    conn.send(f"POST {path} HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n".encode())
    conn.sock.settimeout(5)
    first = conn.sock.recv(64)
    assert first.startswith(b"HTTP/1.1 100"), first
    conn.buf = first.split(b"\r\n\r\n", 1)[1]
    conn.send(b"hello")
    status, _, body = conn.read_json_response()
    assert status == 200, body
    assert dev.expect_publish().payload == b"hello"
    conn.close()
    dev.close()


def test_unknown_route_is_404_with_json(server):
    conn = RawHttp(server.http_port)
    conn.send(b"POST /connections/x/other HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n")
    status, headers, body = conn.read_json_response()
    assert status == 404
    assert body["status"] == 404 and body["message"], body
    conn.close()


def test_socket_closes_cleanly_after_connection_close(server):
    dev = raw_device(server.mqtt_port, version=4)
    conn = RawHttp(server.http_port)
    path = direct_path(dev.client_id, "t")
    conn.send(f"POST {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\nContent-Length: 1\r\n\r\nz".encode())
    status, headers, body = conn.read_json_response()
    assert status == 200 and headers.get("connection") == "close"
    assert conn.closed()
    conn.close()
    dev.close()
