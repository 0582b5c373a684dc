"""HTTP/1.1 framing on raw sockets (SPEC 6, 7): malformed requests get a clean status and a
close, the server keeps serving others; keep-alive and pipelining answer in order, including
behind a pending confirmation."""
import json
import time

import pytest

from helpers import (DirectInBackground, RawHttp, assert_serving, direct_path, http_raw_exchange,
                     http_request, raw_device)


@pytest.fixture
def checked_server(server):
    yield server
    status, _, body = http_request(server.http_port, "GET", "/health")
    assert status == 200, body
    assert_serving(server)


BAD = {
    "bare LF": (b"GET /health HTTP/1.1\nHost: t\n\n", 400),
    "bare LF in a header": (b"GET /health HTTP/1.1\r\nHost: t\nX: y\r\n\r\n", 400),
    "obs-fold": (b"GET /health HTTP/1.1\r\nHost: t\r\nX-Long: a\r\n  continued\r\n\r\n", 400),
    "CL and TE": (b"POST /connections/d/messages?topic=t HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n"
                  b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
    "duplicate CL": (b"POST /connections/d/messages?topic=t HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\n"
                     b"Content-Length: 2\r\n\r\nab", 400),
    "CL list": (b"POST /connections/d/messages?topic=t HTTP/1.1\r\nHost: t\r\nContent-Length: 1, 1\r\n\r\na", 400),
    "CL negative": (b"POST /connections/d/messages?topic=t HTTP/1.1\r\nHost: t\r\nContent-Length: -1\r\n\r\n", 400),
    "CL plus": (b"POST /connections/d/messages?topic=t HTTP/1.1\r\nHost: t\r\nContent-Length: +1\r\n\r\na", 400),
    "chunk size not hex": (b"POST /connections/d/messages?topic=t HTTP/1.1\r\nHost: t\r\n"
                           b"Transfer-Encoding: chunked\r\n\r\nzz\r\nab\r\n0\r\n\r\n", 400),
    "chunk without CRLF": (b"POST /connections/d/messages?topic=t HTTP/1.1\r\nHost: t\r\n"
                           b"Transfer-Encoding: chunked\r\n\r\n2\r\nabXY0\r\n\r\n", 400),
    "chunk size overflow": (b"POST /connections/d/messages?topic=t HTTP/1.1\r\nHost: t\r\n"
                            b"Transfer-Encoding: chunked\r\n\r\n10000000000000000\r\n", (400, 413)),
    "TE not chunked last": (b"POST /connections/d/messages?topic=t HTTP/1.1\r\nHost: t\r\n"
                            b"Transfer-Encoding: chunked, gzip\r\n\r\n", 400),
    "TE unknown": (b"POST /connections/d/messages?topic=t HTTP/1.1\r\nHost: t\r\n"
                   b"Transfer-Encoding: gzip\r\n\r\n", (400, 501)),
    "space before colon": (b"GET /health HTTP/1.1\r\nHost : t\r\n\r\n", 400),
    "no Host": (b"GET /health HTTP/1.1\r\n\r\n", 400),
    "two Hosts": (b"GET /health HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),
    "HTTP/2.0": (b"GET /health HTTP/2.0\r\nHost: t\r\n\r\n", 505),
    "HTTP/3.0": (b"GET /health HTTP/3.0\r\nHost: t\r\n\r\n", 505),
    "bad version": (b"GET /health HTTX/1.1\r\nHost: t\r\n\r\n", 400),
    "garbage": (b"\x00\x01\x02\x03garbage\r\n\r\n", 400),
    "TLS hello": (bytes.fromhex("16030100a5010000a10303") + bytes(32) + b"\r\n\r\n", 400),
    "control char in header": (b"GET /health HTTP/1.1\r\nHost: t\r\nX: a\x01b\r\n\r\n", 400),
    "NUL in target": (b"GET /hea\x00lth HTTP/1.1\r\nHost: t\r\n\r\n", 400),
}


HEAD_TOO_LARGE = b"GET /health HTTP/1.1\r\nHost: t\r\nX-Big: " + b"a" * (17 * 1024) + b"\r\n\r\n"
TOO_MANY_HEADERS = b"GET /health HTTP/1.1\r\nHost: t\r\n" + b"".join(b"X-H%d: v\r\n" % i for i in range(101)) + b"\r\n"


@pytest.mark.parametrize("request_bytes,expected", list(BAD.values()), ids=list(BAD))
def test_malformed_request_gets_a_clean_status(checked_server, request_bytes, expected):
    conn = RawHttp(checked_server.http_port)
    conn.send(request_bytes)
    status, headers, body = conn.read_response()
    conn.close()
    assert status in (expected if isinstance(expected, tuple) else (expected,)), (status, body)
    assert headers.get("connection") == "close"
    assert headers["content-type"] == "application/json"
    assert json.loads(body)["status"] == status


def test_malformed_requests_are_closed(checked_server):
    # All at once, so the whole check costs one bounded wait.
    cases = list(BAD.items()) + [("head too large", (HEAD_TOO_LARGE, 431)), ("too many headers", (TOO_MANY_HEADERS, 431))]
    conns = []
    for name, (request_bytes, _) in cases:
        conn = RawHttp(checked_server.http_port)
        conn.send(request_bytes)
        conn.read_response()
        conns.append((name, conn))
    deadline = time.monotonic() + 5
    still_open = []
    for name, conn in conns:
        if not conn.closed(max(0.05, deadline - time.monotonic())):
            still_open.append(name)
        conn.close()
    assert not still_open, f"not closed after the error response: {still_open}"


def test_no_request_is_served_after_a_framing_error(checked_server):
    conn = RawHttp(checked_server.http_port)
    conn.send(b"GET /health HTTP/2.0\r\nHost: t\r\n\r\n")
    assert conn.read_response()[0] == 505
    try:
        conn.send(b"GET /health HTTP/1.1\r\nHost: t\r\n\r\n")
    except (BrokenPipeError, ConnectionResetError):
        return
    conn.sock.settimeout(2)
    try:
        data = conn.sock.recv(65536)
    except (TimeoutError, ConnectionResetError):
        data = b""
    assert not data.startswith(b"HTTP/1.1 200"), "a request after 'Connection: close' was served"
    conn.close()


def test_oversized_head_is_431(checked_server):
    conn = RawHttp(checked_server.http_port)
    conn.send(HEAD_TOO_LARGE)
    assert conn.read_response()[0] == 431
    conn.close()
    # Also when the head never ends: the limit is enforced before the blank line.
    conn = RawHttp(checked_server.http_port)
    conn.send(b"GET /health HTTP/1.1\r\nHost: t\r\n" + b"X-Endless: " + b"b" * (20 * 1024))
    status, headers, body = conn.read_response()
    assert status == 431 and headers.get("connection") == "close"
    conn.close()


def test_too_many_headers_is_431(checked_server):
    conn = RawHttp(checked_server.http_port)
    conn.send(TOO_MANY_HEADERS)
    assert conn.read_response()[0] == 431
    conn.close()
    # Host, Connection and 98 more is exactly 100: fine.
    headers = b"".join(b"X-H%d: v\r\n" % i for i in range(98))
    status, _, _, _ = http_raw_exchange(checked_server.http_port,
                                        b"GET /health HTTP/1.1\r\nHost: t\r\nConnection: close\r\n" + headers + b"\r\n")
    assert status == 200


def test_configured_head_limit(make_server):
    server = make_server("--http-max-head-bytes", "256")
    conn = RawHttp(server.http_port)
    conn.send(b"GET /health HTTP/1.1\r\nHost: t\r\nX: " + b"a" * 300 + b"\r\n\r\n")
    assert conn.read_response()[0] == 431
    conn.close()
    assert http_raw_exchange(server.http_port, b"GET /health HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")[0] == 200


def test_client_closing_mid_request_harms_nobody(checked_server):
    for partial in (b"GET /hea", b"POST /connections/d/messages?topic=t HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nab",
                    b"POST /connections/d/messages?topic=t HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab"):
        conn = RawHttp(checked_server.http_port)
        conn.send(partial)
        conn.close()


# ---------------------------------------------------------------------------------------------
# Keep-alive and pipelining

def test_keep_alive(checked_server):
    dev = raw_device(checked_server.mqtt_port, version=4)
    conn = RawHttp(checked_server.http_port)
    for i in range(5):
        conn.send(f"POST {direct_path(dev.client_id, 'ka')} HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\n\r\n{i}".encode())
        status, headers, body = conn.read_response()
        assert status == 200 and headers.get("connection") != "close"
        assert dev.expect_publish().payload == str(i).encode()
    conn.send(b"GET /health HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
    status, headers, _ = conn.read_response()
    assert status == 200 and headers.get("connection") == "close"
    assert conn.closed()
    dev.close()


def test_http10_closes_unless_asked_to_keep_alive(checked_server):
    status, headers, body, closed = http_raw_exchange(checked_server.http_port, b"GET /health HTTP/1.0\r\n\r\n")
    assert status == 200 and closed
    conn = RawHttp(checked_server.http_port)
    conn.send(b"GET /health HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
    assert conn.read_response()[0] == 200
    conn.send(b"GET /health HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
    assert conn.read_response()[0] == 200
    conn.close()


def test_pipelined_requests_are_answered_in_order(checked_server):
    dev = raw_device(checked_server.mqtt_port, version=4)
    conn = RawHttp(checked_server.http_port)
    requests = [
        b"GET /health HTTP/1.1\r\nHost: t\r\n\r\n",
        f"POST {direct_path(dev.client_id, 'p/1')} HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\none".encode(),
        b"POST /connections/nobody-here/messages?topic=t HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n",
        f"POST {direct_path(dev.client_id, 'p/2')} HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n3\r\ntwo\r\n0\r\n\r\n".encode(),
        b"POST /connections/%24bad/messages?topic=t HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n",
        b"GET /connections/x/messages HTTP/1.1\r\nHost: t\r\n\r\n",
        b"GET /metrics HTTP/1.1\r\nHost: t\r\n\r\n",
    ]
    conn.send(b"".join(requests))
    answers = [conn.read_response() for _ in requests]
    assert [a[0] for a in answers] == [200, 200, 404, 200, 400, 405, 200]
    assert json.loads(answers[0][2])["status"] == "ok"
    assert json.loads(answers[2][2])["reason"] == "CLIENT_NOT_CONNECTED"
    assert answers[6][2].startswith(b"# HELP")
    assert [dev.expect_publish().payload for _ in range(2)] == [b"one", b"two"]
    conn.close()
    dev.close()


def test_request_dribbled_byte_by_byte(checked_server):
    dev = raw_device(checked_server.mqtt_port, version=4)
    conn = RawHttp(checked_server.http_port)
    request = f"POST {direct_path(dev.client_id, 'slow')} HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\n\r\nslow".encode()
    for i in range(len(request)):
        conn.send(request[i:i + 1])
        if i % 20 == 0:
            time.sleep(0.005)
    assert conn.read_response()[0] == 200
    assert dev.expect_publish().payload == b"slow"
    conn.close()
    dev.close()


def test_pipelined_request_behind_a_pending_confirmation(checked_server):
    dev = raw_device(checked_server.mqtt_port, version=5)
    conn = RawHttp(checked_server.http_port)
    conn.send(f"POST {direct_path(dev.client_id, 'wait', confirm=True, timeout=15)} HTTP/1.1\r\nHost: t\r\n"
              f"Content-Length: 4\r\n\r\nwait".encode() +
              b"GET /health HTTP/1.1\r\nHost: t\r\n\r\n" +
              f"POST {direct_path(dev.client_id, 'next')} HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\n\r\nnext".encode())
    pub = dev.expect_publish()
    assert (pub.topic, pub.qos) == ("wait", 1)
    # Responses go in request order: nothing may overtake the pending confirmation, and the
    # request behind it has not been delivered either.
    assert conn.nothing_pending(0.5)
    assert dev.no_packet(0.2)
    dev.puback(pub.packet_id)
    first, second, third = conn.read_response(), conn.read_response(), conn.read_response()
    assert (first[0], second[0], third[0]) == (200, 200, 200)
    assert "ok" in json.loads(second[2])["status"]
    assert dev.expect_publish().topic == "next"
    conn.close()
    dev.close()


def test_many_senders_waiting_on_one_device(checked_server):
    dev = raw_device(checked_server.mqtt_port, version=5)
    senders = [DirectInBackground(checked_server.http_port, dev.client_id, topic=f"many/{i}", body=str(i).encode(),
                                  confirm=True, timeout=15) for i in range(10)]
    pubs = [dev.expect_publish() for _ in senders]
    assert sorted(p.topic for p in pubs) == sorted(f"many/{i}" for i in range(10))
    for p in reversed(pubs):
        dev.puback(p.packet_id)
    assert [s.get()[0] for s in senders] == [200] * 10
    dev.close()
