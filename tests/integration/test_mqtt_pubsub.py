"""MQTT publish/subscribe between connected clients (SPEC 5): wildcards, the `$` rule,
UNSUBSCRIBE, what the server refuses (QoS 2, retain, bad aliases), PUBACK reason codes, topic
aliases, property forwarding, and interoperability with the mosquitto command-line clients."""
import shutil
import subprocess
import uuid

import pytest

from helpers import Device, Publish, direct, publish_packet, raw_device, subscribe_packet, wait_until


def uid(prefix="c"):
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def received(dev, wait=0.5):
    """Every PUBLISH that arrives within `wait` seconds of silence: [(topic, payload, qos)]."""
    out = []
    while True:
        try:
            pkt = dev.read_packet(wait)
        except TimeoutError:
            return out
        assert pkt is not None, "connection closed"
        assert pkt.type == 3, pkt
        pub = Publish(pkt, dev.version)
        if pub.qos == 1:
            dev.puback(pub.packet_id)
        out.append((pub.topic, pub.payload, pub.qos))


# ---------------------------------------------------------------------------------------------
# Wildcards and the $ rule

@pytest.mark.parametrize("version", [4, 5])
def test_plus_and_hash_wildcards(server, version):
    sub = raw_device(server.mqtt_port, version=version)
    assert sub.subscribe([("a/+/c", 0), ("a/#", 1), ("+/+", 0)]) == [0, 1, 0]
    pub = raw_device(server.mqtt_port, version=5)
    for topic in ("a/b/c", "a/b/d", "a", "b/a/c", "x/y", "a/b/c/d", "q"):
        pub.publish(topic, topic.encode(), qos=1, packet_id=7)
    got = received(sub)
    # Overlapping subscriptions deliver once, at the highest granted QoS; `#` matches the parent.
    assert got == [("a/b/c", b"a/b/c", 1), ("a/b/d", b"a/b/d", 1), ("a", b"a", 1),
                   ("x/y", b"x/y", 0), ("a/b/c/d", b"a/b/c/d", 1)]
    sub.close()
    pub.close()


def test_dollar_topics_are_not_matched_by_leading_wildcards(server):
    hash_sub = raw_device(server.mqtt_port, version=5)
    plus_sub = raw_device(server.mqtt_port, version=4)
    sys_sub = raw_device(server.mqtt_port, version=5)
    assert hash_sub.subscribe([("#", 0)]) == [0]
    assert plus_sub.subscribe([("+/x", 0)]) == [0]
    assert sys_sub.subscribe([("$SYS/#", 0)]) == [0]
    pub = raw_device(server.mqtt_port, version=5)
    assert pub.publish("$SYS/x", b"sys", qos=1) == 0
    assert pub.publish("normal/x", b"normal", qos=1) == 0
    assert received(sys_sub) == [("$SYS/x", b"sys", 0)]
    assert received(hash_sub) == [("normal/x", b"normal", 0)]
    assert received(plus_sub, 0.2) == [("normal/x", b"normal", 0)]
    # A `$` topic with only the `#` subscriber would have no subscriber at all.
    assert pub.publish("$other/x", b"", qos=1) == 0x10
    assert received(hash_sub, 0.3) == []
    for d in (hash_sub, plus_sub, sys_sub, pub):
        d.close()


def test_qos2_subscription_is_granted_qos1(server):
    for version in (4, 5):
        sub = raw_device(server.mqtt_port, version=version)
        assert sub.subscribe([("q2/topic", 2)]) == [1]
        pub = raw_device(server.mqtt_port, version=5)
        pub.publish("q2/topic", b"x", qos=1)
        assert received(sub) == [("q2/topic", b"x", 1)]
        sub.close()
        pub.close()


def test_shared_subscriptions_are_refused_per_filter(server):
    sub = raw_device(server.mqtt_port, version=5)
    assert sub.subscribe([("ok/+", 1), ("$share/g/t", 0)]) == [1, 0x9E]
    sub.close()


@pytest.mark.parametrize("bad_filter", ["a/#/b", "a+", "#a", ""])
@pytest.mark.parametrize("version", [4, 5])
def test_malformed_filters_in_subscribe(server, version, bad_filter):
    # A filter that breaks the wildcard rules is not "correctly formed" (MQTT 5 4.7.1): a
    # SUBACK failure code or a DISCONNECT are both clean answers. Either way the connection
    # must not go on as if the subscription existed.
    sub = raw_device(server.mqtt_port, version=version)
    sub.send(subscribe_packet(1, [(bad_filter, 0)], version))
    pkt = sub.read_packet()
    if pkt is None:
        assert version == 4, "MQTT 5 says why: DISCONNECT or SUBACK with a reason code"
    elif pkt.type == 9:
        assert pkt.body[-1] == (0x80 if version == 4 else 0x8F), pkt
    else:
        assert pkt.type == 14 and pkt.body[:1] in (b"\x81", b"\x82", b"\x8f"), pkt
        assert sub.closed()
    sub.close()


# ---------------------------------------------------------------------------------------------
# UNSUBSCRIBE

