"""Authentication (SPEC 1, 7, 8; issue 3): HTTP Basic on every route but /health, MQTT CONNECT
user name and password in 3.1.1 and 5.0, anonymous access by default on loopback, and the
credential cache (many logins, few argon2id verifications)."""
import base64
import uuid

import pytest

from helpers import (ADMIN_PASSWORD, CONNACK, PINGREQ_PACKET, PINGRESP, SUBACK, Api, PahoLogin, RawHttp, RawMqtt,
                     api_request, basic_auth, connect_packet_with_credentials, direct_full, http_request, iam_allow,
                     iam_deny, iam_policy, metric_sum, metrics_as, raw_login, subscribe_packet, wait_until)

SECURE = ("--admin-password", ADMIN_PASSWORD, "--anonymous", "off")
CHALLENGE = 'Basic realm="switchboard"'
ALLOW_ALL = iam_policy(iam_allow("iot:*", "*"))

# MQTT CONNACK codes: (3.1.1 return code, 5.0 reason code)
BAD_CREDENTIALS = {4: 0x04, 5: 0x86}
NOT_AUTHORIZED = {4: 0x05, 5: 0x87}


def uid(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def fresh_principal(server, prefix="p", policies=("allow-all",)):
    """A new principal (failed logins are throttled per name, so each test fails its own)."""
    name, password = uid(prefix), "pw-" + uuid.uuid4().hex[:6]
    server.admin.principal(name, password, policies=list(policies))
    return name, password


@pytest.fixture(scope="module")
def secure(make_module_server):
    """One server for the module: an admin, anonymous access off, and a principal `user`
    allowed everything. Tests keep apart by unique names (failed logins are throttled per name)."""
    s = make_module_server(*SECURE)
    s.admin = Api(s.http_port)
    s.admin.iot_policy("allow-all", ALLOW_ALL)
    s.user = (uid("user"), "user-pw-1")
    s.admin.principal(s.user[0], s.user[1], policies=["allow-all"])
    return s


def metric(server, name):
    return metric_sum(metrics_as(server.http_port, ("admin", ADMIN_PASSWORD)), name)


# ---------------------------------------------------------------------------------------------
# HTTP

def test_health_needs_no_credentials(secure):
    status, headers, body = http_request(secure.http_port, "GET", "/health")
    assert status == 200, body
    assert "WWW-Authenticate" not in headers
    # Load balancers may send whatever credentials they have: /health never checks them.
    status, _, body = http_request(secure.http_port, "GET", "/health", headers=basic_auth("admin", "wrong"))
    assert status == 200, body


@pytest.mark.parametrize("method,path", [
    ("GET", "/metrics"),
    ("GET", "/admin/principals/admin"),
    ("PUT", "/admin/iot-policies/p"),
    ("GET", "/api/2/policies/org.acme:p"),
    ("GET", "/api/2/things/org.acme:t"),
    ("GET", "/no/such/route"),
])
def test_every_other_route_answers_401_with_a_challenge(secure, method, path):
    status, headers, body = http_request(secure.http_port, method, path, b"{}" if method == "PUT" else b"")
    assert status == 401, body
    assert headers.get("WWW-Authenticate") == CHALLENGE


def test_direct_message_without_credentials_is_401(secure):
    status, headers, body = direct_full(secure.http_port, "dev-1", topic="cmd/x")
    assert status == 401, body
    assert headers["www-authenticate"] == CHALLENGE
    assert body["reason"] == "UNAUTHORIZED" and body["traceId"] and body["message"]


@pytest.mark.parametrize("who", ["unknown-principal", "known-principal"])
def test_direct_message_with_wrong_credentials_is_401(secure, who):
    name = uid("nobody") if who == "unknown-principal" else fresh_principal(secure)[0]
    status, headers, body = direct_full(secure.http_port, "dev-1", topic="cmd/x", headers=basic_auth(name, "wrong"))
    assert status == 401, body
    assert headers["www-authenticate"] == CHALLENGE
    # Direct-message errors keep the direct-message body shape (SPEC 2), whichever path the
    # credential check took (a known name is verified off-shard, an unknown one at once).
    assert body.get("reason") == "UNAUTHORIZED", body
    assert body["traceId"] and body["message"]


@pytest.mark.parametrize("authorization", [
    "Bearer not-supported-here",
    "Basic !!!not-base64!!!",
    "Basic " + base64.b64encode(b"no-colon-in-here").decode(),
    "Basic",
])
def test_malformed_authorization_is_401(secure, authorization):
    status, headers, body = direct_full(secure.http_port, "dev-1", headers={"Authorization": authorization})
    assert status == 401, body
    assert headers["www-authenticate"] == CHALLENGE
    status, headers, _ = http_request(secure.http_port, "GET", "/admin/principals/admin",
                                      headers={"Authorization": authorization})
    assert status == 401
    assert headers.get("WWW-Authenticate") == CHALLENGE


def test_wrong_admin_password_is_401_with_ditto_error(secure):
    status, headers, body = api_request(secure.http_port, "GET", "/admin/principals/admin", auth=("admin", "nope"))
    assert status == 401
    assert headers["www-authenticate"] == CHALLENGE
    assert body["status"] == 401 and body["error"] == "gateway:authentication.failed"
    status, _, body = api_request(secure.http_port, "GET", "/admin/principals/admin", auth=("admin", ADMIN_PASSWORD))
    assert status == 200, body
    assert body == {"name": "admin", "subjects": [], "iotPolicies": []}


def test_deleted_principal_can_no_longer_log_in(secure):
    name, password = uid("gone"), "pw-gone"
    secure.admin.principal(name, password, policies=["allow-all"])
    assert direct_full(secure.http_port, "dev-x", headers=basic_auth(name, password))[0] == 404  # authenticated
    assert secure.admin.delete(f"/admin/principals/{name}")[0] == 204
    assert wait_until(lambda: direct_full(secure.http_port, "dev-x", headers=basic_auth(name, password))[0] == 401)
    dev, rc = raw_login(secure.mqtt_port, name, password, version=5)
    assert rc == 0x86
    dev.close()


# ---------------------------------------------------------------------------------------------
# MQTT CONNECT

@pytest.mark.parametrize("version", [4, 5])
def test_mqtt_good_credentials_connect(secure, version):
    dev, rc = raw_login(secure.mqtt_port, *secure.user, version=version)
    assert rc == 0
    assert dev.connack.body[0] == 0  # no session present
    status, _, body = direct_full(secure.http_port, dev.client_id, topic="hello/x", body=b"hi",
                                  headers=basic_auth(*secure.user))
    assert status == 200, body
    assert dev.expect_publish().payload == b"hi"
    dev.disconnect()


@pytest.mark.parametrize("version", [4, 5])
@pytest.mark.parametrize("who", ["wrong-password", "unknown-user", "empty-password"])
def test_mqtt_bad_credentials_refused(secure, version, who):
    if who == "wrong-password":
        name, password = fresh_principal(secure)[0], "wrong"
    elif who == "unknown-user":
        name, password = uid("nobody"), "whatever"
    else:
        name, password = fresh_principal(secure)[0], None  # user name without a password
    dev, rc = raw_login(secure.mqtt_port, name, password, version=version)
    assert rc == BAD_CREDENTIALS[version]
    assert dev.closed(), "a refused CONNECT must be followed by the close"
    # The refused client ID is not connected.
    status, _, body = direct_full(secure.http_port, dev.client_id, headers=basic_auth(*secure.user))
    assert status == 404, body


@pytest.mark.parametrize("version", [4, 5])
def test_mqtt_without_credentials_refused_when_anonymous_is_off(secure, version):
    dev, rc = raw_login(secure.mqtt_port, None, None, version=version)
    assert rc == NOT_AUTHORIZED[version]
    assert dev.closed()


@pytest.mark.parametrize("version", [4, 5])
def test_mqtt_connect_denied_by_iam(secure, version):
    name, password = uid("meter"), "meter-pw"
    # Connect only as client IDs that start with the principal's own prefix.
    secure.admin.iot_policy("connect-meters", iam_policy(
        iam_allow("iot:Connect", "arn:aws:iot:*:*:client/meter-*"),
        iam_allow(["iot:Receive"], "*")))
    secure.admin.principal(name, password, policies=["connect-meters"])
    dev, rc = raw_login(secure.mqtt_port, name, password, version=version, client_id=uid("pump"))
    assert rc == NOT_AUTHORIZED[version]
    assert dev.closed()
    dev, rc = raw_login(secure.mqtt_port, name, password, version=version, client_id=uid("meter"))
    assert rc == 0
    dev.disconnect()


@pytest.mark.parametrize("version", [4, 5])
def test_mqtt_connect_with_client_id_variable(secure, version):
    """`client/${iot:ClientId}` allows connecting under any client ID; an explicit Deny on a
    pattern still beats that Allow."""
    name, password = uid("var"), "var-pw"
    secure.admin.iot_policy("self-connect", iam_policy(
        iam_allow("iot:Connect", "client/${iot:ClientId}"),
        iam_deny("iot:Connect", "client/blocked-*")))
    secure.admin.principal(name, password, policies=["self-connect"])
    dev, rc = raw_login(secure.mqtt_port, name, password, version=version, client_id=uid("any"))
    assert rc == 0
    dev.disconnect()
    dev, rc = raw_login(secure.mqtt_port, name, password, version=version, client_id=uid("blocked"))
    assert rc == NOT_AUTHORIZED[version]
    dev.close()


@pytest.mark.parametrize("version", [4, 5])
def test_paho_sees_the_connack_codes(secure, version):
    good = PahoLogin(secure.mqtt_port, *secure.user, version=version)
    assert good.connack_rc == 0
    good.close()
    bad = PahoLogin(secure.mqtt_port, fresh_principal(secure)[0], "wrong", version=version)
    assert bad.connack_rc == BAD_CREDENTIALS[version]
    anonymous = PahoLogin(secure.mqtt_port, None, None, version=version)
    assert anonymous.connack_rc == NOT_AUTHORIZED[version]


def test_principal_without_policies_is_denied_everything(secure):
    """Default deny: a principal with no IAM policy authenticates but may not connect or send."""
    name, password = uid("bare"), "bare-pw"
    secure.admin.principal(name, password)
    for version in (4, 5):
        dev, rc = raw_login(secure.mqtt_port, name, password, version=version)
        assert rc == NOT_AUTHORIZED[version]
        dev.close()
    status, _, body = direct_full(secure.http_port, "dev-1", headers=basic_auth(name, password))
    assert status == 403 and body["reason"] == "SENDER_NOT_AUTHORIZED", body


# ---------------------------------------------------------------------------------------------
# Anonymous access

def test_anonymous_is_on_by_default_on_loopback(make_server):
    s = make_server()
    assert wait_until(lambda: any("anonymous_access" in line and "enabled=true" in line for line in s.log))
    dev, rc = raw_login(s.mqtt_port, None, None, version=5)
    assert rc == 0
    status, headers, body = direct_full(s.http_port, dev.client_id, topic="anon/t", body=b"a")
    assert status == 200, body
    assert dev.expect_publish().payload == b"a"
    dev.disconnect()
    # Anonymous is not admin.
    status, _, body = api_request(s.http_port, "GET", "/admin/principals/admin")
    assert status == 403 and body["error"] == "admin:forbidden", body


def test_anonymous_off_logs_it(secure):
    assert wait_until(lambda: any("anonymous_access" in line and "enabled=false" in line for line in secure.log))


def test_explicit_anonymous_on_still_checks_given_credentials(make_server):
    s = make_server("--admin-password", ADMIN_PASSWORD, "--anonymous", "on")
    assert direct_full(s.http_port, "dev-none")[0] == 404  # anonymous, allowed, nobody connected
    status, headers, body = direct_full(s.http_port, "dev-none", headers=basic_auth("admin", "wrong"))
    assert status == 401, body
    dev, rc = raw_login(s.mqtt_port, "admin", "wrong", version=4)
    assert rc == 0x04
    dev.close()
    dev, rc = raw_login(s.mqtt_port, None, None, version=4)
    assert rc == 0
    dev.disconnect()


# ---------------------------------------------------------------------------------------------
# The credential cache

def test_many_logins_with_the_same_credentials_are_verified_rarely(secure):
    name, password = uid("storm"), "storm-pw"
    secure.admin.principal(name, password, policies=["allow-all"])
    before = metric(secure, "switchboard_auth_verifications_total")
    logins = 0
    for i in range(30):  # each on a new connection: new HTTP and MQTT logins
        status, _, body = direct_full(secure.http_port, "dev-absent", headers=basic_auth(name, password))
        assert status == 404, body  # authenticated and authorised: the client is just not connected
        logins += 1
    for i in range(20):
        dev, rc = raw_login(secure.mqtt_port, name, password, version=4 + (i % 2), client_id=f"storm-{i}")
        assert rc == 0
        dev.disconnect()
        logins += 1
    after = metric(secure, "switchboard_auth_verifications_total")
    shards = 2
    # At most one verification per shard for the new principal, plus the admin's metrics reads.
    assert after - before <= 2 * shards, f"{after - before} verifications for {logins} logins"
    # The cache never turns a wrong password into a good one.
    status, _, body = direct_full(secure.http_port, "dev-absent", headers=basic_auth(name, password + "x"))
    assert status == 401, body
    dev, rc = raw_login(secure.mqtt_port, name, password[:-1], version=5)
    assert rc == 0x86
    dev.close()


def test_password_change_invalidates_cached_credentials(secure):
    name = uid("rotate")
    secure.admin.principal(name, "old-pw", policies=["allow-all"])
    for _ in range(3):  # cached on whichever shards served these
        assert direct_full(secure.http_port, "dev-absent", headers=basic_auth(name, "old-pw"))[0] == 404
    secure.admin.principal(name, "new-pw", policies=["allow-all"])
    assert wait_until(lambda: direct_full(secure.http_port, "dev-absent", headers=basic_auth(name, "new-pw"))[0] == 404)
    for _ in range(4):
        assert direct_full(secure.http_port, "dev-absent", headers=basic_auth(name, "old-pw"))[0] == 401
    for version in (4, 5):
        dev, rc = raw_login(secure.mqtt_port, name, "new-pw", version=version)
        assert rc == 0
        dev.disconnect()


def test_failed_logins_are_counted(secure):
    name = uid("fail")
    secure.admin.principal(name, "right", policies=["allow-all"])
    before = metric(secure, "switchboard_auth_failures_total")
    for _ in range(3):
        assert direct_full(secure.http_port, "dev-absent", headers=basic_auth(name, "wrong"))[0] == 401
    assert wait_until(lambda: metric(secure, "switchboard_auth_failures_total") - before >= 3)


# ---------------------------------------------------------------------------------------------
# Credentials on the wire, and work parked while a password is verified

def test_basic_credentials_edge_cases(secure):
    """The password is everything after the first ':'; user names are UTF-8; the scheme name is
    case-insensitive."""
    colon = uid("colon")
    secure.admin.principal(colon, "pw:with:colons", policies=["allow-all"])
    assert direct_full(secure.http_port, "dev-absent", headers=basic_auth(colon, "pw:with:colons"))[0] == 404
    assert direct_full(secure.http_port, "dev-absent", headers=basic_auth(colon, "pw"))[0] == 401
    utf8 = "j\u00fcrgen-" + uuid.uuid4().hex[:6]
    secure.admin.principal(utf8, "pw-\u00e9", policies=["allow-all"])
    assert direct_full(secure.http_port, "dev-absent", headers=basic_auth(utf8, "pw-\u00e9"))[0] == 404
    token = basic_auth(colon, "pw:with:colons")["Authorization"].split(" ", 1)[1]
    assert direct_full(secure.http_port, "dev-absent", headers={"Authorization": "basic " + token})[0] == 404
    assert direct_full(secure.http_port, "dev-absent", headers=basic_auth("u" * 8000, "p"))[0] == 401


def test_pipelined_http_requests_wait_for_the_verification(secure):
    name, password = fresh_principal(secure)  # not cached anywhere yet
    auth = basic_auth(name, password)["Authorization"]
    conn = RawHttp(secure.http_port)
    try:
        first = f"POST /connections/dev-absent/messages?topic=a HTTP/1.1\r\nHost: t\r\nAuthorization: {auth}\r\n" \
                "Content-Length: 0\r\n\r\n"
        second = f"GET /admin/principals/{name} HTTP/1.1\r\nHost: t\r\nAuthorization: {auth}\r\n\r\n"
        third = "GET /metrics HTTP/1.1\r\nHost: t\r\n\r\n"
        conn.send((first + second + third).encode())
        assert conn.read_json_response()[0] == 404  # authenticated; the client is not connected
        status, _, body = conn.read_json_response()
        assert status == 403 and body["error"] == "admin:forbidden"
        status, headers, _ = conn.read_response()
        assert status == 401 and headers["www-authenticate"] == CHALLENGE
    finally:
        conn.close()


@pytest.mark.parametrize("version", [4, 5])
def test_packets_behind_a_parked_connect_are_processed_after_it(secure, version):
    name, password = fresh_principal(secure)
    dev = RawMqtt(secure.mqtt_port, version=version)
    client_id = uid("pipelined")
    dev.send(connect_packet_with_credentials(client_id, version, name, password) +
             subscribe_packet(3, [("pipe/#", 0)], version) + PINGREQ_PACKET)
    connack = dev.expect(CONNACK)
    assert connack.body[1] == 0
    suback = dev.expect(SUBACK)
    assert suback.body[:2] == b"\x00\x03" and suback.body[-1] == 0
    dev.expect(PINGRESP)
    dev.disconnect()


def test_clients_that_leave_during_verification_do_not_hurt(secure):
    name, password = fresh_principal(secure)
    for i in range(12):
        dev = RawMqtt(secure.mqtt_port, version=4 + i % 2)
        dev.send(connect_packet_with_credentials(uid("gone"), 4 + i % 2, name, password))
        dev.close()
        conn = RawHttp(secure.http_port)
        conn.send(f"GET /metrics HTTP/1.1\r\nHost: t\r\nAuthorization: {basic_auth(name, password)['Authorization']}"
                  "\r\n\r\n".encode())
        conn.close()
    # Still serving, and the verdicts that came back meanwhile were cached.
    dev, rc = raw_login(secure.mqtt_port, name, password, version=5)
    assert rc == 0
    dev.disconnect()
    assert secure.proc.poll() is None


def test_repeated_failures_are_throttled(secure):
    name, _ = fresh_principal(secure)
    before = metric(secure, "switchboard_auth_throttled_total")
    client_id = uid("throttled")  # one client ID: every attempt is handled by the same shard
    for _ in range(8):
        dev, rc = raw_login(secure.mqtt_port, name, "wrong", version=5, client_id=client_id)
        assert rc == 0x86
        dev.close()
    assert metric(secure, "switchboard_auth_throttled_total") - before >= 1
