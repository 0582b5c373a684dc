"""Clients for the integration tests: HTTP (http.client and raw sockets), MQTT (paho-mqtt and a
raw-socket client that speaks the wire format byte by byte), and a few waits. Every network
operation has a timeout; every helper talks to 127.0.0.1 only."""
import base64
import http.client
import json
import queue
import select
import socket
import struct
import threading
import time
import uuid
from urllib.parse import quote

import paho.mqtt.client as mqtt

WAIT = 10  # seconds: the upper bound of every "it should happen" wait


# ---------------------------------------------------------------------------------------------
# HTTP

def http_request(port, method, path, body=b"", headers=None, timeout=30):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    conn.request(method, path, body=body, headers=headers or {})
    resp = conn.getresponse()
    data = resp.read()
    conn.close()
    return resp.status, dict(resp.getheaders()), data


def direct_path(client_id, topic="cmd/x", confirm=None, timeout=None, extra=""):
    path = f"/connections/{quote(client_id, safe='')}/messages?topic={quote(topic, safe='')}"
    if confirm is not None:
        path += f"&confirmation={'true' if confirm else 'false'}"
    if timeout is not None:
        path += f"&timeout={timeout}"
    return path + extra


def direct(port, client_id, topic="cmd/x", body=b"hi", confirm=None, timeout=None, headers=None, extra=""):
    """POST a direct message; returns (status, parsed JSON body or None)."""
    path = direct_path(client_id, topic, confirm, timeout, extra)
    status, hdrs, data = http_request(port, "POST", path, body, headers)
    return status, (json.loads(data) if data else None)


def direct_full(port, client_id, topic="cmd/x", body=b"hi", confirm=None, timeout=None, headers=None, extra=""):
    """Like direct() but also returns the response headers (lower-cased names)."""
    path = direct_path(client_id, topic, confirm, timeout, extra)
    status, hdrs, data = http_request(port, "POST", path, body, headers)
    return status, {k.lower(): v for k, v in hdrs.items()}, (json.loads(data) if data else None)


class DirectInBackground:
    """A direct message sent from another thread, for requests that wait on a device."""

    def __init__(self, port, client_id, **kwargs):
        self.result = None
        self.error = None
        self.started = time.monotonic()
        self.finished = None

        def run():
            try:
                self.result = direct(port, client_id, **kwargs)
            except Exception as e:  # noqa: BLE001 - reported by get()
                self.error = e
            self.finished = time.monotonic()

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()

    def get(self, timeout=30):
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "the direct message got no answer in time"
        if self.error:
            raise self.error
        return self.result

    @property
    def elapsed(self):
        return self.finished - self.started

    def done(self):
        return not self.thread.is_alive()


class RawHttp:
    """A raw HTTP/1.1 connection: send arbitrary bytes, read responses one at a time."""

    def __init__(self, port, timeout=WAIT, prefix=b""):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""
        if prefix:
            self.sock.sendall(prefix)

    def send(self, data):
        self.sock.sendall(data)

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise EOFError("connection closed")
        self.buf += chunk

    def read_response(self):
        """Returns (status, headers with lower-case names, body). Raises EOFError on close."""
        while b"\r\n\r\n" not in self.buf:
            self._fill()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ")[1])
        headers = {}
        for line in lines[1:]:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
        if status == 100:
            return self.read_response()
        length = int(headers.get("content-length", "0"))
        while len(self.buf) < length:
            self._fill()
        body, self.buf = self.buf[:length], self.buf[length:]
        return status, headers, body

    def read_json_response(self):
        status, headers, body = self.read_response()
        return status, headers, (json.loads(body) if body else None)

    def nothing_pending(self, wait=0.3):
        """True when no byte arrives within `wait` seconds (the connection is open and quiet)."""
        if self.buf:
            return False
        readable, _, _ = select.select([self.sock], [], [], wait)
        return not readable

    def closed(self, timeout=WAIT):
        """True when the peer closes (EOF or reset) within `timeout`, after any buffered bytes."""
        return socket_closed(self.sock, timeout)

    def close(self):
        self.sock.close()


