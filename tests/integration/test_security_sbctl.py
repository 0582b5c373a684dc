"""sbctl's policy commands (SPEC 8; issue 3): `policy check` and `iot-policy check` print
exactly `allow` or `deny`; `hash-password` prints the stored argon2id form of a password read
from stdin. The verdicts agree with the running server."""
import ctypes
import ctypes.util
import json
import os
import re
import subprocess

import pytest

from helpers import ADMIN_PASSWORD, Api, basic_auth, direct_full, iam_allow, iam_deny, iam_policy, raw_login

SBCTL = os.environ.get("SBCTL_BIN", os.path.join(os.path.dirname(__file__), "../../build/sbctl"))

pytestmark = pytest.mark.skipif(not os.path.exists(SBCTL), reason=f"sbctl not built at {SBCTL}")

ARGON2ID = re.compile(r"^\$argon2id\$v=19\$m=\d+,t=\d+,p=\d+\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$")


def sbctl(*args, stdin=None):
    result = subprocess.run([SBCTL, *args], input=stdin, capture_output=True, text=True, timeout=30)
    return result.returncode, result.stdout, result.stderr


def verdict(*args):
    code, out, err = sbctl(*args)
    assert code == 0, err
    assert out in ("allow\n", "deny\n"), repr(out)  # stdout carries only the result
    return out.strip()


@pytest.fixture
def write_json(tmp_path):
    def write(name, document):
        path = tmp_path / name
        path.write_text(document if isinstance(document, str) else json.dumps(document))
        return str(path)
    return write


# ---------------------------------------------------------------------------------------------
# policy check (Ditto)

LAMP_POLICY = {"policyId": "org.acme:lamp-policy", "entries": {
    "owner": {"subjects": {"basic:alice": {"type": "password"}},
              "resources": {"thing:/": {"grant": ["READ", "WRITE"], "revoke": []},
                            "message:/": {"grant": ["READ", "WRITE"], "revoke": []},
                            "message:/features/secret": {"grant": [], "revoke": ["READ"]}}},
    "guest": {"subjects": {"basic:guest": {"type": "password"}},
              "resources": {"thing:/attributes": {"grant": ["READ"], "revoke": []}}},
    "ops": {"subjects": {"group:ops": {"type": "group"}},
            "resources": {"thing:/": {"grant": ["READ"], "revoke": []},
                          "thing:/attributes/private": {"grant": [], "revoke": ["READ"]}}}}}


@pytest.mark.parametrize("subjects,resource,permission,partial,expected", [
    (["basic:alice"], "thing:/", "READ", False, "allow"),
    (["basic:alice"], "thing:/features/lamp/properties/on", "WRITE", False, "allow"),
    (["basic:alice"], "message:/inbox/messages/on", "WRITE", False, "allow"),
    (["basic:alice"], "message:/features/secret/inbox/messages/x", "READ", False, "deny"),  # revoked below
    (["basic:alice"], "message:/features", "READ", False, "deny"),  # a revoke somewhere below
    (["basic:alice"], "message:/features", "READ", True, "allow"),
    (["basic:alice"], "policy:/", "READ", False, "deny"),
    (["basic:guest"], "thing:/attributes/x", "READ", False, "allow"),
    (["basic:guest"], "thing:/attributes/x", "WRITE", False, "deny"),
    (["basic:guest"], "thing:/", "READ", False, "deny"),
    (["basic:guest"], "thing:/", "READ", True, "allow"),
    (["group:ops"], "thing:/attributes/private", "READ", False, "deny"),
    (["group:ops"], "thing:/", "READ", False, "deny"),
    (["group:ops"], "thing:/", "READ", True, "allow"),
    (["basic:guest", "group:ops"], "thing:/attributes/x", "READ", False, "allow"),
    (["basic:mallory"], "thing:/", "READ", True, "deny"),
])
def test_policy_check(write_json, subjects, resource, permission, partial, expected):
    path = write_json("lamp.json", LAMP_POLICY)
    args = ["policy", "check", "--policy", path, "--resource", resource, "--permission", permission]
    for subject in subjects:
        args += ["--subject", subject]
    if partial:
        args.append("--partial")
    assert verdict(*args) == expected