def test_unsubscribe(server):
    sub = raw_device(server.mqtt_port, version=5)
    assert sub.subscribe([("u/1", 1), ("u/2", 1)]) == [1, 1]
    assert sub.unsubscribe(["u/1", "never/subscribed"], packet_id=9) == [0x00, 0x11]
    pub = raw_device(server.mqtt_port, version=5)
    assert pub.publish("u/1", b"gone", qos=1) == 0x10
    assert pub.publish("u/2", b"still", qos=1) == 0x00
    assert received(sub) == [("u/2", b"still", 1)]
    sub.close()
    pub.close()


def test_unsubscribe_311(server):
    sub = raw_device(server.mqtt_port, version=4)
    assert sub.subscribe([("u4/1", 0)]) == [0]
    sub.send(b"\xa2\x08\x00\x05\x00\x04u4/1")
    pkt = sub.expect(11)
    assert pkt.first == 0xB0 and pkt.body == b"\x00\x05"  # 3.1.1 UNSUBACK has no payload
    pub = raw_device(server.mqtt_port, version=5)
    assert pub.publish("u4/1", b"x", qos=1) == 0x10
    sub.close()
    pub.close()


def test_no_local(server):
    dev = raw_device(server.mqtt_port, version=5)
    other = raw_device(server.mqtt_port, version=5)
    assert dev.subscribe([("nl/t", 0x04 | 1)]) == [1]  # No Local
    assert other.subscribe([("nl/t", 1)]) == [1]
    dev.publish("nl/t", b"mine", qos=1)
    assert received(other) == [("nl/t", b"mine", 1)]
    assert received(dev, 0.3) == []
    dev.close()
    other.close()


# ---------------------------------------------------------------------------------------------
# PUBACK, and what is refused

def test_puback_reason_codes(server):
    pub5 = raw_device(server.mqtt_port, version=5)
    assert pub5.publish("nobody/listens", b"x", qos=1, packet_id=3) == 0x10  # No matching subscribers
    sub = raw_device(server.mqtt_port, version=4)
    sub.subscribe([("somebody/#", 0)])
    assert pub5.publish("somebody/listens", b"x", qos=1, packet_id=4) == 0x00
    # 3.1.1 PUBACK is the bare packet identifier.
    pub4 = raw_device(server.mqtt_port, version=4)
    pub4.send(publish_packet("nobody", b"x", qos=1, packet_id=5, version=4))
    pkt = pub4.expect(4)
    assert pkt.first == 0x40 and pkt.body == b"\x00\x05"
    for d in (pub5, sub, pub4):
        d.close()


def test_qos2_publish_is_refused(server):
    dev5 = raw_device(server.mqtt_port, version=5)
    dev5.send(publish_packet("q2", b"x", qos=2, packet_id=1, version=5))
    dev5.expect_disconnect(0x9B)  # QoS not supported
    dev4 = raw_device(server.mqtt_port, version=4)
    dev4.send(publish_packet("q2", b"x", qos=2, packet_id=1, version=4))
    assert dev4.closed()


def test_retain_is_refused_in_5_and_ignored_in_311(server):
    sub = raw_device(server.mqtt_port, version=4)
    sub.subscribe([("ret/#", 0)])
    dev5 = raw_device(server.mqtt_port, version=5)
    dev5.send(publish_packet("ret/5", b"x", retain=True, version=5))
    dev5.expect_disconnect(0x9A)  # Retain not supported
    assert received(sub, 0.3) == []
    # 3.1.1 cannot be told: the message is routed but never retained, and arrives with RETAIN 0.
    dev4 = raw_device(server.mqtt_port, version=4)
    dev4.send(publish_packet("ret/4", b"ok", retain=True, version=4))
    pkt = sub.expect(3)
    assert pkt.first == 0x30 and pkt.body.endswith(b"ok")
    late = raw_device(server.mqtt_port, version=4)
    late.subscribe([("ret/#", 0)])
    assert late.no_packet(0.5)
    for d in (sub, dev4, late):
        d.close()


# ---------------------------------------------------------------------------------------------
# Topic aliases (MQTT 5)

def test_topic_alias(server):
    sub = raw_device(server.mqtt_port, version=5)
    sub.subscribe([("alias/#", 1)])
    pub = raw_device(server.mqtt_port, version=5)
    assert pub.publish("alias/one", b"1", qos=1, packet_id=1, properties=[(0x23, 1)]) == 0
    assert pub.publish("", b"2", qos=1, packet_id=2, properties=[(0x23, 1)]) == 0       # alias only
    assert pub.publish("alias/two", b"3", qos=1, packet_id=3, properties=[(0x23, 1)]) == 0  # re-mapped
    assert pub.publish("", b"4", qos=1, packet_id=4, properties=[(0x23, 1)]) == 0
    assert pub.publish("alias/sixteen", b"5", qos=1, packet_id=5, properties=[(0x23, 16)]) == 0
    assert received(sub) == [("alias/one", b"1", 1), ("alias/one", b"2", 1), ("alias/two", b"3", 1),
                             ("alias/two", b"4", 1), ("alias/sixteen", b"5", 1)]
    sub.close()
    pub.close()