def socket_closed(sock, timeout=WAIT):
    """Reads and discards until EOF; True if the peer closed within `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            data = sock.recv(65536)
        except socket.timeout:
            return False
        except (ConnectionResetError, BrokenPipeError):
            return True
        if not data:
            return True
    return False


def http_raw_exchange(port, data, timeout=WAIT):
    """Sends raw bytes and returns (status, headers, body, closed_afterwards)."""
    conn = RawHttp(port, timeout=timeout)
    try:
        conn.send(data)
        status, headers, body = conn.read_response()
        closed = conn.closed(timeout)
        return status, headers, body, closed
    finally:
        conn.close()


def metrics(port):
    """Parses /metrics into {(name, frozenset(labels.items())): value}."""
    status, headers, body = http_request(port, "GET", "/metrics")
    assert status == 200
    out = {}
    for line in body.decode().splitlines():
        if not line or line.startswith("#"):
            continue
        name_labels, value = line.rsplit(" ", 1)
        if "{" in name_labels:
            name, labels = name_labels.split("{", 1)
            pairs = {}
            for item in labels.rstrip("}").split(","):
                k, v = item.split("=", 1)
                pairs[k] = v.strip('"')
        else:
            name, pairs = name_labels, {}
        out[(name, frozenset(pairs.items()))] = float(value)
    return out


def metric_sum(samples, name, **labels):
    """Sum of a metric over every label set that contains `labels`."""
    want = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and want <= set(ls))


def metric_by_shard(samples, name, **labels):
    want = set(labels.items())
    out = {}
    for (n, ls), v in samples.items():
        if n == name and want <= set(ls):
            shard = dict(ls)["shard"]
            out[shard] = out.get(shard, 0) + v
    return out


def b64_json(value):
    return base64.b64encode(json.dumps(value).encode()).decode()


# ---------------------------------------------------------------------------------------------
# MQTT over paho

class Device:
    """A paho-mqtt client that records everything it receives, subscribed or not."""

    def __init__(self, port, client_id=None, version=5, clean=True, keepalive=60, will=None, **connect_kwargs):
        self.client_id = client_id if client_id is not None else "dev-" + uuid.uuid4().hex[:10]
        protocol = mqtt.MQTTv5 if version == 5 else mqtt.MQTTv311
        kwargs = {"client_id": self.client_id, "protocol": protocol}
        if version != 5:
            kwargs["clean_session"] = clean
        self.client = mqtt.Client(**kwargs)
        if will:
            self.client.will_set(**will)
        self.messages = queue.Queue()
        self.connack = queue.Queue()
        self.disconnects = queue.Queue()
        self.acks = queue.Queue()
        self.client.on_message = lambda c, u, m: self.messages.put(m)
        self.client.on_subscribe = lambda c, u, mid, granted, *rest: self.acks.put(("suback", mid, granted))
        self.client.on_publish = lambda c, u, mid: self.acks.put(("puback", mid))
        if version == 5:
            self.client.on_connect = lambda c, u, f, rc, props=None: self.connack.put((rc, props))
            self.client.on_disconnect = lambda c, u, rc, props=None: self.disconnects.put(rc)
        else:
            self.client.on_connect = lambda c, u, f, rc: self.connack.put((rc, None))
            self.client.on_disconnect = lambda c, u, rc: self.disconnects.put(rc)
        self.client.connect("127.0.0.1", port, keepalive=keepalive, **connect_kwargs)
        self.client.loop_start()
        rc, self.connack_props = self.connack.get(timeout=WAIT)
        self.connack_rc = rc

    def next_message(self, timeout=WAIT):
        return self.messages.get(timeout=timeout)

    def no_message(self, wait=0.5):
        try:
            m = self.messages.get(timeout=wait)
        except queue.Empty:
            return True
        raise AssertionError(f"unexpected message on {m.topic!r}: {m.payload!r}")

    def subscribe(self, topic, qos=1):
        rc, mid = self.client.subscribe(topic, qos)
        assert rc == 0
        kind, got_mid, granted = self.acks.get(timeout=WAIT)
        assert kind == "suback" and got_mid == mid
        return granted

    def close(self):
        self.client.disconnect()
        self.client.loop_stop()


# ---------------------------------------------------------------------------------------------
# MQTT on the wire

CONNECT, CONNACK, PUBLISH, PUBACK = 1, 2, 3, 4
SUBSCRIBE, SUBACK, UNSUBSCRIBE, UNSUBACK = 8, 9, 10, 11
PINGREQ, PINGRESP, DISCONNECT = 12, 13, 14


def varint(n):
    out = bytearray()
    while True:
        byte = n % 128
        n //= 128
        if n:
            byte |= 0x80
        out.append(byte)
        if not n:
            return bytes(out)


def read_varint(data, pos):
    value, shift = 0, 0
    while True:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, pos


def mstr(s):
    b = s.encode() if isinstance(s, str) else s
    return struct.pack(">H", len(b)) + b


def packet(first_byte, body):
    return bytes([first_byte]) + varint(len(body)) + body


# MQTT 5 property identifiers and how their values are encoded.
_PROPERTY_TYPES = {
    0x01: "byte", 0x02: "u32", 0x03: "str", 0x08: "str", 0x09: "bin", 0x0B: "varint",
    0x11: "u32", 0x12: "str", 0x13: "u16", 0x15: "str", 0x16: "bin", 0x17: "byte",
    0x18: "u32", 0x19: "byte", 0x1A: "str", 0x1C: "str", 0x1F: "str", 0x21: "u16",
    0x22: "u16", 0x23: "u16", 0x24: "byte", 0x25: "byte", 0x26: "pair", 0x27: "u32",
    0x28: "byte", 0x29: "byte", 0x2A: "byte",
}


def encode_properties(props):
    """props: list of (identifier, value); returns the length-prefixed property block."""
    out = bytearray()
    for ident, value in props:
        kind = _PROPERTY_TYPES[ident]
        out += varint(ident)
        if kind == "byte":
            out.append(value)
        elif kind == "u16":
            out += struct.pack(">H", value)
        elif kind == "u32":
            out += struct.pack(">I", value)
        elif kind == "varint":
            out += varint(value)
        elif kind in ("str", "bin"):
            out += mstr(value)
        elif kind == "pair":
            out += mstr(value[0]) + mstr(value[1])
    return varint(len(out)) + bytes(out)


def decode_properties(data, pos):
    """Returns (list of (identifier, value), position after the block)."""
    length, pos = read_varint(data, pos)
    end = pos + length
    props = []
    while pos < end:
        ident, pos = read_varint(data, pos)
        kind = _PROPERTY_TYPES[ident]
        if kind == "byte":
            value = data[pos]
            pos += 1
        elif kind == "u16":
            value = struct.unpack_from(">H", data, pos)[0]
            pos += 2
        elif kind == "u32":
            value = struct.unpack_from(">I", data, pos)[0]
            pos += 4
        elif kind == "varint":
            value, pos = read_varint(data, pos)
        elif kind in ("str", "bin"):
            n = struct.unpack_from(">H", data, pos)[0]
            value = bytes(data[pos + 2:pos + 2 + n])
            if kind == "str":
                value = value.decode()
            pos += 2 + n
        else:
            n = struct.unpack_from(">H", data, pos)[0]
            k = bytes(data[pos + 2:pos + 2 + n]).decode()
            pos += 2 + n
            n = struct.unpack_from(">H", data, pos)[0]
            v = bytes(data[pos + 2:pos + 2 + n]).decode()
            pos += 2 + n
            value = (k, v)
        props.append((ident, value))
    assert pos == end, "property block length mismatch"
    return props, end


def connect_packet(client_id=b"raw", version=4, keepalive=60, clean=True, properties=None, will=None,
                   flags_extra=0, protocol_name=b"MQTT", fixed_flags=0):
    """will: dict(topic=, payload=, qos=0, retain=False, properties=[])."""
    if isinstance(client_id, str):
        client_id = client_id.encode()
    flags = (0x02 if clean else 0) | flags_extra
    payload = mstr(client_id)
    if will:
        flags |= 0x04 | (will.get("qos", 0) << 3) | (0x20 if will.get("retain") else 0)
        if version == 5:
            payload += encode_properties(will.get("properties", []))
        payload += mstr(will["topic"]) + mstr(will["payload"])
    var = mstr(protocol_name) + bytes([version, flags]) + struct.pack(">H", keepalive)
    if version == 5:
        var += encode_properties(properties or [])
    return packet(0x10 | fixed_flags, var + payload)


def publish_packet(topic, payload=b"", qos=0, packet_id=1, version=4, retain=False, properties=None, dup=False):
    first = 0x30 | (qos << 1) | (1 if retain else 0) | (0x08 if dup else 0)
    body = mstr(topic)
    if qos:
        body += struct.pack(">H", packet_id)
    if version == 5:
        body += encode_properties(properties or [])
    return packet(first, body + payload)


def subscribe_packet(packet_id, filters, version=4, fixed_flags=0x02):
    """filters: list of (filter, options byte)."""
    body = struct.pack(">H", packet_id)
    if version == 5:
        body += encode_properties([])
    for f, opts in filters:
        body += mstr(f) + bytes([opts])
    return packet(0x80 | fixed_flags, body)


def unsubscribe_packet(packet_id, filters, version=4):
    body = struct.pack(">H", packet_id)
    if version == 5:
        body += encode_properties([])
    for f in filters:
        body += mstr(f)
    return packet(0xA2, body)


def puback_packet(packet_id, version=4, reason=0):
    if version == 5 and reason:
        return packet(0x40, struct.pack(">HB", packet_id, reason))
    return packet(0x40, struct.pack(">H", packet_id))


def disconnect_packet(version=4, reason=0):
    if version == 5 and reason:
        return packet(0xE0, bytes([reason]))
    return packet(0xE0, b"")


PINGREQ_PACKET = b"\xc0\x00"


class Packet:
    def __init__(self, first, body):
        self.first = first
        self.type = first >> 4
        self.flags = first & 0x0F
        self.body = body

    def __repr__(self):
        return f"Packet(type={self.type}, flags={self.flags:#x}, body={self.body[:40]!r})"


class Publish:
    def __init__(self, pkt, version):
        body = pkt.body
        self.qos = (pkt.flags >> 1) & 3
        self.retain = bool(pkt.flags & 1)
        self.dup = bool(pkt.flags & 8)
        n = struct.unpack_from(">H", body, 0)[0]
        self.topic = bytes(body[2:2 + n]).decode()
        pos = 2 + n
        self.packet_id = None
        if self.qos:
            self.packet_id = struct.unpack_from(">H", body, pos)[0]
            pos += 2
        self.properties = []
        if version == 5:
            self.properties, pos = decode_properties(body, pos)
        self.payload = bytes(body[pos:])

    def prop(self, ident):
        values = [v for i, v in self.properties if i == ident]
        return values[0] if values else None


class RawMqtt:
    """An MQTT client on a raw socket: every byte sent and received is the test's to choose."""

    def __init__(self, port, version=4, timeout=WAIT, prefix=b""):
        self.version = version
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""
        self.connack = None
        if prefix:
            self.sock.sendall(prefix)

    def send(self, data):
        self.sock.sendall(data)

    def connect(self, client_id=b"raw", keepalive=60, clean=True, properties=None, will=None, expect=0):
        """Sends CONNECT; returns the CONNACK reason code (asserting it equals `expect`)."""
        self.send(connect_packet(client_id, self.version, keepalive, clean, properties, will))
        pkt = self.read_packet()
        assert pkt is not None, "closed instead of CONNACK"
        assert pkt.type == CONNACK, pkt
        self.connack = pkt
        rc = pkt.body[1]
        self.connack_properties = []
        if self.version == 5 and len(pkt.body) > 2:
            self.connack_properties, _ = decode_properties(pkt.body, 2)
        if expect is not None:
            assert rc == expect, f"CONNACK reason {rc:#x}, expected {expect:#x}"
        return rc

    def connack_prop(self, ident):
        values = [v for i, v in self.connack_properties if i == ident]
        return values[0] if values else None

    def _read_exact_or_none(self, n, deadline):
        while len(self.buf) < n:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise socket.timeout("no complete packet in time")
            self.sock.settimeout(remaining)
            try:
                chunk = self.sock.recv(65536)
            except ConnectionResetError:
                chunk = b""
            if not chunk:
                return False
            self.buf += chunk
        return True

    def read_packet(self, timeout=WAIT):
        """The next packet, or None when the server closed the connection. Raises
        socket.timeout when nothing complete arrives within `timeout`."""
        deadline = time.monotonic() + timeout
        if not self._read_exact_or_none(2, deadline):
            return None
        # Remaining length: up to 4 bytes.
        i = 1
        while True:
            if not self._read_exact_or_none(i + 1, deadline):
                return None
            if not self.buf[i] & 0x80 or i == 4:
                break
            i += 1
        length, pos = read_varint(self.buf, 1)
        if not self._read_exact_or_none(pos + length, deadline):
            return None
        pkt = Packet(self.buf[0], self.buf[pos:pos + length])
        self.buf = self.buf[pos + length:]
        return pkt

    def expect(self, packet_type, timeout=WAIT):
        pkt = self.read_packet(timeout)
        assert pkt is not None, f"closed while waiting for packet type {packet_type}"
        assert pkt.type == packet_type, f"expected packet type {packet_type}, got {pkt}"
        return pkt

    def expect_publish(self, timeout=WAIT):
        return Publish(self.expect(PUBLISH, timeout), self.version)

    def read_packet_or_none(self, wait):
        """The next packet if one arrives within `wait` seconds, else None."""
        try:
            pkt = self.read_packet(wait)
        except socket.timeout:
            return None
        assert pkt is not None, "connection closed unexpectedly"
        return pkt

    def no_packet(self, wait=0.5):
        """True when no packet arrives within `wait` seconds and the connection stays open."""
        try:
            pkt = self.read_packet(wait)
        except socket.timeout:
            return True
        raise AssertionError(f"unexpected {pkt}" if pkt else "connection closed unexpectedly")

    def expect_disconnect(self, reason, timeout=WAIT):
        """MQTT 5: a DISCONNECT with `reason`, then the close."""
        pkt = self.read_packet(timeout)
        assert pkt is not None, f"closed without DISCONNECT {reason:#x}"
        assert pkt.type == DISCONNECT, f"expected DISCONNECT {reason:#x}, got {pkt}"
        got = pkt.body[0] if pkt.body else 0
        assert got == reason, f"DISCONNECT reason {got:#x}, expected {reason:#x}"
        assert self.closed(timeout), "not closed after DISCONNECT"

    def closed(self, timeout=WAIT):
        """True when the server closes the connection within `timeout` without sending any
        further packet (a packet before the close fails the assertion)."""
        try:
            pkt = self.read_packet(timeout)
        except socket.timeout:
            return False
        assert pkt is None, f"expected the connection to close, got {pkt}"
        return True

    def subscribe(self, filters, packet_id=1):
        """filters: list of (filter, options); returns the SUBACK reason codes."""
        self.send(subscribe_packet(packet_id, filters, self.version))
        pkt = self.expect(SUBACK)
        assert struct.unpack_from(">H", pkt.body, 0)[0] == packet_id
        pos = 2
        if self.version == 5:
            _, pos = decode_properties(pkt.body, pos)
        return list(pkt.body[pos:])

    def unsubscribe(self, filters, packet_id=1):
        self.send(unsubscribe_packet(packet_id, filters, self.version))
        pkt = self.expect(UNSUBACK)
        assert struct.unpack_from(">H", pkt.body, 0)[0] == packet_id
        pos = 2
        if self.version == 5:
            _, pos = decode_properties(pkt.body, pos)
        return list(pkt.body[pos:])

    def publish(self, topic, payload=b"", qos=0, packet_id=1, retain=False, properties=None):
        """Publishes; for QoS 1 returns the PUBACK reason code (0 for 3.1.1)."""
        self.send(publish_packet(topic, payload, qos, packet_id, self.version, retain, properties))
        if qos == 1:
            pkt = self.expect(PUBACK)
            assert struct.unpack_from(">H", pkt.body, 0)[0] == packet_id
            return pkt.body[2] if len(pkt.body) > 2 else 0
        return None

    def puback(self, packet_id, reason=0):
        self.send(puback_packet(packet_id, self.version, reason))

    def disconnect(self, reason=0):
        self.send(disconnect_packet(self.version, reason))
        self.sock.close()

    def close(self):
        self.sock.close()