@pytest.mark.parametrize("args", [
    ["--subject", "basic:alice", "--resource", "thing:/", "--permission", "FLY"],
    ["--subject", "basic:alice", "--resource", "nope:/", "--permission", "READ"],
    ["--subject", "basic:alice", "--permission", "READ"],
    ["--resource", "thing:/", "--permission", "READ"],
])
def test_policy_check_usage_errors(write_json, args):
    path = write_json("lamp.json", LAMP_POLICY)
    code, out, err = sbctl("policy", "check", "--policy", path, *args)
    assert code != 0 and out == "" and err


@pytest.mark.parametrize("document", ["{", '{"entries": {}, "bogus": 1}'])
def test_policy_check_invalid_policy_file(write_json, document):
    path = write_json("bad.json", document)
    code, out, err = sbctl("policy", "check", "--policy", path, "--subject", "basic:a", "--resource", "thing:/",
                           "--permission", "READ")
    assert code != 0 and out == "" and err


def test_policy_check_missing_file(tmp_path):
    code, out, err = sbctl("policy", "check", "--policy", str(tmp_path / "absent.json"), "--subject", "basic:a",
                           "--resource", "thing:/", "--permission", "READ")
    assert code != 0 and out == "" and "absent.json" in err


# ---------------------------------------------------------------------------------------------
# iot-policy check (IAM-style)

SENDER = iam_policy(iam_allow("iot:SendDirectMessage", "arn:aws:iot:*:*:client/myDevice",
                              {"StringEquals": {"iot:Topic": ["commands/reboot", "commands/update"]}}))
DEVICE = iam_policy(iam_allow("iot:Connect", "client/${iot:ClientId}"),
                    iam_allow(["iot:Subscribe"], "topicfilter/sensors/+/#"),
                    iam_allow("iot:Publish", "topic/sensors/${iot:ClientId}/*"),
                    iam_allow("iot:Receive", "topic/cmd/?"))
DENY_REBOOT = iam_policy(iam_deny("iot:SendDirectMessage", "client/*", {"StringLike": {"iot:Topic": "*/reboot"}}))


@pytest.mark.parametrize("policies,action,resource,variables,expected", [
    (["sender"], "iot:SendDirectMessage", "client/myDevice", ["iot:Topic=commands/reboot"], "allow"),
    (["sender"], "iot:SendDirectMessage", "arn:aws:iot:us-east-1:123456789012:client/myDevice",
     ["iot:Topic=commands/update"], "allow"),
    (["sender"], "iot:SendDirectMessage", "client/myDevice", ["iot:Topic=commands/other"], "deny"),
    (["sender"], "iot:SendDirectMessage", "client/myDevice", [], "deny"),  # no topic: condition unmet
    (["sender"], "iot:SendDirectMessage", "client/otherDevice", ["iot:Topic=commands/reboot"], "deny"),
    (["sender"], "iot:Publish", "topic/commands/reboot", [], "deny"),
    (["sender", "deny-reboot"], "iot:SendDirectMessage", "client/myDevice", ["iot:Topic=commands/reboot"], "deny"),
    (["sender", "deny-reboot"], "iot:SendDirectMessage", "client/myDevice", ["iot:Topic=commands/update"], "allow"),
    (["device"], "iot:Connect", "client/dev-1", ["iot:ClientId=dev-1"], "allow"),
    (["device"], "iot:Connect", "client/dev-2", ["iot:ClientId=dev-1"], "deny"),
    (["device"], "iot:Subscribe", "topicfilter/sensors/+/#", [], "allow"),  # + and # are literal
    (["device"], "iot:Subscribe", "topicfilter/sensors/a/#", [], "deny"),
    (["device"], "iot:Publish", "topic/sensors/dev-1/temp", ["iot:ClientId=dev-1"], "allow"),
    (["device"], "iot:Publish", "topic/sensors/dev-2/temp", ["iot:ClientId=dev-1"], "deny"),
    (["device"], "iot:Receive", "topic/cmd/a", [], "allow"),
    (["device"], "iot:Receive", "topic/cmd/ab", [], "deny"),
])
def test_iot_policy_check(write_json, policies, action, resource, variables, expected):
    documents = {"sender": SENDER, "device": DEVICE, "deny-reboot": DENY_REBOOT}
    args = ["iot-policy", "check", "--action", action, "--resource", resource]
    for name in policies:
        args += ["--policy", write_json(f"{name}.json", documents[name])]
    for variable in variables:
        args += ["--var", variable]
    assert verdict(*args) == expected


