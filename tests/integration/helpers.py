"""Small clients used by the integration tests: HTTP over curl/http.client, MQTT over paho."""
import http.client
import json
import queue
import socket
import time
import uuid

import paho.mqtt.client as mqtt


def http_request(port, method, path, body=b"", headers=None, timeout=30):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    conn.request(method, path, body=body, headers=headers or {})
    resp = conn.getresponse()
    data = resp.read()
    conn.close()
    return resp.status, dict(resp.getheaders()), data


def direct(port, client_id, topic="cmd/x", body=b"hi", confirm=None, timeout=None, headers=None, extra=""):
    from urllib.parse import quote
    path = f"/connections/{quote(client_id, safe='')}/messages?topic={quote(topic, safe='')}"
    if confirm is not None:
        path += f"&confirmation={'true' if confirm else 'false'}"
    if timeout is not None:
        path += f"&timeout={timeout}"
    path += extra
    status, hdrs, data = http_request(port, "POST", path, body, headers)
    return status, (json.loads(data) if data else None)


class Device:
    """A paho-mqtt client that records everything it receives, subscribed or not."""

    def __init__(self, port, client_id=None, version=5, clean=True, keepalive=60, **connect_kwargs):
        self.client_id = client_id or "dev-" + uuid.uuid4().hex[:10]
        protocol = mqtt.MQTTv5 if version == 5 else mqtt.MQTTv311
        kwargs = {"client_id": self.client_id, "protocol": protocol}
        if version != 5:
            kwargs["clean_session"] = clean
        self.client = mqtt.Client(**kwargs)
        self.messages = queue.Queue()
        self.connack = queue.Queue()
        self.disconnects = queue.Queue()
        self.client.on_message = lambda c, u, m: self.messages.put(m)
        if version == 5:
            self.client.on_connect = lambda c, u, f, rc, props=None: self.connack.put((rc, props))
            self.client.on_disconnect = lambda c, u, rc, props=None: self.disconnects.put(rc)
        else:
            self.client.on_connect = lambda c, u, f, rc: self.connack.put((rc, None))
            self.client.on_disconnect = lambda c, u, rc: self.disconnects.put(rc)
        self.client.connect("127.0.0.1", port, keepalive=keepalive, **connect_kwargs)
        self.client.loop_start()
        rc, self.connack_props = self.connack.get(timeout=10)
        self.connack_rc = rc

    def next_message(self, timeout=10):
        return self.messages.get(timeout=timeout)

    def close(self):
        self.client.disconnect()
        self.client.loop_stop()


def raw_mqtt_connect(port, client_id=b"raw", version=4, keepalive=60):
    """A raw socket that has sent CONNECT and read CONNACK; for malformed-packet tests."""
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    if version == 4:
        var = b"\x00\x04MQTT\x04\x02" + keepalive.to_bytes(2, "big")
    else:
        var = b"\x00\x04MQTT\x05\x02" + keepalive.to_bytes(2, "big") + b"\x00"
    payload = len(client_id).to_bytes(2, "big") + client_id
    body = var + payload
    s.sendall(bytes([0x10, len(body)]) + body)
    connack = s.recv(64)
    assert connack[0] == 0x20, connack
    return s


def wait_until(predicate, timeout=10, interval=0.02):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False
