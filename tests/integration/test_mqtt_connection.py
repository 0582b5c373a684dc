"""MQTT connection life (SPEC 5): CONNECT/CONNACK in 3.1.1 and 5.0, client identifiers,
session take-over, keep-alive, PINGREQ, and the Will message."""
import time
import uuid

import pytest

from helpers import (PINGREQ_PACKET, PINGRESP, Device, RawMqtt, direct, raw_device)



def uid(prefix="c"):
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


# ---------------------------------------------------------------------------------------------
# CONNECT / CONNACK

def test_connack_311(server):
    dev = RawMqtt(server.mqtt_port, version=4)
    dev.connect(uid().encode())
    assert dev.connack.first == 0x20 and dev.connack.body == b"\x00\x00"  # no session present, accepted
    dev.disconnect()


def test_connack_5_advertises_what_the_server_cannot_do(server):
    dev = RawMqtt(server.mqtt_port, version=5)
    dev.connect(uid().encode())
    assert dev.connack.body[0] == 0  # session present: never (nothing is kept)
    assert dev.connack_prop(0x24) == 1       # Maximum QoS 1
    assert dev.connack_prop(0x25) == 0       # Retain not available
    assert dev.connack_prop(0x22) == 16      # Topic Alias Maximum (default)
    assert dev.connack_prop(0x12) is None    # no assigned identifier for a given one
    dev.disconnect()


def test_paho_clients_connect_with_both_versions(server):
    for version in (4, 5):
        dev = Device(server.mqtt_port, version=version)
        assert dev.connack_rc == 0
        assert direct(server.http_port, dev.client_id, body=b"v")[0] == 200
        assert dev.next_message().payload == b"v"
        dev.close()


def test_assigned_client_identifier_in_5(server):
    dev = RawMqtt(server.mqtt_port, version=5)
    dev.connect(b"")
    assigned = dev.connack_prop(0x12)
    assert assigned, "CONNACK must carry an Assigned Client Identifier"
    # The assigned ID is a real identity: direct messages reach it.
    status, body = direct(server.http_port, assigned, topic="to/assigned", body=b"hello")
    assert status == 200, body
    assert dev.expect_publish().payload == b"hello"
    # Two empty-ID clients get different identifiers.
    other = RawMqtt(server.mqtt_port, version=5)
    other.connect(b"")
    assert other.connack_prop(0x12) not in (None, assigned)
    dev.close()
    other.close()


def test_311_empty_id_needs_a_clean_session(server):
    dev = RawMqtt(server.mqtt_port, version=4)
    dev.connect(b"", clean=False, expect=0x02)  # identifier rejected
    assert dev.closed()
    ok = RawMqtt(server.mqtt_port, version=4)
    ok.connect(b"", clean=True)  # accepted, with an identifier the server picks
    assert ok.no_packet(0.2)
    ok.close()


def test_client_id_of_128_bytes_is_accepted_and_129_refused(server):
    dev = RawMqtt(server.mqtt_port, version=5)
    dev.connect(b"x" * 128)
    dev.close()
    too_long = RawMqtt(server.mqtt_port, version=5)
    too_long.connect(b"y" * 129, expect=0x85)  # Client Identifier not valid
    assert too_long.closed()
    too_long4 = RawMqtt(server.mqtt_port, version=4)
    too_long4.connect(b"y" * 129, expect=0x02)
    assert too_long4.closed()


# ---------------------------------------------------------------------------------------------
# Take-over

@pytest.mark.parametrize("old_version", [4, 5])
def test_session_takeover(server, old_version):
    client_id = uid("twin")
    old = raw_device(server.mqtt_port, client_id=client_id, version=old_version)
    new = raw_device(server.mqtt_port, client_id=client_id, version=5)
    if old_version == 5:
        old.expect_disconnect(0x8E)  # Session taken over
    else:
        assert old.closed()           # 3.1.1 has no DISCONNECT from the server
    status, body = direct(server.http_port, client_id, topic="who", body=b"the new one")
    assert status == 200, body
    assert new.expect_publish().payload == b"the new one"
    new.close()


def test_takeover_by_paho_and_old_subscriptions_are_gone(server):
    client_id = uid("twin")
    old = raw_device(server.mqtt_port, client_id=client_id, version=5)
    assert old.subscribe([("take/over", 1)]) == [1]
    new = Device(server.mqtt_port, client_id=client_id, version=5)
    old.expect_disconnect(0x8E)
    pub = raw_device(server.mqtt_port, version=5)
    # The subscription belonged to the old connection; the new session starts clean.
    assert pub.publish("take/over", b"x", qos=1) == 0x10
    new.close()
    pub.close()


# ---------------------------------------------------------------------------------------------
# Keep-alive and PING

def test_pingreq_gets_pingresp(server):
    for version in (4, 5):
        dev = raw_device(server.mqtt_port, version=version)
        dev.send(PINGREQ_PACKET)
        pkt = dev.expect(PINGRESP)
        assert pkt.first == 0xD0 and pkt.body == b""
        dev.close()