def raw_mqtt_connect(port, client_id=b"raw", version=4, keepalive=60):
    """A raw socket that has sent CONNECT and read CONNACK; for malformed-packet tests."""
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(connect_packet(client_id, version, keepalive))
    connack = s.recv(64)
    assert connack[0] == 0x20, connack
    return s


def raw_device(port, client_id=None, version=5, **kwargs):
    """A connected RawMqtt with a fresh client ID (as .client_id)."""
    client_id = client_id or "raw-" + uuid.uuid4().hex[:10]
    dev = RawMqtt(port, version=version)
    dev.connect(client_id.encode(), **kwargs)
    dev.client_id = client_id
    return dev


def assert_serving(server):
    """The server still works end to end: a fresh device gets a confirmed direct message."""
    dev = raw_device(server.mqtt_port, version=5)
    try:
        payload = uuid.uuid4().hex.encode()
        pending = DirectInBackground(server.http_port, dev.client_id, topic="health/check", body=payload,
                                     confirm=True, timeout=10)
        pub = dev.expect_publish()
        assert (pub.topic, pub.payload, pub.qos) == ("health/check", payload, 1)
        dev.puback(pub.packet_id)
        status, body = pending.get()
        assert status == 200, body
    finally:
        dev.close()


def wait_until(predicate, timeout=WAIT, interval=0.02):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False