@pytest.mark.parametrize("alias,reasons", [(17, [0x94]), (0xFFFF, [0x94]), (0, [0x94, 0x82]), (5, [0x82])])
def test_bad_topic_alias_disconnects(server, alias, reasons):
    pub = raw_device(server.mqtt_port, version=5)
    topic = "" if alias == 5 else "t"  # alias 5 was never mapped
    pub.send(publish_packet(topic, b"x", version=5, properties=[(0x23, alias)]))
    pkt = pub.read_packet()
    assert pkt is not None and pkt.type == 14, pkt
    assert pkt.body[0] in reasons, f"DISCONNECT {pkt.body[0]:#x}, expected one of {reasons}"
    assert pub.closed()


# ---------------------------------------------------------------------------------------------
# Properties and versions

def test_properties_forwarded_between_mqtt5_clients_and_dropped_for_311(server):
    sub5 = raw_device(server.mqtt_port, version=5)
    sub4 = raw_device(server.mqtt_port, version=4)
    sub5.subscribe([("p/#", 0)])
    sub4.subscribe([("p/#", 0)])
    pub = raw_device(server.mqtt_port, version=5)
    props = [(0x01, 1), (0x03, "text/plain"), (0x08, "p/reply"), (0x09, b"\x01\x02"),
             (0x26, ("k", "v")), (0x26, ("k", "w"))]
    pub.publish("p/x", b"hello", qos=1, properties=props)
    p5 = Publish(sub5.expect(3), 5)
    assert (p5.topic, p5.payload) == ("p/x", b"hello")
    assert p5.prop(0x01) == 1 and p5.prop(0x03) == "text/plain" and p5.prop(0x08) == "p/reply"
    assert p5.prop(0x09) == b"\x01\x02"
    assert [v for i, v in p5.properties if i == 0x26] == [("k", "v"), ("k", "w")]
    p4 = Publish(sub4.expect(3), 4)
    assert (p4.topic, p4.payload) == ("p/x", b"hello")
    for d in (sub5, sub4, pub):
        d.close()


def test_invalid_utf8_payload_with_format_indicator(server):
    pub = raw_device(server.mqtt_port, version=5)
    rc = pub.publish("fmt/t", b"\xff", qos=1, properties=[(0x01, 1)])
    assert rc == 0x99  # Payload format invalid
    pub.close()


def test_paho_pubsub_across_versions(server):
    sub = Device(server.mqtt_port, version=4)
    sub.subscribe("paho/+", qos=1)
    pub = Device(server.mqtt_port, version=5)
    info = pub.client.publish("paho/t", b"from5", qos=1)
    info.wait_for_publish(10)
    m = sub.next_message()
    assert (m.topic, m.payload, m.qos) == ("paho/t", b"from5", 1)
    sub.close()
    pub.close()


@pytest.mark.skipif(shutil.which("mosquitto_sub") is None, reason="mosquitto clients not installed")
def test_mosquitto_clients(server):
    port = str(server.mqtt_port)
    sub = subprocess.Popen(["mosquitto_sub", "-h", "127.0.0.1", "-p", port, "-V", "mqttv5", "-i", uid("mosq"),
                            "-t", "mosq/#", "-q", "1", "-C", "2", "-W", "20", "-v"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        # Know when the subscription is in place: a QoS 1 PUBLISH then finds a subscriber.
        probe = raw_device(server.mqtt_port, version=5)
        assert wait_until(lambda: probe.publish("mosq/ready", b"ready", qos=1) == 0x00, timeout=10, interval=0.05)
        probe.close()
        subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p", port, "-V", "mqttv311", "-t", "mosq/hello",
                        "-m", "world", "-q", "1"], check=True, timeout=20)
        out, err = sub.communicate(timeout=20)
        assert sub.returncode == 0, err
        assert out.splitlines() == ["mosq/ready ready", "mosq/hello world"]
    finally:
        if sub.poll() is None:
            sub.kill()
            sub.wait()


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl not installed")
def test_curl_sends_a_direct_message_to_mosquitto_sub(server):
    client_id = uid("mosq")
    sub = subprocess.Popen(["mosquitto_sub", "-h", "127.0.0.1", "-p", str(server.mqtt_port), "-i", client_id,
                            "-t", "unrelated/topic", "-C", "1", "-W", "20", "-v"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        url = f"{server.http}/connections/{client_id}/messages?topic=cmd%2Freboot&confirmation=true"
        def attempt():
            r = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST",
                                "--data-binary", "now", url], capture_output=True, text=True, timeout=20)
            return r.stdout == "200"
        assert wait_until(attempt, timeout=10, interval=0.1)
        out, err = sub.communicate(timeout=20)
        assert out.strip() == "cmd/reboot now"
    finally:
        if sub.poll() is None:
            sub.kill()
            sub.wait()
    # mosquitto_sub left after its one message: the client is gone.
    assert wait_until(lambda: direct(server.http_port, client_id)[0] == 404)