@pytest.mark.parametrize("version", [4, 5])
def test_silent_client_is_closed_after_one_and_a_half_keepalives(server, version):
    dev = RawMqtt(server.mqtt_port, version=version)
    dev.connect(uid().encode(), keepalive=1)
    start = time.monotonic()
    if version == 5:
        pkt = dev.read_packet(timeout=6)
        assert pkt is not None and pkt.type == 14 and pkt.body[:1] == b"\x8d", pkt  # Keep Alive timeout
        assert dev.closed(6)
    else:
        assert dev.closed(6), "still open 6 s after a 1 s keep-alive"
    elapsed = time.monotonic() - start
    assert elapsed >= 1.0, f"closed after {elapsed:.2f} s: keep-alive x 1.5 must be allowed"


def test_client_that_pings_stays_connected(server):
    dev = RawMqtt(server.mqtt_port, version=4)
    dev.connect(uid().encode(), keepalive=1)
    dev.client_id = None
    end = time.monotonic() + 3.5
    while time.monotonic() < end:
        dev.send(PINGREQ_PACKET)
        assert dev.expect(PINGRESP, timeout=5).body == b""
        time.sleep(0.4)
    # Still the live session: it can be reached.
    dev.send(PINGREQ_PACKET)
    dev.expect(PINGRESP)
    dev.close()


def test_keepalive_zero_means_no_timeout(server):
    dev = RawMqtt(server.mqtt_port, version=4)
    dev.connect(b"forever-" + uuid.uuid4().hex[:6].encode(), keepalive=0)
    assert dev.no_packet(2.0)
    dev.send(PINGREQ_PACKET)
    dev.expect(PINGRESP)
    dev.close()


# ---------------------------------------------------------------------------------------------
# Will

def will_watcher(server):
    watcher = raw_device(server.mqtt_port, version=5)
    assert watcher.subscribe([("will/#", 1)]) == [1]
    return watcher


@pytest.mark.parametrize("version", [4, 5])
def test_will_is_published_on_abnormal_close(server, version):
    watcher = will_watcher(server)
    topic = f"will/{uid()}"
    dev = RawMqtt(server.mqtt_port, version=version)
    dev.connect(uid().encode(), will={"topic": topic, "payload": b"gone", "qos": 1})
    dev.close()  # no DISCONNECT: abnormal
    pub = watcher.expect_publish()
    assert (pub.topic, pub.payload, pub.qos, pub.retain) == (topic, b"gone", 1, False)
    watcher.puback(pub.packet_id)
    watcher.close()


@pytest.mark.parametrize("version", [4, 5])
def test_no_will_after_a_normal_disconnect(server, version):
    watcher = will_watcher(server)
    topic = f"will/{uid()}"
    dev = RawMqtt(server.mqtt_port, version=version)
    dev.connect(uid().encode(), will={"topic": topic, "payload": b"gone"})
    dev.disconnect()
    assert watcher.no_packet(1.0)
    # The watcher is listening: an abnormal close of another client does produce a will.
    other = RawMqtt(server.mqtt_port, version=version)
    other.connect(uid().encode(), will={"topic": topic, "payload": b"control"})
    other.close()
    assert watcher.expect_publish().payload == b"control"
    watcher.close()


def test_disconnect_with_will_message_reason_publishes_the_will(server):
    watcher = will_watcher(server)
    dev = RawMqtt(server.mqtt_port, version=5)
    dev.connect(uid().encode(), will={"topic": "will/asked", "payload": b"as requested",
                                      "properties": [(0x03, "text/plain")]})
    dev.disconnect(reason=0x04)
    pub = watcher.expect_publish()
    assert (pub.topic, pub.payload) == ("will/asked", b"as requested")
    assert pub.prop(0x03) == "text/plain"
    watcher.close()


def test_will_after_protocol_error_and_takeover(server):
    watcher = will_watcher(server)
    # A protocol error is an abnormal end: the will goes out.
    dev = RawMqtt(server.mqtt_port, version=5)
    dev.connect(uid().encode(), will={"topic": "will/error", "payload": b"err"})
    dev.send(b"\xf0\x00")  # AUTH without an authentication method
    dev.expect_disconnect(0x82)
    assert watcher.expect_publish().payload == b"err"
    # A take-over ends the old connection abnormally too (MQTT 5 3.1.4-3).
    client_id = uid().encode()
    old = RawMqtt(server.mqtt_port, version=5)
    old.connect(client_id, will={"topic": "will/takeover", "payload": b"old"})
    new = RawMqtt(server.mqtt_port, version=5)
    new.connect(client_id)
    old.expect_disconnect(0x8E)
    assert watcher.expect_publish().payload == b"old"
    new.close()
    watcher.close()


def test_retained_will_is_refused_in_5(server):
    dev = RawMqtt(server.mqtt_port, version=5)
    dev.connect(uid().encode(), will={"topic": "will/r", "payload": b"x", "retain": True}, expect=0x9A)
    assert dev.closed()


def test_will_qos2_is_refused(server):
    dev = RawMqtt(server.mqtt_port, version=5)
    dev.connect(uid().encode(), will={"topic": "will/q", "payload": b"x", "qos": 2}, expect=0x9B)
    assert dev.closed()
