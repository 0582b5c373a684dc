"""Several shards (SPEC 7): devices live on the shard that owns their client ID, senders and
publishers arrive on any shard; direct messages and pub/sub cross shards correctly."""
import uuid

import pytest

from helpers import (DirectInBackground, Publish, RawHttp, direct_path, metric_by_shard, metric_sum, metrics,
                     raw_device, wait_until)

DEVICES = 32  # fixed IDs: which shard owns which ID is deterministic, so the test is too


def connect_devices(server, shards):
    devices = [raw_device(server.mqtt_port, client_id=f"shard-dev-{shards}-{i}", version=5 if i % 2 else 4)
               for i in range(DEVICES)]
    samples = metrics(server.http_port)
    sessions = metric_by_shard(samples, "switchboard_mqtt_sessions")
    assert sorted(sessions) == [str(i) for i in range(shards)], sessions
    assert all(v > 0 for v in sessions.values()), f"a shard owns no device: {sessions}"
    assert sum(sessions.values()) == DEVICES
    # Connections were accepted on whatever shard the kernel picked and moved to the owner.
    assert metric_sum(samples, "switchboard_connections_handed_off_total") > 0
    return devices


@pytest.mark.parametrize("shards", [2, 4])
def test_direct_messages_across_shards(make_server, shards):
    server = make_server(shards=shards)
    devices = connect_devices(server, shards)
    before = metrics(server.http_port)
    # One sender connection per message: the kernel spreads them over the shards.
    pending = []
    for round_ in range(2):
        for i, dev in enumerate(devices):
            confirm = (i + round_) % 2 == 0
            pending.append((dev, round_, confirm, DirectInBackground(
                server.http_port, dev.client_id, topic=f"x/{round_}", body=f"{dev.client_id}/{round_}".encode(),
                confirm=confirm, timeout=15)))
            if len(pending) % 16 == 0:
                _answer(pending[-16:])
    for dev, round_, confirm, request in pending:
        status, body = request.get()
        assert status == 200, (dev.client_id, body)
    after = metrics(server.http_port)
    senders = metric_by_shard(after, "switchboard_direct_messages_total", status="200")
    origin = {s: senders[s] - metric_by_shard(before, "switchboard_direct_messages_total", status="200").get(s, 0)
              for s in senders}
    assert sum(origin.values()) == 2 * DEVICES
    assert sum(1 for v in origin.values() if v > 0) >= 2, f"all senders landed on one shard: {origin}"
    assert metric_sum(after, "switchboard_mailbox_items_total") > metric_sum(before, "switchboard_mailbox_items_total")
    for dev in devices:
        dev.close()


def _answer(batch):
    """Each device in the batch reads its message, checks it and PUBACKs when it is QoS 1."""
    for dev, round_, confirm, _ in batch:
        pub = dev.expect_publish()
        assert (pub.topic, pub.payload, pub.qos) == (f"x/{round_}", f"{dev.client_id}/{round_}".encode(),
                                                     1 if confirm else 0)
        if confirm:
            dev.puback(pub.packet_id)


@pytest.mark.parametrize("shards", [2, 4])
def test_not_connected_and_takeover_across_shards(make_server, shards):
    server = make_server(shards=shards)
    # 404 for IDs owned by every shard.
    conn = RawHttp(server.http_port)
    for i in range(16):
        conn.send(f"POST {direct_path(f'absent-{i}', 't')} HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n".encode())
        assert conn.read_response()[0] == 404
    conn.close()
    # Take-overs, whichever shard accepts each connection.
    for i in range(8):
        client_id = f"twin-{shards}-{i}"
        old = raw_device(server.mqtt_port, client_id=client_id, version=5)
        new = raw_device(server.mqtt_port, client_id=client_id, version=5)
        old.expect_disconnect(0x8E)
        pending = DirectInBackground(server.http_port, client_id, body=b"new", confirm=True, timeout=15)
        pub = new.expect_publish()
        new.puback(pub.packet_id)
        assert pending.get()[0] == 200
        new.close()


@pytest.mark.parametrize("shards", [2, 4])
def test_pubsub_across_shards(make_server, shards):
    server = make_server(shards=shards)
    subscribers = [raw_device(server.mqtt_port, client_id=f"sub-{shards}-{i}", version=5 if i % 2 else 4)
                   for i in range(4 * shards)]
    for s in subscribers:
        assert s.subscribe([("fan/+/out", 1)]) == [1]
    publishers = [raw_device(server.mqtt_port, client_id=f"pub-{shards}-{i}", version=5) for i in range(2 * shards)]
    sessions = metric_by_shard(metrics(server.http_port), "switchboard_mqtt_sessions")
    assert all(v > 0 for v in sessions.values()), sessions
    # Interest travels between shards asynchronously: wait until every publisher's shard knows.
    for p in publishers:
        assert wait_until(lambda: p.publish("fan/probe/out", b"probe", qos=1, packet_id=99) == 0x00, timeout=10)
    for s in subscribers:  # drain the probes
        while True:
            try:
                pkt = s.read_packet(0.3)
            except TimeoutError:
                break
            pub = Publish(pkt, s.version)
            assert pub.topic == "fan/probe/out"
            s.puback(pub.packet_id)
    for i, p in enumerate(publishers):
        assert p.publish(f"fan/{i}/out", f"from-{i}".encode(), qos=1, packet_id=i + 1) == 0x00
    expected = sorted(f"from-{i}".encode() for i in range(len(publishers)))
    for s in subscribers:
        got = []
        for _ in publishers:
            pub = s.expect_publish()
            assert pub.qos == 1
            s.puback(pub.packet_id)
            got.append(pub.payload)
        assert sorted(got) == expected, s.client_id
        assert s.no_packet(0.05)
    # When the last subscriber anywhere leaves, every shard forgets the interest.
    for s in subscribers:
        assert s.unsubscribe(["fan/+/out"]) == ([0] if s.version == 5 else [])
    for p in publishers:
        assert wait_until(lambda: p.publish("fan/x/out", b"late", qos=1, packet_id=77) == 0x10, timeout=10)
    for d in subscribers + publishers:
        d.close()


def test_many_devices_share_one_topic_across_shards(make_server):
    server = make_server(shards=4)
    devices = [raw_device(server.mqtt_port, client_id=f"same-{uuid.uuid4().hex[:6]}-{i}", version=5) for i in range(12)]
    pending = [DirectInBackground(server.http_port, d.client_id, topic="same/topic", body=d.client_id.encode(),
                                  confirm=True, timeout=15) for d in devices]
    for d in devices:
        pub = d.expect_publish()
        assert pub.payload == d.client_id.encode()
        d.puback(pub.packet_id)
    assert [p.get()[0] for p in pending] == [200] * len(devices)
    for d in devices:
        d.close()