@pytest.mark.parametrize("args", [
    ["--action", "iot:Fly", "--resource", "client/x"],
    ["--action", "iot:Connect"],
    ["--action", "iot:Connect", "--resource", "client/x", "--var", "iot:Unknown=1"],
    ["--action", "iot:Connect", "--resource", "client/x", "--var", "no-equals-sign"],
])
def test_iot_policy_check_usage_errors(write_json, args):
    path = write_json("device.json", DEVICE)
    code, out, err = sbctl("iot-policy", "check", "--policy", path, *args)
    assert code != 0 and out == "" and err


def test_iot_policy_check_invalid_policy_file(write_json):
    path = write_json("bad.json", {"Statement": [{"Effect": "Allow", "Action": "iot:*", "Resource": "*", "Foo": 1}]})
    code, out, err = sbctl("iot-policy", "check", "--policy", path, "--action", "iot:Connect", "--resource", "client/x")
    assert code != 0 and out == "" and "Foo" in err


def test_iot_policy_check_agrees_with_the_server(make_server, write_json):
    """The same documents give the same verdicts in sbctl and in the running server."""
    s = make_server("--admin-password", ADMIN_PASSWORD, "--anonymous", "off")
    admin = Api(s.http_port)
    admin.iot_policy("sender", SENDER)
    admin.iot_policy("deny-reboot", DENY_REBOOT)
    admin.iot_policy("receiver", iam_policy(iam_allow(["iot:Connect", "iot:Receive"], "*")))
    admin.principal("sender", "sender-pw", policies=["sender", "deny-reboot"])
    admin.principal("myDevice", "device-pw", policies=["receiver"])
    dev, rc = raw_login(s.mqtt_port, "myDevice", "device-pw", version=5, client_id="myDevice")
    assert rc == 0
    files = ["--policy", write_json("sender.json", SENDER), "--policy", write_json("deny.json", DENY_REBOOT)]
    for topic in ("commands/reboot", "commands/update", "commands/other"):
        expected = verdict("iot-policy", "check", *files, "--action", "iot:SendDirectMessage",
                           "--resource", "client/myDevice", "--var", f"iot:Topic={topic}")
        status, _, body = direct_full(s.http_port, "myDevice", topic=topic, headers=basic_auth("sender", "sender-pw"))
        assert status == (200 if expected == "allow" else 403), (topic, expected, body)
        if expected == "allow":
            assert dev.expect_publish().topic == topic
    dev.disconnect()


# ---------------------------------------------------------------------------------------------
# hash-password

def sodium():
    name = ctypes.util.find_library("sodium")
    if not name:
        pytest.skip("libsodium not found for verifying the hash")
    lib = ctypes.CDLL(name)
    assert lib.sodium_init() >= 0
    lib.crypto_pwhash_str_verify.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulonglong]
    return lib


@pytest.mark.parametrize("stdin,password", [
    ("correct horse battery staple\n", "correct horse battery staple"),
    ("no-newline", "no-newline"),
    ("windows\r\n", "windows"),
    ("p\u00e4ssw\u00f6rd \U0001F511\n", "p\u00e4ssw\u00f6rd \U0001F511"),
])
def test_hash_password_prints_argon2id(stdin, password):
    code, out, err = sbctl("hash-password", stdin=stdin)
    assert code == 0, err
    assert out.endswith("\n") and out.count("\n") == 1
    stored = out.strip()
    assert ARGON2ID.match(stored), stored
    assert password not in stored
    lib = sodium()
    encoded = password.encode()
    assert lib.crypto_pwhash_str_verify(stored.encode(), encoded, len(encoded)) == 0
    wrong = encoded + b"x"
    assert lib.crypto_pwhash_str_verify(stored.encode(), wrong, len(wrong)) != 0


def test_hash_password_salts_every_hash():
    first = sbctl("hash-password", stdin="same\n")[1]
    second = sbctl("hash-password", stdin="same\n")[1]
    assert ARGON2ID.match(first.strip()) and ARGON2ID.match(second.strip())
    assert first != second


@pytest.mark.parametrize("stdin", ["", "\n"])
def test_hash_password_refuses_an_empty_password(stdin):
    code, out, err = sbctl("hash-password", stdin=stdin)
    assert code != 0 and out == "" and err


def test_hash_password_takes_no_arguments():
    code, out, err = sbctl("hash-password", "secret", stdin="x\n")
    assert code != 0 and out == ""
