// libFuzzer harness for ControlPlane::Handle: the admin and Ditto resource API with random
// methods, routes, callers, names and bodies. Input: byte 0 = method, byte 1 = route + caller, byte 2 = name
// length, then the name, then the body.
#include <simdjson.h>

#include <cstdint>
#include <cstdlib>
#include <string>

#include "engine/control_plane.h"

namespace {

sb::control::ControlPlane* Plane() {
  static sb::control::ControlPlane* plane = [] {
    char pattern[] = "/dev/shm/control-fuzz-XXXXXX";
    const char* dir = mkdtemp(pattern);
    auto* p = new sb::control::ControlPlane({dir ? dir : "/tmp/control-fuzz", "pw", true, 0});
    std::string error;
    if (!p->Open(&error)) abort();
    // Seed state so authorisation paths run: a user, a policy, a Thing.
    auto call = [&](const char* method, const char* path, const char* body) {
      sb::control::ControlPlane::Request r;
      r.method = method;
      r.path = path;
      r.body = body;
      r.principal = "admin";
      p->Handle(r);
    };
    call("PUT", "/admin/iot-policies/p",
         R"({"Statement":[{"Effect":"Allow","Action":"iot:Publish","Resource":"topic/a"}]})");
    call("PUT", "/admin/principals/alice", R"({"password":"x","iotPolicies":["p"]})");
    call("PUT", "/api/2/policies/ns:p",
         R"({"entries":{"o":{"subjects":{"basic:alice":{"type":"t"},"anonymous":{"type":"t"}},"resources":{"policy:/":{"grant":["READ","WRITE"],"revoke":[]},"thing:/":{"grant":["READ","WRITE"],"revoke":["WRITE"]}}}}})");
    call("PUT", "/api/2/things/ns:t", R"({"policyId":"ns:p"})");
    return p;
  }();
  return plane;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 3) return 0;
  static const char* kMethods[] = {"PUT", "GET", "DELETE", "POST"};
  static const char* kPrefixes[] = {"/admin/principals/", "/admin/iot-policies/",
                                    "/api/2/policies/", "/api/2/things/"};
  static const char* kCallers[] = {"admin", "alice", "", "nobody"};
  sb::control::ControlPlane::Request request;
  request.method = kMethods[data[0] % 4];
  request.principal = kCallers[(data[1] >> 2) % 4];
  const size_t name_length = std::min<size_t>(data[2], size - 3);
  request.path = std::string(kPrefixes[data[1] % 4]) +
                 std::string(reinterpret_cast<const char*>(data + 3), name_length);
  request.body.assign(reinterpret_cast<const char*>(data + 3 + name_length),
                      size - 3 - name_length);
  // argon2id hashing is slow by design; keep it out of the loop.
  if (request.path.rfind("/admin/principals/", 0) == 0 &&
      request.body.find("password") != std::string::npos) {
    return 0;
  }
  auto response = Plane()->Handle(request);
  switch (response->status) {
    case 200: case 201: case 204: case 400: case 401: case 403: case 404: case 405:
    case 409: case 413:
      break;
    default:
      abort();
  }
  if (response->status == 204) {
    if (!response->body.empty()) abort();
  } else {
    simdjson::dom::parser parser;
    simdjson::dom::element root;
    if (parser.parse(response->body).get(root) != simdjson::SUCCESS) abort();
  }
  return 0;
}
