"""The durable store (SPEC 7, 8; issue 3): principals, IoT policies, Ditto policies and Things
survive a SIGTERM restart and behave as before; a burst of acknowledged writes survives a
SIGKILL right after the last acknowledgement; --admin-password resets only the admin."""
import concurrent.futures
import uuid
from urllib.parse import quote

from helpers import (ADMIN_PASSWORD, Api, basic_auth, direct_full, ditto_policy_document, iam_allow, iam_deny,
                     iam_policy, raw_login)

SECURE = ("--admin-password", ADMIN_PASSWORD, "--anonymous", "off")
RW = (["READ", "WRITE"], [])


def policy_path(policy_id):
    return f"/api/2/policies/{quote(policy_id, safe='')}"


def thing_path(thing_id):
    return f"/api/2/things/{quote(thing_id, safe='')}"


DEVICE_POLICY = iam_policy(
    iam_allow("iot:Connect", "client/${iot:Connection.Thing.ThingName}"),
    iam_allow("iot:Receive", "topic/cmd/*"),
    iam_deny("iot:Receive", "topic/cmd/secret"))
SENDER_POLICY = iam_policy(iam_allow("iot:SendDirectMessage", "client/*", {"StringLike": {"iot:Topic": "cmd/*"}}))


def populate(admin):
    """Writes one of everything (plus an update and a delete of each kind); returns the GET
    answers the server must keep, and the paths that must stay gone."""
    admin.iot_policy("device", iam_policy(iam_allow("iot:*", "*")))
    admin.iot_policy("device", DEVICE_POLICY)  # updated: the second version must survive
    admin.iot_policy("sender", SENDER_POLICY)
    admin.iot_policy("doomed", SENDER_POLICY)
    assert admin.delete("/admin/iot-policies/doomed")[0] == 204
    admin.principal("device-1", "device-pw", policies=["sender"])
    admin.principal("device-1", "device-pw", policies=["device"], subjects=["group:devices"])
    admin.principal("sender-1", "sender-pw", policies=["sender"])
    admin.principal("doomed-1", "doomed-pw")
    assert admin.delete("/admin/principals/doomed-1")[0] == 204
    admin.ditto_policy("org.acme:lamp-policy", {"entries": {
        "owner": {"subjects": {"basic:sender-1": {"type": "p"}},
                  "resources": {"policy:/": {"grant": ["READ", "WRITE"], "revoke": []},
                                "thing:/": {"grant": ["READ", "WRITE"], "revoke": []}}},
        "devices": {"subjects": {"group:devices": {"type": "group"}},
                    "resources": {"thing:/": {"grant": ["READ"], "revoke": []}}}}})
    admin.ditto_policy("org.acme:doomed-policy", ditto_policy_document(["basic:admin"], {"policy:/": RW}))
    assert admin.delete(policy_path("org.acme:doomed-policy"))[0] == 204
    admin.thing("org.acme:lamp-1", {"policyId": "org.acme:lamp-policy", "attributes": {"v": 1}})
    admin.thing("org.acme:lamp-1", {"attributes": {"room": "hall", "v": 2},
                                    "features": {"light": {"properties": {"on": True}}}, "definition": "a:b:1"})
    admin.thing("org.acme:doomed-thing", {"policyId": "org.acme:lamp-policy"})
    assert admin.delete(thing_path("org.acme:doomed-thing"))[0] == 204

    kept = {path: admin.get(path) for path in (
        "/admin/iot-policies/device", "/admin/iot-policies/sender",
        "/admin/principals/device-1", "/admin/principals/sender-1", "/admin/principals/admin",
        policy_path("org.acme:lamp-policy"), thing_path("org.acme:lamp-1"))}
    for path, (status, _) in kept.items():
        assert status == 200, path
    assert kept["/admin/iot-policies/device"][1] == DEVICE_POLICY
    assert kept[thing_path("org.acme:lamp-1")][1]["attributes"] == {"room": "hall", "v": 2}
    gone = ["/admin/iot-policies/doomed", "/admin/principals/doomed-1", policy_path("org.acme:doomed-policy"),
            thing_path("org.acme:doomed-thing")]
    return kept, gone


def assert_state(server, admin, kept, gone):
    for path, answer in kept.items():
        assert admin.get(path) == answer, path
    for path in gone:
        assert admin.get(path)[0] == 404, path
    # Passwords, subjects and IAM documents work as before, not just read back.
    dev, rc = raw_login(server.mqtt_port, "device-1", "device-pw", version=5, client_id="org.acme:lamp-1")
    assert rc == 0  # ThingName variable: the Thing survived too
    status, _, body = direct_full(server.http_port, "org.acme:lamp-1", topic="cmd/on", body=b"on",
                                  headers=basic_auth("sender-1", "sender-pw"))
    assert status == 200, body
    assert dev.expect_publish().payload == b"on"
    status, _, body = direct_full(server.http_port, "org.acme:lamp-1", topic="cmd/secret",
                                  headers=basic_auth("sender-1", "sender-pw"))
    assert status == 403 and body["reason"] == "RECEIVER_NOT_AUTHORIZED", body
    status, _, body = direct_full(server.http_port, "org.acme:lamp-1", topic="tele/x",
                                  headers=basic_auth("sender-1", "sender-pw"))
    assert status == 403 and body["reason"] == "SENDER_NOT_AUTHORIZED", body
    dev.disconnect()
    # Ditto: device-1 reads the Thing through its extra subject, sender-1 through basic:.
    assert Api(server.http_port, "device-1", "device-pw").get(thing_path("org.acme:lamp-1")) == \
        kept[thing_path("org.acme:lamp-1")]
    assert Api(server.http_port, "sender-1", "sender-pw").get(policy_path("org.acme:lamp-policy")) == \
        kept[policy_path("org.acme:lamp-policy")]
    # The deleted principal stays unable to log in.
    status, _, _ = direct_full(server.http_port, "x", headers=basic_auth("doomed-1", "doomed-pw"))
    assert status == 401


