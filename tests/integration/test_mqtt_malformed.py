"""Malformed MQTT on raw sockets (SPEC 5): each gets a clean error (CONNACK or DISCONNECT with a
reason code) or a close, never a crash, and the server keeps serving everyone else."""
import socket
import struct
import uuid

import pytest

from helpers import (CONNACK, RawMqtt, assert_serving, connect_packet, mstr, packet, publish_packet,
                     raw_device, subscribe_packet)


def uid():
    return ("m-" + uuid.uuid4().hex[:10]).encode()


@pytest.fixture
def checked_server(server):
    """The server; after the test, a fresh client still gets a confirmed direct message."""
    yield server
    assert_serving(server)


def closed_silently(dev):
    """The server closes without sending a single byte (no CONNACK, no DISCONNECT)."""
    return dev.closed()


# ---------------------------------------------------------------------------------------------
# Before and during CONNECT

@pytest.mark.parametrize("first", [
    b"\xc0\x00",                                   # PINGREQ
    publish_packet("t", b"x", version=4),          # PUBLISH
    subscribe_packet(1, [("t", 0)], 4),            # SUBSCRIBE
    b"\xe0\x00",                                   # DISCONNECT
    b"\x20\x02\x00\x00",                           # CONNACK (a server packet)
], ids=["pingreq", "publish", "subscribe", "disconnect", "connack"])
def test_first_packet_not_connect(checked_server, first):
    dev = RawMqtt(checked_server.mqtt_port)
    dev.send(first)
    assert closed_silently(dev)


def test_311_unsupported_protocol_level_gets_connack_0x01(checked_server):
    for level in (3, 6, 0):
        dev = RawMqtt(checked_server.mqtt_port, version=level)
        dev.send(connect_packet(uid(), version=level))
        pkt = dev.read_packet()
        assert pkt is not None and pkt.type == CONNACK, pkt
        assert pkt.first == 0x20 and pkt.body == b"\x00\x01", pkt  # unacceptable protocol version
        assert dev.closed()


def test_mqtt31_protocol_name_gets_connack_0x01(checked_server):
    dev = RawMqtt(checked_server.mqtt_port)
    dev.send(connect_packet(uid(), version=3, protocol_name=b"MQIsdp"))
    pkt = dev.read_packet()
    assert pkt is not None and pkt.body == b"\x00\x01", pkt
    assert dev.closed()


@pytest.mark.parametrize("version", [4, 5])
def test_bad_protocol_name(checked_server, version):
    dev = RawMqtt(checked_server.mqtt_port, version=version)
    dev.send(connect_packet(uid(), version=version, protocol_name=b"MQTX"))
    pkt = dev.read_packet()
    if pkt is not None:
        # MQTT 5 lets the server say why before closing; never a success.
        assert version == 5 and pkt.type == CONNACK and pkt.body[1] >= 0x80, pkt
        assert dev.closed()


@pytest.mark.parametrize("version", [4, 5])
def test_connect_reserved_flag(checked_server, version):
    dev = RawMqtt(checked_server.mqtt_port, version=version)
    dev.send(connect_packet(uid(), version=version, flags_extra=0x01))
    pkt = dev.read_packet()
    if version == 4:
        assert pkt is None, pkt  # 3.1.1 has no return code for a malformed CONNECT: close
    else:
        assert pkt is not None and pkt.type == CONNACK and pkt.body[1] == 0x81, pkt  # Malformed Packet
        assert dev.closed()


@pytest.mark.parametrize("version", [4, 5])
def test_connect_fixed_header_flags(checked_server, version):
    dev = RawMqtt(checked_server.mqtt_port, version=version)
    dev.send(connect_packet(uid(), version=version, fixed_flags=0x02))
    pkt = dev.read_packet()
    assert pkt is None or (pkt.type == CONNACK and pkt.body[1] >= 0x80), pkt
    if pkt is not None:
        assert dev.closed()


