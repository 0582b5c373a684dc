"""Direct messages (SPEC 2, 6, 7): 429 (sender rate, device rate, in-flight window), 500 while
the server shuts down, 504 at the confirmation timeout, and the prompt answer when the device
goes away mid-confirmation."""
import time

import pytest

from helpers import (DirectInBackground, RawHttp, direct, direct_path, raw_device, refused, wait_until)



def check_error_body(body, reason):
    assert set(body) == {"message", "reason", "traceId"}, body
    assert body["reason"] == reason, body
    assert body["message"] and body["traceId"]


def post(conn, path, body=b"m"):
    conn.send(f"POST {path} HTTP/1.1\r\nHost: t\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body)


# ---------------------------------------------------------------------------------------------
# 429

def test_sender_rate_is_per_connection(make_server):
    server = make_server("--sender-rate", "2", "--sender-burst", "2")
    dev = raw_device(server.mqtt_port, version=4)
    path = direct_path(dev.client_id, "rate/s")
    conn = RawHttp(server.http_port)
    # Six requests in one write: the burst of 2 admits two, the next ones find an empty bucket
    # (a token takes 500 ms to come back; only a stall of a second could refill two of them).
    conn.send(b"".join(f"POST {path} HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\n\r\n{i}".encode() for i in range(6)))
    answers = [conn.read_json_response() for _ in range(6)]
    statuses = [a[0] for a in answers]
    assert statuses[:2] == [200, 200], answers
    assert set(statuses) == {200, 429} and statuses.count(429) >= 2, answers
    for status, headers, body in answers:
        if status == 429:
            check_error_body(body, "SENDER_RATE_EXCEEDED")
    accepted = [str(i).encode() for i, st in enumerate(statuses) if st == 200]
    assert [dev.expect_publish().payload for _ in accepted] == accepted
    assert dev.no_packet(0.3), "a refused message was delivered"
    # Another sender connection has its own bucket.
    status, body = direct(server.http_port, dev.client_id, topic="rate/s", body=b"other")
    assert status == 200, body
    assert dev.expect_publish().payload == b"other"
    # And the first connection's bucket refills (2 tokens per second).
    time.sleep(1.1)
    post(conn, path, b"later")
    status, _, body = conn.read_json_response()
    assert status == 200, body
    assert dev.expect_publish().payload == b"later"
    conn.close()
    dev.close()


def test_device_outbound_rate(make_server):
    server = make_server("--device-rate", "1", "--device-burst", "1")
    dev = raw_device(server.mqtt_port, version=5)
    other = raw_device(server.mqtt_port, version=5)
    answers = [direct(server.http_port, dev.client_id, body=str(i).encode()) for i in range(4)]
    statuses = [status for status, _ in answers]
    assert statuses[0] == 200 and 429 in statuses[1:], answers
    for status, body in answers:
        if status == 429:
            check_error_body(body, "RECEIVER_RATE_EXCEEDED")
    # The limit belongs to the receiver: another device is not affected.
    assert direct(server.http_port, other.client_id, body=b"x")[0] == 200
    accepted = [str(i).encode() for i, st in enumerate(statuses) if st == 200]
    assert [dev.expect_publish().payload for _ in accepted] == accepted
    assert dev.no_packet(0.3)
    # The bucket refills (one per second).
    assert wait_until(lambda: direct(server.http_port, dev.client_id, body=b"third")[0] == 200, timeout=5)
    assert dev.expect_publish().payload == b"third"
    dev.close()
    other.close()


def test_inflight_window(make_server):
    server = make_server("--inflight-per-client", "2")
    dev = raw_device(server.mqtt_port, version=4)  # reads PUBLISH, never PUBACKs (until told)
    first = DirectInBackground(server.http_port, dev.client_id, body=b"1", confirm=True, timeout=15)
    pub1 = dev.expect_publish()
    second = DirectInBackground(server.http_port, dev.client_id, body=b"2", confirm=True, timeout=15)
    pub2 = dev.expect_publish()
    assert (pub1.payload, pub2.payload) == (b"1", b"2") and pub1.packet_id != pub2.packet_id
    status, body = direct(server.http_port, dev.client_id, body=b"3", confirm=True, timeout=15)
    assert status == 429, body
    check_error_body(body, "RECEIVER_INFLIGHT_EXCEEDED")
    assert dev.no_packet(0.3)
    # A PUBACK frees a slot: its sender gets 200 and the next confirmed message goes out.
    dev.puback(pub1.packet_id)
    assert first.get()[0] == 200
    assert not second.done()
    third = DirectInBackground(server.http_port, dev.client_id, body=b"4", confirm=True, timeout=15)
    pub3 = dev.expect_publish()
    assert pub3.payload == b"4"
    dev.puback(pub2.packet_id)
    dev.puback(pub3.packet_id)
    assert second.get()[0] == 200
    assert third.get()[0] == 200
    dev.close()


# ---------------------------------------------------------------------------------------------
# 504 and the device leaving

def test_no_puback_is_504_at_the_timeout(server):
    dev = raw_device(server.mqtt_port, version=5)
    pending = DirectInBackground(server.http_port, dev.client_id, topic="slow", body=b"s", confirm=True, timeout=1)
    pub = dev.expect_publish()
    assert (pub.qos, pub.payload) == (1, b"s")
    status, body = pending.get(timeout=15)
    assert status == 504, body
    check_error_body(body, "CONFIRMATION_TIMEOUT")
    assert pending.elapsed >= 0.9, "answered before the timeout"
    assert pending.elapsed < 6, f"timeout=1 answered after {pending.elapsed:.1f} s"
    # A late PUBACK confirms nothing and breaks nothing.
    dev.puback(pub.packet_id)
    assert direct(server.http_port, dev.client_id, body=b"after")[0] == 200
    assert dev.expect_publish().payload == b"after"
    dev.close()


@pytest.mark.parametrize("how", ["socket closed", "DISCONNECT"])
@pytest.mark.parametrize("version", [4, 5])
def test_device_leaving_mid_confirmation_answers_at_once(server, version, how):
    dev = raw_device(server.mqtt_port, version=version)
    pending = DirectInBackground(server.http_port, dev.client_id, body=b"bye", confirm=True, timeout=15)
    pub = dev.expect_publish()
    assert pub.qos == 1
    if how == "DISCONNECT":
        dev.disconnect()
    else:
        dev.close()
    status, body = pending.get(timeout=15)
    assert status == 504, body
    check_error_body(body, "CONNECTION_CLOSED")
    assert pending.elapsed < 10, "the answer waited for the timeout"


def test_takeover_mid_confirmation_answers_at_once(server):
    old = raw_device(server.mqtt_port, version=5)
    pending = DirectInBackground(server.http_port, old.client_id, body=b"x", confirm=True, timeout=15)
    old.expect_publish()
    new = raw_device(server.mqtt_port, client_id=old.client_id, version=5)
    status, body = pending.get(timeout=15)
    assert status == 504, body
    check_error_body(body, "CONNECTION_CLOSED")
    assert pending.elapsed < 10
    old.expect_disconnect(0x8E)
    new.close()


# ---------------------------------------------------------------------------------------------
# 500 while shutting down

def test_sigterm_with_a_pending_confirmation(make_server):
    server = make_server("--drain-grace-ms", "300")
    dev = raw_device(server.mqtt_port, version=5)        # never PUBACKs
    idle5 = raw_device(server.mqtt_port, version=5)      # just connected
    idle4 = raw_device(server.mqtt_port, version=4)
    pending = DirectInBackground(server.http_port, dev.client_id, body=b"x", confirm=True, timeout=15)
    assert dev.expect_publish().qos == 1
    server.terminate()
    status, body = pending.get(timeout=15)
    assert status == 500, body
    check_error_body(body, "SERVER_SHUTTING_DOWN")
    assert pending.elapsed < 10
    dev.expect_disconnect(0x8B)
    idle5.expect_disconnect(0x8B)
    assert idle4.closed()
    assert server.wait() == 0


def test_confirmation_that_finishes_within_the_grace_period(make_server):
    server = make_server("--drain-grace-ms", "5000", shards=1)
    dev = raw_device(server.mqtt_port, version=5)
    pending = DirectInBackground(server.http_port, dev.client_id, body=b"x", confirm=True, timeout=15)
    pub = dev.expect_publish()
    server.terminate()
    # Draining: new connections are refused, the pending exchange may still finish.
    assert wait_until(lambda: server.proc.poll() is not None or refused(server.http_port), timeout=5)
    dev.puback(pub.packet_id)
    status, body = pending.get(timeout=15)
    assert status == 200, body
    dev.expect_disconnect(0x8B)
    assert server.wait() == 0