# ---------------------------------------------------------------------------------------------
# Security: credentials, the admin and Ditto resource API, IAM-style documents, MQTT logins

ADMIN_PASSWORD = "admin-Secret-1"


def basic_auth(name, password):
    """The HTTP Basic Authorization header for (name, password)."""
    token = base64.b64encode(f"{name}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def api_request(port, method, path, body=None, auth=None, raw=None, timeout=30):
    """A request to the admin/Ditto resource API. `body` is sent as JSON unless `raw` bytes are
    given; `auth` is (name, password) or None. Returns (status, lower-case headers, parsed JSON
    body or None)."""
    headers = basic_auth(*auth) if auth else {}
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else b"")
    if data:
        headers["Content-Type"] = "application/json"
    status, hdrs, payload = http_request(port, method, path, data, headers, timeout=timeout)
    return status, {k.lower(): v for k, v in hdrs.items()}, (json.loads(payload) if payload else None)


class Api:
    """The resource API as one principal (default: admin). Writes assert a 2xx status."""

    def __init__(self, port, name="admin", password=ADMIN_PASSWORD):
        self.port = port
        self.auth = (name, password)

    def call(self, method, path, body=None, raw=None):
        return api_request(self.port, method, path, body, self.auth, raw)

    def put(self, path, body=None, raw=None):
        """PUT that must succeed (201 created or 204 updated); returns the status."""
        status, _, answer = self.call("PUT", path, body, raw)
        assert status in (201, 204), f"PUT {path}: {status} {answer}"
        return status

    def get(self, path):
        status, _, answer = self.call("GET", path)
        return status, answer

    def delete(self, path):
        status, _, answer = self.call("DELETE", path)
        return status, answer

    def iot_policy(self, name, document):
        return self.put(f"/admin/iot-policies/{quote(name, safe='')}", document)

    def principal(self, name, password=None, policies=(), subjects=()):
        body = {"iotPolicies": list(policies), "subjects": list(subjects)}
        if password is not None:
            body["password"] = password
        return self.put(f"/admin/principals/{quote(name, safe='')}", body)

    def ditto_policy(self, policy_id, document):
        return self.put(f"/api/2/policies/{quote(policy_id, safe='')}", document)

    def thing(self, thing_id, document):
        return self.put(f"/api/2/things/{quote(thing_id, safe='')}", document)