def test_will_flags_without_will(checked_server):
    dev = RawMqtt(checked_server.mqtt_port)
    dev.send(connect_packet(uid(), version=4, flags_extra=0x08))  # will QoS 1, no will flag
    assert closed_silently(dev)


def test_remaining_length_over_four_bytes(checked_server):
    dev = RawMqtt(checked_server.mqtt_port)
    dev.send(b"\x10\xff\xff\xff\xff\x01")
    assert closed_silently(dev)
    # Also after CONNECT (MQTT 5 says Malformed Packet).
    dev5 = raw_device(checked_server.mqtt_port, version=5)
    dev5.send(b"\x30\x80\x80\x80\x80\x01")
    dev5.expect_disconnect(0x81)


def test_connect_larger_than_max_packet(make_server):
    server = make_server("--mqtt-max-packet", "256")
    dev = RawMqtt(server.mqtt_port, version=5)
    dev.send(connect_packet(b"x" * 100, version=5, will={"topic": "w", "payload": b"p" * 300}))
    pkt = dev.read_packet()
    assert pkt is None or (pkt.type == CONNACK and pkt.body[1] == 0x95), pkt
    if pkt is not None:
        assert dev.closed()
    assert_serving(server)


@pytest.mark.parametrize("version", [4, 5])
def test_packet_larger_than_max_packet(make_server, version):
    server = make_server("--mqtt-max-packet", "1024")
    dev = raw_device(server.mqtt_port, version=version)
    if version == 5:
        assert dev.connack_prop(0x27) == 1024  # Maximum Packet Size advertised
    assert dev.publish("fits", b"y" * 900, qos=1) in (0, 0x10)
    # Only the fixed header is needed to refuse it: the rest is never sent.
    dev.send(b"\x30" + bytes([0xD0, 0x0F]))  # remaining length 2000: 2003 bytes in all
    if version == 5:
        dev.expect_disconnect(0x95)  # Packet too large
    else:
        assert dev.closed()
    assert_serving(server)


@pytest.mark.parametrize("version", [4, 5])
def test_garbage_inside_connect(checked_server, version):
    body = connect_packet(uid(), version=version)[2:] + b"\xde\xad\xbe\xef"
    dev = RawMqtt(checked_server.mqtt_port, version=version)
    dev.send(packet(0x10, body))
    pkt = dev.read_packet()
    if version == 4:
        assert pkt is None, pkt
    else:
        assert pkt is not None and pkt.type == CONNACK and pkt.body[1] == 0x81, pkt
        assert dev.closed()


