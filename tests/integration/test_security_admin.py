"""The admin and Ditto resource API (SPEC 4.1, 8; engine/control_plane.h; issue 3): principals
and IoT policies (admin only), Ditto policies and Things with Ditto's permission rules and
error bodies; bad JSON and unknown fields answer 400 with a reason."""
import json
import uuid
from urllib.parse import quote

import pytest

from helpers import (ADMIN_PASSWORD, Api, basic_auth, direct_full, ditto_policy_document, iam_allow, iam_policy,
                     raw_login)

SECURE = ("--admin-password", ADMIN_PASSWORD, "--anonymous", "off")
RW = (["READ", "WRITE"], [])
R = (["READ"], [])


def uid(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def srv(make_module_server):
    """One server: admin, and principals alice, bob, carol (no IAM policies; Ditto rights come
    from the Ditto policies each test creates) and ops (extra subject group:ops)."""
    s = make_module_server(*SECURE)
    s.admin = Api(s.http_port)
    s.users = {}
    for name in ("alice", "bob", "carol", "ops"):
        password = f"{name}-pw"
        subjects = ["group:ops"] if name == "ops" else []
        assert s.admin.principal(name, password, subjects=subjects) == 201
        s.users[name] = Api(s.http_port, name, password)
    return s


def assert_error(answer, status, error, mentions=None):
    got_status, _, body = answer
    assert got_status == status, (got_status, body)
    assert body["status"] == status and body["error"] == error, body
    assert body["message"], body
    if mentions:
        assert mentions in body["message"], body


# ---------------------------------------------------------------------------------------------
# Principals

def test_principal_create_read_update_delete(srv):
    name = uid("dev")
    srv.admin.iot_policy("admin-test-pol", iam_policy(iam_allow("iot:*", "*")))
    status, _, body = srv.admin.call("PUT", f"/admin/principals/{name}",
                                     {"password": "pw-1", "subjects": ["group:a", f"basic:{name}"],
                                      "iotPolicies": ["admin-test-pol"]})
    assert status == 201
    # basic:<name> is implicit and never listed; secrets never leave the server.
    assert body == {"name": name, "subjects": ["group:a"], "iotPolicies": ["admin-test-pol"]}
    status, got = srv.admin.get(f"/admin/principals/{name}")
    assert status == 200 and got == body
    assert "pw-1" not in json.dumps(got) and "argon2" not in json.dumps(got)
    # Update: 204, replaces subjects and policies; absent password keeps the old one.
    status, _, body = srv.admin.call("PUT", f"/admin/principals/{name}", {"subjects": [], "name": name})
    assert status == 204 and body is None
    assert srv.admin.get(f"/admin/principals/{name}") == (200, {"name": name, "subjects": [], "iotPolicies": []})
    assert direct_full(srv.http_port, "x", headers=basic_auth(name, "pw-1"))[0] == 403  # logs in, may not send
    assert srv.admin.delete(f"/admin/principals/{name}")[0] == 204
    assert_error(srv.admin.call("GET", f"/admin/principals/{name}"), 404, "admin:principal.notfound")
    assert_error(srv.admin.call("DELETE", f"/admin/principals/{name}"), 404, "admin:principal.notfound")


@pytest.mark.parametrize("raw,mentions", [
    (b"", None),
    (b"{", None),
    (b"not json", None),
    (b'{"password": "a", "password": "b"}', "password"),
])
def test_principal_bad_json_is_400(srv, raw, mentions):
    assert_error(srv.admin.call("PUT", f"/admin/principals/{uid('bad')}", raw=raw), 400, "json.invalid", mentions)


@pytest.mark.parametrize("body,mentions", [
    ({"password": "pw", "groups": ["x"]}, "groups"),
    ({"password": "pw", "Password": "pw"}, "Password"),
    ([1, 2], "object"),
    ({"password": 5}, "password"),
    ({"password": ""}, "password"),
    ({"password": "pw", "subjects": "group:a"}, "subjects"),
    ({"password": "pw", "subjects": [1]}, "subjects[0]"),
    ({"password": "pw", "iotPolicies": {"a": 1}}, "iotPolicies"),
    ({"password": "pw", "name": "someone-else"}, "name"),
    ({"subjects": []}, "password is required"),
])
def test_principal_invalid_body_is_400_with_reason(srv, body, mentions):
    assert_error(srv.admin.call("PUT", f"/admin/principals/{uid('bad')}", body), 400, "admin:principal.invalid",
                 mentions)


def test_principal_attaching_missing_policy_is_400(srv):
    name = uid("orphan")
    assert_error(srv.admin.call("PUT", f"/admin/principals/{name}", {"password": "pw", "iotPolicies": ["nope-404"]}),
                 400, "admin:iot-policy.notfound", "nope-404")
    assert srv.admin.get(f"/admin/principals/{name}")[0] == 404  # nothing was created


@pytest.mark.parametrize("raw_name", ["a%3Ab", "a%2Fb", "%01x", "x" * 129, "%ZZ"])
def test_principal_invalid_name_is_400(srv, raw_name):
    assert_error(srv.admin.call("PUT", f"/admin/principals/{raw_name}", {"password": "pw"}), 400,
                 "admin:principal.name.invalid")


def test_admin_cannot_be_deleted(srv):
    assert_error(srv.admin.call("DELETE", "/admin/principals/admin"), 403, "admin:principal.notdeletable")
    assert srv.admin.get("/admin/principals/admin")[0] == 200


def test_admin_api_answers_405_to_other_methods(srv):
    assert_error(srv.admin.call("POST", "/admin/principals/alice", {}), 405, "method.notallowed")


# ---------------------------------------------------------------------------------------------
# IoT policies

def test_iot_policy_create_read_update_delete(srv):
    name = uid("pol")
    document = iam_policy(iam_allow("iot:Connect", "client/${iot:ClientId}"))
    status, _, body = srv.admin.call("PUT", f"/admin/iot-policies/{name}", document)
    assert status == 201 and body == document
    assert srv.admin.get(f"/admin/iot-policies/{name}") == (200, document)
    updated = iam_policy(iam_allow("iot:*", "*"))
    assert srv.admin.call("PUT", f"/admin/iot-policies/{name}", updated)[0] == 204
    assert srv.admin.get(f"/admin/iot-policies/{name}") == (200, updated)
    # Attached: refusing to delete (AWS IoT's DeleteConflictException), naming the principal.
    holder = uid("holder")
    srv.admin.principal(holder, "pw", policies=[name])
    assert_error(srv.admin.call("DELETE", f"/admin/iot-policies/{name}"), 409, "admin:iot-policy.attached", holder)
    srv.admin.principal(holder, policies=[])
    assert srv.admin.delete(f"/admin/iot-policies/{name}")[0] == 204
    assert_error(srv.admin.call("GET", f"/admin/iot-policies/{name}"), 404, "admin:iot-policy.notfound")


@pytest.mark.parametrize("raw,mentions", [
    (b"{", None),
    (b"", None),
    (b'{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iot:*", "Resource": "*", "Foo": 1}]}',
     "Foo"),
    (b'{"Version": "2012-10-17", "Statement": [], "Extra": true}', "Extra"),
    (b'{"Version": "2008-10-17", "Statement": [{"Effect": "Allow", "Action": "iot:*", "Resource": "*"}]}',
     "Version"),
    (b'{"Statement": [{"Effect": "Maybe", "Action": "iot:*", "Resource": "*"}]}', "Effect"),
    (b'{"Statement": [{"Effect": "Allow", "Action": "iot:*"}]}', "Resource"),
    (b'{"Statement": [{"Effect": "Allow", "Action": "iot:*", "Resource": "*",'
     b' "Condition": {"NumericEquals": {"iot:Topic": "a"}}}]}', "NumericEquals"),
    (b'[]', None),
])
def test_iot_policy_invalid_document_is_400(srv, raw, mentions):
    name = uid("badpol")
    assert_error(srv.admin.call("PUT", f"/admin/iot-policies/{name}", raw=raw), 400, "iot:policy.invalid", mentions)
    assert srv.admin.get(f"/admin/iot-policies/{name}")[0] == 404


@pytest.mark.parametrize("raw_name", ["has%20space", "slash%2Fname", "x" * 129, "t%C3%A9"])
def test_iot_policy_invalid_name_is_400(srv, raw_name):
    assert_error(srv.admin.call("PUT", f"/admin/iot-policies/{raw_name}", iam_policy(iam_allow("iot:*", "*"))), 400,
                 "admin:iot-policy.name.invalid")


# ---------------------------------------------------------------------------------------------
# Only admin may use /admin/*

@pytest.mark.parametrize("method,path", [
    ("GET", "/admin/principals/alice"),      # even its own principal
    ("PUT", "/admin/principals/alice"),
    ("DELETE", "/admin/principals/bob"),
    ("GET", "/admin/iot-policies/admin-test-pol"),
    ("PUT", "/admin/iot-policies/mine"),
    ("DELETE", "/admin/iot-policies/mine"),
])
def test_non_admin_gets_403_on_admin_routes(srv, method, path):
    body = {"password": "takeover"} if "principals" in path else iam_policy(iam_allow("iot:*", "*"))
    answer = srv.users["alice"].call(method, path, body if method == "PUT" else None)
    assert_error(answer, 403, "admin:forbidden")
    # Nothing changed: bob and alice still log in with their own passwords.
    assert srv.users["bob"].get("/api/2/things/org.acme:none")[0] == 404
    assert srv.users["alice"].get("/api/2/things/org.acme:none")[0] == 404


# ---------------------------------------------------------------------------------------------
# Ditto policies

def policy_path(policy_id):
    return f"/api/2/policies/{quote(policy_id, safe='')}"


def thing_path(thing_id):
    return f"/api/2/things/{quote(thing_id, safe='')}"


@pytest.mark.parametrize("raw,error,mentions", [
    (b"{", "json.invalid", None),
    (b"", "json.invalid", None),
    (b'{"entries": {}, "bogus": 1}', "policies:policy.invalid", "bogus"),
    (b'{"entries": {"e": {"subjects": {"basic:alice": {"type": "x"}}, "resources": '
     b'{"thing:/": {"grant": ["READ"], "revoke": [], "deny": []}}}}}', "policies:policy.invalid", "deny"),
    (b'{"entries": {"e": {"subjects": {}, "resources": {"thing:/": {"grant": ["FLY"], "revoke": []}}}}}',
     "policies:policy.invalid", "FLY"),
    (b'{"entries": {"e": {"subjects": {}, "resources": {"nope:/": {"grant": ["READ"], "revoke": []}}}}}',
     "policies:policy.invalid", None),
])
def test_ditto_policy_bad_json_and_unknown_fields_are_400(srv, raw, error, mentions):
    policy_id = f"org.acme:{uid('bad')}"
    assert_error(srv.admin.call("PUT", policy_path(policy_id), raw=raw), 400, error, mentions)
    assert srv.admin.get(policy_path(policy_id))[0] == 404


def test_ditto_policy_id_rules(srv):
    document = ditto_policy_document(["basic:alice"], {"policy:/": RW})
    assert_error(srv.admin.call("PUT", policy_path("org.acme:one"), dict(document, policyId="org.acme:other")), 400,
                 "policies:id.notsettable")
    assert_error(srv.admin.call("PUT", policy_path("no namespace separator"), document), 400, "policies:id.invalid")
    assert_error(srv.admin.call("PUT", policy_path("1bad.ns:x"), document), 400, "policies:id.invalid")


def test_ditto_policy_create_rules(srv):
    alice = srv.users["alice"]
    # A non-admin may create a policy only if it grants the creator WRITE on policy:/.
    own = f"org.acme:{uid('own')}"
    status, _, body = alice.call("PUT", policy_path(own), ditto_policy_document(["basic:alice"], {"policy:/": RW}))
    assert status == 201
    assert body["policyId"] == own and list(body)[0] == "policyId"
    foreign = f"org.acme:{uid('foreign')}"
    assert_error(alice.call("PUT", policy_path(foreign), ditto_policy_document(["basic:bob"], {"policy:/": RW})), 403,
                 "policies:policy.notcreatable")
    read_only = f"org.acme:{uid('ro')}"
    assert_error(alice.call("PUT", policy_path(read_only), ditto_policy_document(["basic:alice"], {"policy:/": R})),
                 403, "policies:policy.notcreatable")
    assert srv.admin.get(policy_path(foreign))[0] == 404
    # Extra subjects count: ops logs in with subject group:ops.
    group = f"org.acme:{uid('group')}"
    assert srv.users["ops"].call("PUT", policy_path(group),
                                 ditto_policy_document(["group:ops"], {"policy:/": RW}))[0] == 201
    # Admin may create anything.
    assert srv.admin.call("PUT", policy_path(f"org.acme:{uid('adm')}"),
                          ditto_policy_document(["basic:nobody"], {"thing:/": R}))[0] == 201


def test_ditto_policy_visibility_update_and_delete(srv):
    policy_id = f"org.acme:{uid('shared')}"
    document = {"entries": {
        "owner": {"subjects": {"basic:alice": {"type": "p"}},
                  "resources": {"policy:/": {"grant": ["READ", "WRITE"], "revoke": []}}},
        "reader": {"subjects": {"basic:bob": {"type": "p"}},
                   "resources": {"policy:/": {"grant": ["READ"], "revoke": []}}},
        "partial": {"subjects": {"basic:carol": {"type": "p"}},
                    "resources": {"policy:/entries/partial": {"grant": ["READ"], "revoke": []}}}}}
    assert srv.users["alice"].call("PUT", policy_path(policy_id), document)[0] == 201
    alice, bob, carol, ops = (srv.users[n] for n in ("alice", "bob", "carol", "ops"))
    stored = alice.get(policy_path(policy_id))
    assert stored[0] == 200 and stored[1]["entries"] == document["entries"]
    assert bob.get(policy_path(policy_id)) == stored  # unrestricted READ: the whole document
    # Partial READ is not enough to GET (never filtered); no READ at all: not found either.
    assert_error(carol.call("GET", policy_path(policy_id)), 404, "policies:policy.notfound")
    assert_error(ops.call("GET", policy_path(policy_id)), 404, "policies:policy.notfound")
    # Update: a reader may see it but not change it; an outsider does not even see it.
    assert_error(bob.call("PUT", policy_path(policy_id), document), 403, "policies:policy.notmodifiable")
    assert_error(carol.call("PUT", policy_path(policy_id), document), 403, "policies:policy.notmodifiable")
    assert_error(ops.call("PUT", policy_path(policy_id), document), 404, "policies:policy.notfound")
    # The owner may not leave the policy without anyone holding WRITE on policy:/.
    orphaned = {"entries": {"owner": {"subjects": {"basic:alice": {"type": "p"}},
                                      "resources": {"policy:/": {"grant": ["READ"], "revoke": []}}}}}
    assert_error(alice.call("PUT", policy_path(policy_id), orphaned), 403, "policies:policy.modificationinvalid")
    # A valid update by the owner: 204; handing WRITE to bob.
    handed = {"entries": {"owner": {"subjects": {"basic:bob": {"type": "p"}},
                                    "resources": {"policy:/": {"grant": ["READ", "WRITE"], "revoke": []}}}}}
    status, _, body = alice.call("PUT", policy_path(policy_id), handed)
    assert status == 204 and body is None
    assert_error(alice.call("GET", policy_path(policy_id)), 404, "policies:policy.notfound")
    # Delete: outsiders 404, the writer 204, then gone for everyone.
    assert_error(alice.call("DELETE", policy_path(policy_id)), 404, "policies:policy.notfound")
    assert bob.delete(policy_path(policy_id))[0] == 204
    assert_error(srv.admin.call("GET", policy_path(policy_id)), 404, "policies:policy.notfound")


def test_ditto_policy_delete_needs_write(srv):
    policy_id = f"org.acme:{uid('del')}"
    document = {"entries": {
        "owner": {"subjects": {"basic:alice": {"type": "p"}},
                  "resources": {"policy:/": {"grant": ["READ", "WRITE"], "revoke": []}}},
        "reader": {"subjects": {"basic:bob": {"type": "p"}},
                   "resources": {"policy:/": {"grant": ["READ"], "revoke": []}}}}}
    srv.admin.ditto_policy(policy_id, document)
    assert_error(srv.users["bob"].call("DELETE", policy_path(policy_id)), 403, "policies:policy.notmodifiable")
    assert srv.users["alice"].delete(policy_path(policy_id))[0] == 204


# ---------------------------------------------------------------------------------------------
# Things

@pytest.fixture
def thing_policy(srv):
    """alice: READ+WRITE on things and policy; bob: READ on things; carol: READ except
    attributes/secret (partial); ops: nothing."""
    policy_id = f"org.acme:{uid('tp')}"
    srv.admin.ditto_policy(policy_id, {"entries": {
        "owner": {"subjects": {"basic:alice": {"type": "p"}},
                  "resources": {"policy:/": {"grant": ["READ", "WRITE"], "revoke": []},
                                "thing:/": {"grant": ["READ", "WRITE"], "revoke": []}}},
        "reader": {"subjects": {"basic:bob": {"type": "p"}},
                   "resources": {"thing:/": {"grant": ["READ"], "revoke": []}}},
        "partial": {"subjects": {"basic:carol": {"type": "p"}},
                    "resources": {"thing:/": {"grant": ["READ"], "revoke": []},
                                  "thing:/attributes/secret": {"grant": [], "revoke": ["READ"]}}}}})
    return policy_id


@pytest.mark.parametrize("raw,error,mentions", [
    (b"{", "json.invalid", None),
    (b"", "json.invalid", None),
    (b"[1]", "json.invalid", "object"),
    (b'{"policyId": "org.acme:p", "color": "red"}', "json.invalid", "color"),
    (b'{"policyId": "org.acme:p", "attributes": 5}', "json.invalid", "attributes"),
    (b'{"policyId": "org.acme:p", "features": {"f": 1}}', "json.invalid", "features/f"),
    (b'{"policyId": "org.acme:p", "features": {"a/b": {}}}', "things:feature.id.invalid", None),
    (b'{"policyId": "org.acme:p", "definition": 5}', "json.invalid", "definition"),
    (b'{"policyId": 7}', "json.invalid", "policyId"),
    (b'{"policyId": "not a policy id"}', "policies:id.invalid", None),
    (b'{"policyId": "org.acme:p", "policyId": "org.acme:q"}', "json.invalid", "policyId"),
])
def test_thing_bad_json_and_unknown_fields_are_400(srv, raw, error, mentions):
    thing_id = f"org.acme:{uid('bad')}"
    assert_error(srv.admin.call("PUT", thing_path(thing_id), raw=raw), 400, error, mentions)
    assert srv.admin.get(thing_path(thing_id))[0] == 404


def test_thing_create_rules(srv, thing_policy):
    thing_id = f"org.acme:{uid('t')}"
    assert_error(srv.admin.call("PUT", thing_path(thing_id), {"attributes": {}}), 400, "things:thing.notcreatable")
    assert_error(srv.admin.call("PUT", thing_path(thing_id), {"policyId": "org.acme:does-not-exist"}), 400,
                 "things:thing.notcreatable", "org.acme:does-not-exist")
    assert_error(srv.admin.call("PUT", thing_path(thing_id), {"thingId": "org.acme:other", "policyId": thing_policy}),
                 400, "things:id.notsettable")
    assert_error(srv.admin.call("PUT", thing_path("bad id without colon"), {"policyId": thing_policy}), 400,
                 "things:id.invalid")
    # Without WRITE on thing:/ from the referenced policy: 403.
    assert_error(srv.users["bob"].call("PUT", thing_path(thing_id), {"policyId": thing_policy}), 403,
                 "things:thing.notmodifiable")
    assert_error(srv.users["ops"].call("PUT", thing_path(thing_id), {"policyId": thing_policy}), 403,
                 "things:thing.notmodifiable")
    assert srv.admin.get(thing_path(thing_id))[0] == 404
    # With WRITE: 201 and the stored document (minified, thingId and policyId first, _fields dropped).
    status, _, body = srv.users["alice"].call(
        "PUT", thing_path(thing_id),
        {"attributes": {"secret": "s", "color": "red"}, "_revision": 9, "policyId": thing_policy})
    assert status == 201
    assert list(body) == ["thingId", "policyId", "attributes"]
    assert body == {"thingId": thing_id, "policyId": thing_policy, "attributes": {"secret": "s", "color": "red"}}


def test_thing_visibility_update_and_delete(srv, thing_policy):
    thing_id = f"org.acme:{uid('t')}"
    document = {"policyId": thing_policy, "attributes": {"secret": "s", "color": "red"},
                "features": {"lamp": {"properties": {"on": True}}}}
    assert srv.users["alice"].call("PUT", thing_path(thing_id), document)[0] == 201
    alice, bob, carol, ops = (srv.users[n] for n in ("alice", "bob", "carol", "ops"))
    expected = dict(document, thingId=thing_id)
    assert alice.get(thing_path(thing_id)) == (200, expected)
    assert bob.get(thing_path(thing_id)) == (200, expected)
    # Not visible: 404 (also for a partial reader: the document is never filtered).
    assert_error(carol.call("GET", thing_path(thing_id)), 404, "things:thing.notfound")
    assert_error(ops.call("GET", thing_path(thing_id)), 404, "things:thing.notfound")
    # Update: readers 403, outsiders 404, the writer 204 (an absent policyId keeps the current one).
    assert_error(bob.call("PUT", thing_path(thing_id), {"attributes": {}}), 403, "things:thing.notmodifiable")
    assert_error(ops.call("PUT", thing_path(thing_id), {"attributes": {}}), 404, "things:thing.notfound")
    status, _, body = alice.call("PUT", thing_path(thing_id), {"attributes": {"color": "blue"}})
    assert status == 204 and body is None
    assert bob.get(thing_path(thing_id)) == (200, {"thingId": thing_id, "policyId": thing_policy,
                                                   "attributes": {"color": "blue"}})
    # Moving to a policy that does not give alice WRITE: refused.
    other = f"org.acme:{uid('other')}"
    srv.admin.ditto_policy(other, ditto_policy_document(["basic:bob"], {"thing:/": RW, "policy:/": RW}))
    assert_error(alice.call("PUT", thing_path(thing_id), {"policyId": other}), 403, "things:thing.notmodifiable")
    assert_error(srv.admin.call("PUT", thing_path(thing_id), {"policyId": "org.acme:missing-policy"}), 400,
                 "policies:policy.notfound")
    # Delete: readers 403, outsiders 404, the writer 204.
    assert_error(bob.call("DELETE", thing_path(thing_id)), 403, "things:thing.notdeletable")
    assert_error(ops.call("DELETE", thing_path(thing_id)), 404, "things:thing.notfound")
    assert alice.delete(thing_path(thing_id))[0] == 204
    assert_error(srv.admin.call("GET", thing_path(thing_id)), 404, "things:thing.notfound")


def test_thing_of_a_deleted_policy_is_admin_only(srv, thing_policy):
    thing_id = f"org.acme:{uid('t')}"
    srv.admin.thing(thing_id, {"policyId": thing_policy})
    assert srv.users["alice"].get(thing_path(thing_id))[0] == 200
    assert srv.users["alice"].delete(policy_path(thing_policy))[0] == 204
    assert_error(srv.users["alice"].call("GET", thing_path(thing_id)), 404, "things:thing.notfound")
    assert srv.admin.get(thing_path(thing_id))[0] == 200


def test_principal_subjects_reach_ditto_decisions(srv, thing_policy):
    """Changing a principal's extra subjects changes what Ditto policies grant it."""
    thing_id = f"org.acme:{uid('t')}"
    srv.admin.thing(thing_id, {"policyId": thing_policy})
    name = uid("member")
    srv.admin.principal(name, "member-pw")
    member = Api(srv.http_port, name, "member-pw")
    assert member.get(thing_path(thing_id))[0] == 404
    srv.admin.ditto_policy(thing_policy, {"entries": {
        "owner": {"subjects": {"basic:alice": {"type": "p"}},
                  "resources": {"policy:/": {"grant": ["READ", "WRITE"], "revoke": []},
                                "thing:/": {"grant": ["READ", "WRITE"], "revoke": []}}},
        "team": {"subjects": {"team:blue": {"type": "group"}},
                 "resources": {"thing:/": {"grant": ["READ"], "revoke": []}}}}})
    assert member.get(thing_path(thing_id))[0] == 404
    srv.admin.principal(name, subjects=["team:blue"])
    assert member.get(thing_path(thing_id))[0] == 200
    srv.admin.principal(name, subjects=[])
    assert member.get(thing_path(thing_id))[0] == 404


def test_oversized_bodies_are_413(srv):
    big = {"policyId": "org.acme:p", "attributes": {"blob": "x" * 100_001}}
    assert_error(srv.admin.call("PUT", thing_path(f"org.acme:{uid('big')}"), big), 413, "things:thing.toolarge")
    assert_error(srv.admin.call("PUT", "/admin/principals/big", {"password": "x" * 70_000}), 413,
                 "admin:request.toolarge")


def test_resource_ids_may_be_percent_encoded(srv, thing_policy):
    name = uid("t")
    srv.admin.thing(f"org.acme:{name}", {"policyId": thing_policy})
    expected = (200, {"thingId": f"org.acme:{name}", "policyId": thing_policy})
    assert srv.admin.get(f"/api/2/things/org.acme:{name}") == expected
    assert srv.admin.get(f"/api/2/things/org.acme%3A{name}") == expected
    assert srv.admin.get(f"/api/2/things/org.acme%3a{name}") == expected


def test_admin_is_allowed_everything_and_can_change_its_password(make_server):
    s = make_server(*SECURE)
    admin = Api(s.http_port)
    # Even a Deny-everything IAM policy attached to admin changes nothing.
    admin.iot_policy("deny-all", iam_policy({"Effect": "Deny", "Action": "iot:*", "Resource": "*"}))
    admin.principal("admin", policies=["deny-all"])
    dev, rc = raw_login(s.mqtt_port, "admin", ADMIN_PASSWORD, version=5, client_id="admin-device")
    assert rc == 0
    status, _, body = direct_full(s.http_port, "admin-device", topic="any/topic", body=b"x",
                                  headers=basic_auth("admin", ADMIN_PASSWORD))
    assert status == 200, body
    assert dev.expect_publish().payload == b"x"
    dev.disconnect()
    # A password change over the API: the old one stops working, the new one works.
    assert admin.principal("admin", "changed-admin-pw", policies=[]) == 204
    assert direct_full(s.http_port, "nobody", headers=basic_auth("admin", ADMIN_PASSWORD))[0] == 401
    assert Api(s.http_port, "admin", "changed-admin-pw").get("/admin/principals/admin") == \
        (200, {"name": "admin", "subjects": [], "iotPolicies": []})