def test_everything_survives_a_sigterm_restart(make_server_on_data):
    first = make_server_on_data(*SECURE)
    kept, gone = populate(Api(first.http_port))
    first.terminate()
    assert first.wait() == 0

    # No --admin-password this time: the stored admin keeps its password.
    second = make_server_on_data("--anonymous", "off", data=first.data)
    assert_state(second, Api(second.http_port), kept, gone)
    second.terminate()
    assert second.wait() == 0

    # --admin-password resets the admin's password and nothing else.
    third = make_server_on_data("--admin-password", "a-new-admin-pw", "--anonymous", "off", data=first.data)
    status, _, _ = direct_full(third.http_port, "x", headers=basic_auth("admin", ADMIN_PASSWORD))
    assert status == 401
    assert_state(third, Api(third.http_port, "admin", "a-new-admin-pw"), kept, gone)


def test_acknowledged_writes_survive_sigkill(make_server_on_data):
    first = make_server_on_data(*SECURE)
    admin = Api(first.http_port)
    tag = uuid.uuid4().hex[:6]
    iot = {f"burst-{tag}-{i}": iam_policy(iam_allow("iot:Receive", f"topic/burst/{i}/*")) for i in range(8)}
    ditto = {f"org.burst:policy-{tag}-{i}": ditto_policy_document([f"basic:user-{tag}-{i}"], {"policy:/": RW,
                                                                                           "thing:/": RW})
             for i in range(8)}
    principals = {f"user-{tag}-{i}": (f"pw-{i}", [f"burst-{tag}-{i}"]) for i in range(8)}
    things = {f"org.burst:thing-{tag}-{i}": {"policyId": f"org.burst:policy-{tag}-{i % 8}",
                                             "attributes": {"i": i, "tag": tag}} for i in range(20)}
    writes = []

    def put(path, body):
        admin.put(path, body)
        writes.append(path)

    def delete(path):
        assert admin.delete(path)[0] == 204
        writes.append(path)

    # Each phase in parallel; a phase starts when the documents it refers to are acknowledged.
    updated = {thing_id: {"attributes": {"updated": True}} for thing_id in list(things)[:4]}
    deleted = list(things)[-2:]
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(lambda kv: put(f"/admin/iot-policies/{kv[0]}", kv[1]), iot.items()))
        list(pool.map(lambda kv: put(policy_path(kv[0]), kv[1]), ditto.items()))
        futures = [pool.submit(put, f"/admin/principals/{name}", {"password": pw, "iotPolicies": pols})
                   for name, (pw, pols) in principals.items()]
        futures += [pool.submit(put, thing_path(thing_id), doc) for thing_id, doc in things.items()]
        for f in futures:
            f.result()
        futures = [pool.submit(put, thing_path(thing_id), doc) for thing_id, doc in updated.items()]
        futures += [pool.submit(delete, thing_path(thing_id)) for thing_id in deleted]
        for f in futures:
            f.result()
    assert len(writes) == 8 + 8 + 8 + 20 + 4 + 2 == 50
    # Right after the last acknowledgement: no drain, no checkpoint.
    first.killed = True
    first.proc.kill()
    first.proc.wait()

    second = make_server_on_data("--anonymous", "off", data=first.data)
    admin = Api(second.http_port)
    for name, document in iot.items():
        assert admin.get(f"/admin/iot-policies/{name}") == (200, document)
    for policy_id, document in ditto.items():
        status, stored = admin.get(policy_path(policy_id))
        assert status == 200 and stored["entries"] == document["entries"], policy_id
    for name, (password, policies) in principals.items():
        assert admin.get(f"/admin/principals/{name}") == (200, {"name": name, "subjects": [], "iotPolicies": policies})
    for thing_id, document in things.items():
        if thing_id in deleted:
            assert admin.get(thing_path(thing_id))[0] == 404, thing_id
            continue
        expected = {"thingId": thing_id, "policyId": document["policyId"],
                    "attributes": updated.get(thing_id, document)["attributes"]}
        assert admin.get(thing_path(thing_id)) == (200, expected)
    # Passwords were stored (hashed) with the principals.
    for name, (password, _) in list(principals.items())[-2:]:
        status, _, body = direct_full(second.http_port, "x", headers=basic_auth(name, password))
        assert status == 403 and body["reason"] == "SENDER_NOT_AUTHORIZED", body  # logged in; no send rights