@pytest.mark.parametrize("garbage", [b"\x00\x00", b"\x00\x05hello", b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" + b"x" * 80, bytes(range(256))],
                         ids=["type0", "type0-body", "http", "bytes"])
def test_garbage_after_connect(checked_server, garbage):
    dev = raw_device(checked_server.mqtt_port, version=5)
    dev.send(garbage)
    pkt = dev.read_packet()
    if pkt is not None:
        assert pkt.type == 14 and pkt.body[0] in (0x81, 0x82), pkt
        assert dev.closed()
    dev4 = raw_device(checked_server.mqtt_port, version=4)
    dev4.send(garbage)
    assert dev4.closed()


def test_second_connect(checked_server):
    dev = raw_device(checked_server.mqtt_port, version=5)
    dev.send(connect_packet(uid(), version=5))
    dev.expect_disconnect(0x82)  # Protocol Error
    dev4 = raw_device(checked_server.mqtt_port, version=4)
    dev4.send(connect_packet(uid(), version=4))
    assert dev4.closed()


# ---------------------------------------------------------------------------------------------
# After CONNECT

@pytest.mark.parametrize("flags", [0x00, 0x01, 0x03, 0x0A])
@pytest.mark.parametrize("version", [4, 5])
def test_subscribe_with_wrong_fixed_header_flags(checked_server, version, flags):
    dev = raw_device(checked_server.mqtt_port, version=version)
    dev.send(subscribe_packet(1, [("t/#", 0)], version, fixed_flags=flags))
    if version == 5:
        dev.expect_disconnect(0x81)  # Malformed Packet
    else:
        assert dev.closed()


def test_unsubscribe_and_pingreq_with_wrong_flags(checked_server):
    dev = raw_device(checked_server.mqtt_port, version=5)
    dev.send(packet(0xA0, struct.pack(">H", 1) + b"\x00" + mstr("t")))  # UNSUBSCRIBE with flags 0
    dev.expect_disconnect(0x81)
    dev2 = raw_device(checked_server.mqtt_port, version=5)
    dev2.send(b"\xc1\x00")  # PINGREQ with a flag
    dev2.expect_disconnect(0x81)


@pytest.mark.parametrize("topic", [b"a/\xff", b"a/\xc3", b"a/\xed\xa0\x80", b"a\x00b"],
                         ids=["ff", "truncated", "surrogate", "nul"])
@pytest.mark.parametrize("version", [4, 5])
def test_invalid_utf8_in_publish_topic(checked_server, version, topic):
    dev = raw_device(checked_server.mqtt_port, version=version)
    dev.send(publish_packet(topic, b"x", qos=1, version=version))
    if version == 5:
        pkt = dev.read_packet()
        assert pkt is not None and pkt.type == 14, f"expected DISCONNECT, got {pkt}"
        assert pkt.body[0] in (0x81, 0x90), f"reason {pkt.body[0]:#x}"  # Malformed / Topic Name invalid
        assert dev.closed()
    else:
        assert dev.closed()


@pytest.mark.parametrize("version", [4, 5])
def test_invalid_utf8_in_subscribe_filter(checked_server, version):
    dev = raw_device(checked_server.mqtt_port, version=version)
    dev.send(subscribe_packet(1, [(b"a/\xff/#", 0)], version))
    if version == 5:
        dev.expect_disconnect(0x81)
    else:
        assert dev.closed()


@pytest.mark.parametrize("version", [4, 5])
def test_wildcard_in_publish_topic(checked_server, version):
    dev = raw_device(checked_server.mqtt_port, version=version)
    dev.send(publish_packet("a/+/b", b"x", version=version))
    if version == 5:
        pkt = dev.read_packet()
        assert pkt is not None and pkt.type == 14 and pkt.body[0] in (0x81, 0x82, 0x90), pkt
        assert dev.closed()
    else:
        assert dev.closed()


def test_publish_qos1_without_packet_identifier_zero(checked_server):
    dev = raw_device(checked_server.mqtt_port, version=5)
    dev.send(publish_packet("t", b"x", qos=1, packet_id=0, version=5))
    pkt = dev.read_packet()
    assert pkt is not None and pkt.type == 14 and pkt.body[0] in (0x81, 0x82), pkt


def test_truncated_packet_then_close(checked_server):
    dev = raw_device(checked_server.mqtt_port, version=4)
    dev.send(b"\x30\x20\x00\x05ab")  # announces 32 bytes, sends 4, goes away
    dev.close()


def test_property_block_overrun(checked_server):
    dev = raw_device(checked_server.mqtt_port, version=5)
    # Property length 10, but only 2 bytes of properties before the packet ends.
    dev.send(packet(0x30, mstr("t") + b"\x0a\x01\x01"))
    dev.expect_disconnect(0x81)


def test_unknown_property(checked_server):
    dev = raw_device(checked_server.mqtt_port, version=5)
    dev.send(packet(0x30, mstr("t") + b"\x02\x7f\x00" + b"x"))
    pkt = dev.read_packet()
    assert pkt is not None and pkt.type == 14 and pkt.body[0] in (0x81, 0x82), pkt


def test_many_bad_clients_in_a_row(checked_server):
    for i in range(30):
        s = socket.create_connection(("127.0.0.1", checked_server.mqtt_port), timeout=5)
        s.sendall(struct.pack(">B", 0x10 + (i % 16)) + bytes([i]) + bytes(range(i)))
        s.close()
