// Eclipse-Ditto policies (SPEC 4.1): parsing and validation of a policy JSON into a plain
// value type, plus the resource-key grammar shared with decisions. compiled_ditto_policy.h
// turns a document into the trie that decisions walk.
//
// Accepted grammar (anything else is rejected with a Ditto-style error code and a message
// naming the field):
//   {"policyId": "namespace:name",        optional (the URL names it); validated if present
//    "entries": {"<label>": {
//        "subjects": {"<subject id>": {"type": "<string>"}},
//        "resources": {"<type>:/<path>": {"grant": [PERM...], "revoke": [PERM...]}},
//        "importable": "implicit"|"explicit"|"never"}},   optional, ignored (no imports)
//    "_revision", "_created", ... }                        Ditto's `_` fields, ignored
//   type: thing | policy | message; PERM: READ | WRITE | EXECUTE.
// Decisions:
//   - EXECUTE (Ditto 1.x) is accepted and ignored: the router never checks it.
//   - Subject `expiry` is rejected (we would grant past the expiry); `announcement` is ignored.
//   - `imports` is rejected: imported entries are not resolved by the router.
//   - Paths follow Ditto's JSON pointers: `//` is invalid, a trailing `/` is ignored, and
//     `type:` alone means the root.
//   - JSON objects with duplicate keys are rejected (simdjson keeps both; we never guess).
//
// Thread safety: plain values; ParseDittoPolicy is reentrant.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "policy/result.h"

namespace sb::policy {

enum class DittoResourceType : std::uint8_t { kThing = 0, kPolicy = 1, kMessage = 2 };
inline constexpr std::size_t kDittoResourceTypeCount = 3;

enum class DittoPermission : std::uint8_t { kRead = 0, kWrite = 1 };
inline constexpr std::size_t kDittoPermissionCount = 2;

// A set of permissions as bits (1 << DittoPermission).
using DittoPermissionSet = std::uint8_t;
constexpr DittoPermissionSet PermissionBit(DittoPermission permission) noexcept {
  return static_cast<DittoPermissionSet>(1u << static_cast<unsigned>(permission));
}
inline constexpr DittoPermissionSet kReadPermission = PermissionBit(DittoPermission::kRead);
inline constexpr DittoPermissionSet kWritePermission = PermissionBit(DittoPermission::kWrite);

// "READ" / "WRITE" (case-sensitive, as Ditto); nullopt otherwise.
std::optional<DittoPermission> ParseDittoPermission(std::string_view name) noexcept;
std::string_view DittoPermissionName(DittoPermission permission) noexcept;
std::string_view DittoResourceTypeName(DittoResourceType type) noexcept;

// "message:/features/lamp/inbox/messages/on" split into its type and path. The path is
// "/..." (or empty for the root); use DittoPathSegments to walk it.
struct DittoResourceKey {
  DittoResourceType type = DittoResourceType::kThing;
  std::string_view path;
};

// Parses and validates a resource key: known type, path empty or starting with `/`, no
// empty segment except a trailing one, no control character. Views into `text`. No
// allocation.
std::optional<DittoResourceKey> ParseDittoResourceKey(std::string_view text) noexcept;

// Iterates the segments of a path accepted by ParseDittoResourceKey ("/a/b/" -> a, b).
class DittoPathSegments {
 public:
  explicit DittoPathSegments(std::string_view path) noexcept : rest_(path) {}
  // Stores the next segment in *segment and returns true, or returns false at the end.
  bool Next(std::string_view* segment) noexcept {
    while (!rest_.empty() && rest_.front() == '/') rest_.remove_prefix(1);
    if (rest_.empty()) return false;
    // Segments are short: a plain loop beats a memchr call.
    std::size_t length = 0;
    while (length < rest_.size() && rest_[length] != '/') ++length;
    *segment = rest_.substr(0, length);
    rest_.remove_prefix(length);
    return true;
  }

 private:
  std::string_view rest_;
};

// Thing and policy IDs (SPEC 3.1): `namespace:name`, namespace empty or
// `[a-zA-Z]\w*([.-][a-zA-Z]\w*)*`, name non-empty without control characters or `/`,
// at most 256 bytes in all.
bool IsValidDittoEntityId(std::string_view id) noexcept;

struct DittoSubject {
  std::string id;    // e.g. "basic:alice", "google:sid_all"
  std::string type;  // free text, e.g. "password", "generated"
};

struct DittoResourceGrant {
  DittoResourceType type = DittoResourceType::kThing;
  std::string path;  // normalized: "/" or "/a/b" (no trailing slash)
  DittoPermissionSet grant = 0;
  DittoPermissionSet revoke = 0;
};

struct DittoPolicyEntry {
  std::string label;
  std::vector<DittoSubject> subjects;
  std::vector<DittoResourceGrant> resources;
};

struct DittoPolicyDocument {
  std::string policy_id;  // empty when the body has none
  std::vector<DittoPolicyEntry> entries;
};

// Raising max_entries above CompiledDittoPolicy::kMaxEntries (1024) or max_path_segments
// above its kMaxPathSegments (64) makes CompiledDittoPolicy::TryCompile reject the document.
struct DittoPolicyLimits {
  std::size_t max_document_bytes = 100 * 1000;  // Ditto's default policy size limit
  std::size_t max_entries = 256;
  std::size_t max_subjects_per_entry = 1024;
  std::size_t max_resources_per_entry = 1024;
  std::size_t max_path_segments = 32;
  std::size_t max_path_bytes = 1024;
  std::size_t max_label_bytes = 256;
  std::size_t max_subject_bytes = 512;
};

// Error codes (PolicyError::code).
inline constexpr std::string_view kDittoJsonInvalid = "json.invalid";
inline constexpr std::string_view kDittoPolicyTooLarge = "policies:policy.toolarge";
inline constexpr std::string_view kDittoPolicyIdInvalid = "policies:id.invalid";
inline constexpr std::string_view kDittoLabelInvalid = "policies:label.invalid";
inline constexpr std::string_view kDittoPolicyInvalid = "policies:policy.invalid";

Result<DittoPolicyDocument> ParseDittoPolicy(std::string_view json,
                                             const DittoPolicyLimits& limits = {});

}  // namespace sb::policy
