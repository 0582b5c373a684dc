// The durable store of the control plane (SPEC 7): principals, IAM-style policies, Ditto
// policies and Things in one SQLite database, `DATA_DIR/switchboard.db`.
//
// Durability: the database runs in WAL mode with synchronous=FULL, and every write is its
// own transaction that returns only after COMMIT, i.e. after the WAL has been fsync'ed. A
// write acknowledged by this class survives a crash or power loss.
//
// Exclusivity: the connection uses locking_mode=EXCLUSIVE, so a second server pointed at
// the same data directory fails at Open() ("database is locked") instead of silently
// diverging from this one.
//
// Schema: tables principals(name PK, password_hash, subjects JSON, iot_policies JSON),
// iot_policies(name PK, document), ditto_policies(id PK, document), things(id PK,
// document); PRAGMA user_version records the schema version (kSchemaVersion). Open()
// creates a fresh database and refuses one written by a newer schema.
//
// The store checks nothing about the documents it holds (the control plane validates them
// before writing) except what it needs to decode its own columns.
//
// Threads: one Store belongs to one thread (the control plane's); it is not thread-safe.
// Nothing here may run on a shard: every write waits for an fsync.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

struct sqlite3;
struct sqlite3_stmt;

namespace sb::control {

// An error as a value: a code to branch on and a human message for logs and 500 bodies.
class [[nodiscard]] Status {
 public:
  enum class Code : std::uint8_t {
    kOk,
    kNotFound,    // the row does not exist (Get, Delete)
    kIoError,     // SQLite or the file system failed
    kCorruption,  // a stored column could not be decoded
  };

  Status() = default;  // OK
  static Status Ok() { return Status(); }
  static Status NotFound(std::string message) {
    return Status(Code::kNotFound, std::move(message));
  }
  static Status IoError(std::string message) { return Status(Code::kIoError, std::move(message)); }
  static Status Corruption(std::string message) {
    return Status(Code::kCorruption, std::move(message));
  }

  bool ok() const noexcept { return code_ == Code::kOk; }
  bool IsNotFound() const noexcept { return code_ == Code::kNotFound; }
  Code code() const noexcept { return code_; }
  const std::string& message() const noexcept { return message_; }

 private:
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}

  Code code_ = Code::kOk;
  std::string message_;
};

struct PrincipalRecord {
  std::string name;
  std::string password_hash;              // argon2id string, "" for none
  std::vector<std::string> subjects;      // configured extra subjects (not "basic:<name>")
  std::vector<std::string> iot_policies;  // names of attached IAM-style policies
};

// One row of a (key, document) table.
struct DocumentRecord {
  std::string key;
  std::string document;
};

class Store {
 public:
  static constexpr int kSchemaVersion = 1;
  static constexpr std::string_view kFileName = "switchboard.db";

  // Creates `data_dir` (and parents) if needed, opens or creates the database, applies the
  // pragmas and the schema. On failure *store is left null.
  static Status Open(const std::string& data_dir, std::unique_ptr<Store>* store);

  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // Principals. Put inserts or replaces; Delete returns NotFound when there was no row.
  Status PutPrincipal(const PrincipalRecord& record);
  Status GetPrincipal(std::string_view name, PrincipalRecord* record);
  Status DeletePrincipal(std::string_view name);
  // All rows, ordered by name.
  Status LoadAllPrincipals(std::vector<PrincipalRecord>* records);

  // IAM-style policy documents by name.
  Status PutIotPolicy(std::string_view name, std::string_view document);
  Status GetIotPolicy(std::string_view name, std::string* document);
  Status DeleteIotPolicy(std::string_view name);
  Status LoadAllIotPolicies(std::vector<DocumentRecord>* records);

  // Ditto policy documents by policy ID.
  Status PutDittoPolicy(std::string_view id, std::string_view document);
  Status GetDittoPolicy(std::string_view id, std::string* document);
  Status DeleteDittoPolicy(std::string_view id);
  Status LoadAllDittoPolicies(std::vector<DocumentRecord>* records);

  // Thing documents by Thing ID.
  Status PutThing(std::string_view id, std::string_view document);
  Status GetThing(std::string_view id, std::string* document);
  Status DeleteThing(std::string_view id);
  Status LoadAllThings(std::vector<DocumentRecord>* records);

  // Full path of the database file.
  const std::string& path() const noexcept { return path_; }

 private:
  enum class DocumentTable : std::uint8_t { kIotPolicies = 0, kDittoPolicies = 1, kThings = 2 };
  static constexpr int kDocumentTableCount = 3;

  // Prepared statements, compiled once at Open().
  struct DocumentStatements {
    sqlite3_stmt* put = nullptr;
    sqlite3_stmt* get = nullptr;
    sqlite3_stmt* erase = nullptr;
    sqlite3_stmt* load_all = nullptr;
  };

  Store(sqlite3* db, std::string path);
  Status Initialize();
  Status Prepare(const char* sql, sqlite3_stmt** statement);
  Status Exec(const char* sql);
  Status Error(std::string_view what) const;
  // Runs `statement` (bound by the caller) as one write transaction and resets it.
  // *changed (optional) receives the number of rows it changed.
  Status WriteTransaction(sqlite3_stmt* statement, int* changed);

  Status PutDocument(DocumentTable table, std::string_view key, std::string_view document);
  Status GetDocument(DocumentTable table, std::string_view key, std::string* document);
  Status DeleteDocument(DocumentTable table, std::string_view key);
  Status LoadAllDocuments(DocumentTable table, std::vector<DocumentRecord>* records);

  sqlite3* db_ = nullptr;
  std::string path_;
  sqlite3_stmt* begin_ = nullptr;
  sqlite3_stmt* commit_ = nullptr;
  sqlite3_stmt* rollback_ = nullptr;
  sqlite3_stmt* put_principal_ = nullptr;
  sqlite3_stmt* get_principal_ = nullptr;
  sqlite3_stmt* delete_principal_ = nullptr;
  sqlite3_stmt* load_principals_ = nullptr;
  DocumentStatements documents_[kDocumentTableCount];
};

// Appends `text` to *out as a JSON string literal (quotes included). Control characters,
// quotes and backslashes are escaped; bytes that are not valid UTF-8 become U+FFFD, so the
// output is always valid JSON even for untrusted input. Shared by the store's JSON columns
// and the admin API's response bodies.
void AppendJsonString(std::string* out, std::string_view text);

}  // namespace sb::control
