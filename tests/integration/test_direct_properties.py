"""MQTT 5 properties of direct messages (SPEC 2): contentType, responseTopic and the
x-amz-mqtt5-* headers reach an MQTT 5 receiver as PUBLISH properties and are dropped, with the
payload intact, for an MQTT 3.1.1 receiver."""
import base64

import pytest

from helpers import Device, b64_json, direct, raw_device

CONTENT_TYPE, RESPONSE_TOPIC, CORRELATION_DATA, PAYLOAD_FORMAT, USER_PROPERTY = 0x03, 0x08, 0x09, 0x01, 0x26

USER_PROPERTIES = [{"trace": "t-1"}, {"ünï": "cødé"}, {"trace": "t-2"}]
CORRELATION = b"\x00\x01corr\xff"
HEADERS = {
    "x-amz-mqtt5-user-properties": b64_json(USER_PROPERTIES),
    "x-amz-mqtt5-payload-format-indicator": "UTF8_DATA",
    "x-amz-mqtt5-correlation-data": base64.b64encode(CORRELATION).decode(),
}
CONTENT = "&contentType=application%2Fjson%3B%20charset%3Dutf-8"


def test_properties_reach_an_mqtt5_device_raw(server):
    dev = raw_device(server.mqtt_port, version=5)
    status, body = direct(server.http_port, dev.client_id, topic="props/raw", body='{"on":true}'.encode(),
                          headers=HEADERS, extra=CONTENT)
    assert status == 200, body
    pub = dev.expect_publish()
    assert (pub.topic, pub.payload, pub.qos) == ("props/raw", b'{"on":true}', 0)
    assert pub.prop(CONTENT_TYPE) == "application/json; charset=utf-8"
    assert pub.prop(PAYLOAD_FORMAT) == 1
    assert pub.prop(CORRELATION_DATA) == CORRELATION
    # User properties keep their order and duplicates (MQTT 5 3.3.2.3.7).
    assert [v for i, v in pub.properties if i == USER_PROPERTY] == [
        ("trace", "t-1"), ("ünï", "cødé"), ("trace", "t-2")]
    assert pub.prop(RESPONSE_TOPIC) is None
    dev.close()


def test_properties_reach_a_paho_mqtt5_device(server):
    dev = Device(server.mqtt_port, version=5)
    try:
        headers = dict(HEADERS, **{"x-amz-mqtt5-payload-format-indicator": "UNSPECIFIED_BYTES"})
        status, body = direct(server.http_port, dev.client_id, topic="props/paho", body=b"\x00\xff",
                              confirm=True, headers=headers, extra="&contentType=application%2Foctet-stream")
        assert status == 200, body
        m = dev.next_message()
        assert (m.topic, m.payload, m.qos) == ("props/paho", b"\x00\xff", 1)
        p = m.properties
        assert p.ContentType == "application/octet-stream"
        assert p.PayloadFormatIndicator == 0
        assert p.CorrelationData == CORRELATION
        assert p.UserProperty == [("trace", "t-1"), ("ünï", "cødé"), ("trace", "t-2")]
    finally:
        dev.close()


def test_no_properties_when_none_are_given(server):
    dev = raw_device(server.mqtt_port, version=5)
    assert direct(server.http_port, dev.client_id, topic="plain", body=b"p")[0] == 200
    pub = dev.expect_publish()
    assert pub.properties == [] and pub.payload == b"p"
    dev.close()


def test_properties_are_dropped_for_an_mqtt311_device(server):
    # A 3.1.1 PUBLISH has no property block: if one leaked, the payload would not match.
    dev = raw_device(server.mqtt_port, version=4)
    status, body = direct(server.http_port, dev.client_id, topic="props/v4", body=b"payload-v4",
                          headers=HEADERS, extra=CONTENT)
    assert status == 200, body
    pub = dev.expect_publish()
    assert (pub.topic, pub.payload, pub.qos) == ("props/v4", b"payload-v4", 0)
    dev.close()


def test_properties_are_dropped_for_a_paho_mqtt311_device(server):
    dev = Device(server.mqtt_port, version=4)
    try:
        status, body = direct(server.http_port, dev.client_id, topic="props/v4", body=b"payload-v4", confirm=True,
                              headers=HEADERS, extra=CONTENT)
        assert status == 200, body
        m = dev.next_message()
        assert (m.topic, m.payload, m.qos) == ("props/v4", b"payload-v4", 1)
    finally:
        dev.close()


@pytest.mark.parametrize("version", [4, 5])
def test_response_topic_reaches_mqtt5_and_is_dropped_for_311(server, version):
    dev = raw_device(server.mqtt_port, version=version)
    status, body = direct(server.http_port, dev.client_id, topic="ask", body=b"q",
                          extra="&responseTopic=reply%2Fto%2Fme")
    assert status == 200, body
    pub = dev.expect_publish()
    assert (pub.topic, pub.payload) == ("ask", b"q")
    if version == 5:
        assert pub.prop(RESPONSE_TOPIC) == "reply/to/me"
    dev.close()