def iam_policy(*statements):
    """An IAM-style policy document (SPEC 4.2) from statements."""
    return {"Version": "2012-10-17", "Statement": list(statements)}


def iam_statement(effect, actions, resources, condition=None):
    statement = {"Effect": effect, "Action": actions, "Resource": resources}
    if condition is not None:
        statement["Condition"] = condition
    return statement


def iam_allow(actions, resources, condition=None):
    return iam_statement("Allow", actions, resources, condition)


def iam_deny(actions, resources, condition=None):
    return iam_statement("Deny", actions, resources, condition)


def ditto_policy_document(subjects, resources):
    """A one-entry Ditto policy: subjects (list of subject IDs), resources {key: (grant, revoke)}."""
    return {"entries": {"owner": {
        "subjects": {s: {"type": "test"} for s in subjects},
        "resources": {k: {"grant": list(g), "revoke": list(r)} for k, (g, r) in resources.items()}}}}


def connect_packet_with_credentials(client_id, version=4, username=None, password=None, keepalive=60, clean=True,
                                    properties=None):
    """CONNECT with the User Name / Password flags and fields (either may be None = absent)."""
    if isinstance(client_id, str):
        client_id = client_id.encode()
    flags = 0x02 if clean else 0
    payload = mstr(client_id)
    if username is not None:
        flags |= 0x80
        payload += mstr(username)
    if password is not None:
        flags |= 0x40
        payload += mstr(password)
    var = mstr(b"MQTT") + bytes([version, flags]) + struct.pack(">H", keepalive)
    if version == 5:
        var += encode_properties(properties or [])
    return packet(0x10, var + payload)


