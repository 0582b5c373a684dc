#include "engine/security.h"

#include <algorithm>
#include <cassert>
#include <utility>

namespace sb::control {
namespace {

// The allow-all IAM document, parsed once. It is a constant of this file, so failing to
// parse it is a programming error caught by the tests, not a runtime condition.
const policy::IamPolicyDocument& AllowAllDocument() {
  static const policy::IamPolicyDocument document = [] {
    policy::Result<policy::IamPolicyDocument> parsed = policy::ParseIamPolicy(kAllowAllIamPolicy);
    assert(parsed.ok());
    return parsed.ok() ? std::move(parsed).value() : policy::IamPolicyDocument{};
  }();
  return document;
}

policy::CompiledIamPolicies AllowAll() {
  return policy::CompiledIamPolicies::FromShared({AllowAllIamDocument()});
}

// Points `subject_views` at `subjects`. Must run after `subjects` reached its final size and
// the principal its final address (views of short strings live inside the std::string).
void FillSubjectViews(Principal* principal) {
  principal->subject_views.assign(principal->subjects.begin(), principal->subjects.end());
}

}  // namespace

std::shared_ptr<const policy::CompiledIamDocument> AllowAllIamDocument() {
  static const std::shared_ptr<const policy::CompiledIamDocument> document =
      policy::CompiledIamDocument::CompileShared(AllowAllDocument());
  return document;
}

std::shared_ptr<const Principal> BuildPrincipal(
    std::string name, std::string password_hash, std::span<const std::string> extra_subjects,
    std::vector<std::string> iot_policy_names,
    std::vector<std::shared_ptr<const policy::CompiledIamDocument>> iam_documents, bool admin) {
  auto principal = std::make_shared<Principal>();
  principal->subjects.reserve(extra_subjects.size() + 1);
  principal->subjects.push_back("basic:" + name);
  for (const std::string& subject : extra_subjects) {
    if (std::find(principal->subjects.begin(), principal->subjects.end(), subject) ==
        principal->subjects.end()) {
      principal->subjects.push_back(subject);
    }
  }
  FillSubjectViews(principal.get());
  principal->name = std::move(name);
  principal->password_hash = std::move(password_hash);
  principal->iot_policy_names = std::move(iot_policy_names);
  principal->admin = admin;
  principal->iam =
      admin ? AllowAll() : policy::CompiledIamPolicies::FromShared(std::move(iam_documents));
  return principal;
}

std::shared_ptr<const Principal> BuildAnonymousPrincipal() {
  auto principal = std::make_shared<Principal>();
  principal->subjects.emplace_back(kAnonymousSubject);
  FillSubjectViews(principal.get());
  principal->iam = AllowAll();
  return principal;
}

SecuritySnapshot::SecuritySnapshot(uint64_t version, SecurityTables tables, uint32_t references)
    : version_(version), tables_(std::move(tables)), references_(references) {}

const SecuritySnapshot* SecuritySnapshot::Create(uint64_t version, SecurityTables tables,
                                                 uint32_t references) {
  assert(references >= 1);
  // Empty tables rather than null pointers, so lookups never branch on null.
  if (!tables.principals) tables.principals = std::make_shared<const PrincipalTable>();
  if (!tables.ditto_policies) tables.ditto_policies = std::make_shared<const DittoPolicyTable>();
  if (!tables.things) tables.things = std::make_shared<const ThingTable>();
  return new SecuritySnapshot(version, std::move(tables), references);
}

const Principal* SecuritySnapshot::FindPrincipal(std::string_view name) const noexcept {
  const auto it = tables_.principals->find(name);
  return it == tables_.principals->end() ? nullptr : it->second.get();
}

const StoredDittoPolicy* SecuritySnapshot::FindStoredDittoPolicy(
    std::string_view id) const noexcept {
  const auto it = tables_.ditto_policies->find(id);
  return it == tables_.ditto_policies->end() ? nullptr : it->second.get();
}

const policy::CompiledDittoPolicy* SecuritySnapshot::FindDittoPolicy(
    std::string_view id) const noexcept {
  const StoredDittoPolicy* stored = FindStoredDittoPolicy(id);
  return stored == nullptr ? nullptr : &stored->compiled;
}

const Thing* SecuritySnapshot::FindThing(std::string_view id) const noexcept {
  const auto it = tables_.things->find(id);
  return it == tables_.things->end() ? nullptr : it->second.get();
}

void SecuritySnapshot::Release() const noexcept {
  // acq_rel: every holder's reads happen-before the delete by the last one.
  const uint32_t before = references_.fetch_sub(1, std::memory_order_acq_rel);
  assert(before >= 1 && "SecuritySnapshot released more often than it was handed out");
  if (before == 1) delete this;
}

}  // namespace sb::control