def raw_login(port, username=None, password=None, version=5, client_id=None):
    """A RawMqtt that sent CONNECT with credentials. Returns (client, CONNACK reason code), or
    (client, None) when the server closed without a CONNACK. The client ID is in .client_id."""
    client_id = client_id or "raw-" + uuid.uuid4().hex[:10]
    dev = RawMqtt(port, version=version)
    dev.client_id = client_id
    dev.send(connect_packet_with_credentials(client_id, version, username, password))
    pkt = dev.read_packet()
    if pkt is None:
        return dev, None
    assert pkt.type == CONNACK, pkt
    dev.connack = pkt
    return dev, pkt.body[1]


def _code(value):
    """paho reports MQTT 5 codes as ReasonCodes objects and 3.1.1 codes as ints."""
    return value if isinstance(value, int) else value.value


class PahoLogin:
    """A paho-mqtt client that logs in with a user name and password. Records the CONNACK
    code (.connack_rc, an int), SUBACK codes and every message. A refused client is closed
    at once (paho would otherwise keep retrying)."""

    def __init__(self, port, username, password, client_id=None, version=5):
        self.client_id = client_id or "paho-" + uuid.uuid4().hex[:10]
        protocol = mqtt.MQTTv5 if version == 5 else mqtt.MQTTv311
        self.client = mqtt.Client(client_id=self.client_id, protocol=protocol)
        if username is not None:
            self.client.username_pw_set(username, password)
        self.messages = queue.Queue()
        self.connack = queue.Queue()
        self.subacks = queue.Queue()
        self.client.on_message = lambda c, u, m: self.messages.put(m)
        self.client.on_subscribe = lambda c, u, mid, granted, *rest: self.subacks.put((mid, [_code(g) for g in granted]))
        if version == 5:
            self.client.on_connect = lambda c, u, f, rc, props=None: self.connack.put(_code(rc))
        else:
            self.client.on_connect = lambda c, u, f, rc: self.connack.put(rc)
        self.client.connect("127.0.0.1", port, keepalive=60)
        self.client.loop_start()
        self.connack_rc = self.connack.get(timeout=WAIT)
        if self.connack_rc != 0:
            self.close()

    def subscribe(self, topic, qos=1):
        """Returns the SUBACK codes (ints) for one filter."""
        rc, mid = self.client.subscribe(topic, qos)
        assert rc == 0
        got_mid, codes = self.subacks.get(timeout=WAIT)
        assert got_mid == mid
        return codes

    def next_message(self, timeout=WAIT):
        return self.messages.get(timeout=timeout)

    def close(self):
        self.client.disconnect()
        self.client.loop_stop()


def metrics_as(port, auth):
    """Like metrics(), authenticated as auth=(name, password) (for servers without anonymous)."""
    status, headers, body = http_request(port, "GET", "/metrics", headers=basic_auth(*auth))
    assert status == 200, body
    out = {}
    for line in body.decode().splitlines():
        if not line or line.startswith("#"):
            continue
        name_labels, value = line.rsplit(" ", 1)
        name, _, labels = name_labels.partition("{")
        pairs = dict(item.split("=", 1) for item in labels.rstrip("}").split(",")) if labels else {}
        out[(name, frozenset((k, v.strip('"')) for k, v in pairs.items()))] = float(value)
    return out


def refused(port):
    """True when nothing accepts TCP connections on 127.0.0.1:`port`."""
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=1)
    except OSError:
        return True
    s.close()
    return False
