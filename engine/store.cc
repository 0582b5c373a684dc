#include "engine/store.h"

#include <simdjson.h>
#include <sqlite3.h>

#include <filesystem>
#include <system_error>
#include <utility>

namespace sb::control {
namespace {

constexpr std::string_view kSchema[] = {
    "CREATE TABLE IF NOT EXISTS principals ("
    " name TEXT PRIMARY KEY NOT NULL,"
    " password_hash TEXT NOT NULL,"
    " subjects TEXT NOT NULL,"     // JSON array of strings
    " iot_policies TEXT NOT NULL"  // JSON array of strings
    ") WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS iot_policies ("
    " name TEXT PRIMARY KEY NOT NULL, document TEXT NOT NULL) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS ditto_policies ("
    " id TEXT PRIMARY KEY NOT NULL, document TEXT NOT NULL) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS things ("
    " id TEXT PRIMARY KEY NOT NULL, document TEXT NOT NULL) WITHOUT ROWID",
};

// Table and key column per DocumentTable, in enum order.
constexpr const char* kDocumentSql[3][4] = {
    {"INSERT INTO iot_policies(name, document) VALUES(?1, ?2)"
     " ON CONFLICT(name) DO UPDATE SET document = excluded.document",
     "SELECT document FROM iot_policies WHERE name = ?1",
     "DELETE FROM iot_policies WHERE name = ?1",
     "SELECT name, document FROM iot_policies ORDER BY name"},
    {"INSERT INTO ditto_policies(id, document) VALUES(?1, ?2)"
     " ON CONFLICT(id) DO UPDATE SET document = excluded.document",
     "SELECT document FROM ditto_policies WHERE id = ?1",
     "DELETE FROM ditto_policies WHERE id = ?1",
     "SELECT id, document FROM ditto_policies ORDER BY id"},
    {"INSERT INTO things(id, document) VALUES(?1, ?2)"
     " ON CONFLICT(id) DO UPDATE SET document = excluded.document",
     "SELECT document FROM things WHERE id = ?1", "DELETE FROM things WHERE id = ?1",
     "SELECT id, document FROM things ORDER BY id"},
};

// Resets a statement and clears its bindings when the scope ends, whatever the outcome.
class StatementReset {
 public:
  explicit StatementReset(sqlite3_stmt* statement) : statement_(statement) {}
  ~StatementReset() {
    sqlite3_reset(statement_);
    sqlite3_clear_bindings(statement_);
  }
  StatementReset(const StatementReset&) = delete;
  StatementReset& operator=(const StatementReset&) = delete;

 private:
  sqlite3_stmt* statement_;
};

bool BindText(sqlite3_stmt* statement, int index, std::string_view text) {
  // SQLITE_TRANSIENT: SQLite copies, so the caller's buffer need not outlive the step.
  return sqlite3_bind_text64(statement, index, text.data(), text.size(), SQLITE_TRANSIENT,
                             SQLITE_UTF8) == SQLITE_OK;
}

std::string ColumnText(sqlite3_stmt* statement, int column) {
  const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(statement, column));
  const int bytes = sqlite3_column_bytes(statement, column);
  return text == nullptr ? std::string() : std::string(text, static_cast<size_t>(bytes));
}

std::string EncodeStringArray(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i != 0) out += ',';
    AppendJsonString(&out, items[i]);
  }
  out += ']';
  return out;
}

bool DecodeStringArray(std::string_view json, std::vector<std::string>* items) {
  simdjson::dom::parser parser;
  simdjson::dom::array array;
  if (parser.parse(json.data(), json.size(), /*realloc_if_needed=*/true).get(array) !=
      simdjson::SUCCESS) {
    return false;
  }
  items->clear();
  for (simdjson::dom::element element : array) {
    std::string_view item;
    if (element.get(item) != simdjson::SUCCESS) return false;
    items->emplace_back(item);
  }
  return true;
}

// Length of the valid UTF-8 sequence at the start of `text`, or 0 if it is not one
// (overlong forms, surrogates and code points above U+10FFFF are invalid).
size_t ValidUtf8SequenceLength(std::string_view text) {
  const auto byte = [&](size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char lead = byte(0);
  size_t length;
  unsigned char min_second = 0x80, max_second = 0xBF;
  if (lead < 0x80) return 1;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) min_second = 0xA0;  // overlong
    if (lead == 0xED) max_second = 0x9F;  // surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) min_second = 0x90;  // overlong
    if (lead == 0xF4) max_second = 0x8F;  // above U+10FFFF
  } else {
    return 0;
  }
  if (text.size() < length) return 0;
  if (byte(1) < min_second || byte(1) > max_second) return 0;
  for (size_t i = 2; i < length; ++i) {
    if (byte(i) < 0x80 || byte(i) > 0xBF) return 0;
  }
  return length;
}

}  // namespace

void AppendJsonString(std::string* out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->reserve(out->size() + text.size() + 2);
  out->push_back('"');
  size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x80) {
      const size_t length = ValidUtf8SequenceLength(text.substr(i));
      if (length == 0) {
        out->append("\\ufffd");
        ++i;
      } else {
        out->append(text.substr(i, length));
        i += length;
      }
      continue;
    }
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      case '\b':
        out->append("\\b");
        break;
      case '\f':
        out->append("\\f");
        break;
      default:
        if (c < 0x20 || c == 0x7F) {
          out->append("\\u00");
          out->push_back(kHex[c >> 4]);
          out->push_back(kHex[c & 0xF]);
        } else {
          out->push_back(static_cast<char>(c));
        }
    }
    ++i;
  }
  out->push_back('"');
}

Store::Store(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}

Store::~Store() {
  for (sqlite3_stmt* statement : {begin_, commit_, rollback_, put_principal_, get_principal_,
                                  delete_principal_, load_principals_}) {
    sqlite3_finalize(statement);  // no-op on nullptr
  }
  for (const DocumentStatements& statements : documents_) {
    sqlite3_finalize(statements.put);
    sqlite3_finalize(statements.get);
    sqlite3_finalize(statements.erase);
    sqlite3_finalize(statements.load_all);
  }
  sqlite3_close_v2(db_);
}

Status Store::Open(const std::string& data_dir, std::unique_ptr<Store>* store) {
  store->reset();
  if (data_dir.empty()) return Status::IoError("no data directory configured");
  std::error_code error;
  std::filesystem::create_directories(data_dir, error);
  if (error) {
    return Status::IoError("cannot create data directory " + data_dir + ": " + error.message());
  }
  std::string path = (std::filesystem::path(data_dir) / std::string(kFileName)).string();
  sqlite3* db = nullptr;
  // NOMUTEX: the store belongs to one thread (the control plane's).
  const int rc = sqlite3_open_v2(
      path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string message =
        "cannot open " + path + ": " + (db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
    sqlite3_close_v2(db);
    return Status::IoError(std::move(message));
  }
  std::unique_ptr<Store> opened(new Store(db, std::move(path)));
  if (Status status = opened->Initialize(); !status.ok()) return status;
  *store = std::move(opened);
  return Status::Ok();
}

Status Store::Error(std::string_view what) const {
  return Status::IoError(std::string(what) + " (" + path_ + "): " + sqlite3_errmsg(db_));
}

Status Store::Exec(const char* sql) {
  char* message = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &message) != SQLITE_OK) {
    std::string text = std::string(sql) + ": " + (message != nullptr ? message : "failed");
    sqlite3_free(message);
    return Status::IoError(text + " (" + path_ + ")");
  }
  return Status::Ok();
}

Status Store::Prepare(const char* sql, sqlite3_stmt** statement) {
  if (sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, statement, nullptr) !=
      SQLITE_OK) {
    return Error(std::string("prepare ") + sql);
  }
  return Status::Ok();
}

Status Store::Initialize() {
  // Short: with the exclusive lock, a busy database means another server owns it, and
  // waiting longer would not change that; it only absorbs a brief reader such as a backup.
  sqlite3_busy_timeout(db_, 500);
  // Exclusive locking first: it decides how WAL keeps its index (heap, not shared memory).
  if (Status s = Exec("PRAGMA locking_mode=EXCLUSIVE"); !s.ok()) return s;
  {
    sqlite3_stmt* journal = nullptr;
    if (Status s = Prepare("PRAGMA journal_mode=WAL", &journal); !s.ok()) return s;
    const int rc = sqlite3_step(journal);
    const std::string mode = rc == SQLITE_ROW ? ColumnText(journal, 0) : std::string();
    sqlite3_finalize(journal);
    if (rc != SQLITE_ROW) return Error("PRAGMA journal_mode=WAL");
    if (mode != "wal") {
      return Status::IoError("cannot switch " + path_ + " to WAL mode (journal_mode is " + mode +
                             ")");
    }
  }
  if (Status s = Exec("PRAGMA synchronous=FULL"); !s.ok()) return s;

  int version = 0;
  {
    sqlite3_stmt* user_version = nullptr;
    if (Status s = Prepare("PRAGMA user_version", &user_version); !s.ok()) return s;
    const int rc = sqlite3_step(user_version);
    if (rc == SQLITE_ROW) version = sqlite3_column_int(user_version, 0);
    sqlite3_finalize(user_version);
    if (rc != SQLITE_ROW) return Error("PRAGMA user_version");
  }
  if (version > kSchemaVersion) {
    return Status::IoError(path_ + " has schema version " + std::to_string(version) +
                           ", newer than this binary understands (" +
                           std::to_string(kSchemaVersion) + ")");
  }
  if (version < kSchemaVersion) {
    // Version 0 is a fresh file; later migrations go here, each step in this transaction.
    if (Status s = Exec("BEGIN IMMEDIATE"); !s.ok()) return s;
    for (std::string_view statement : kSchema) {
      if (Status s = Exec(std::string(statement).c_str()); !s.ok()) {
        Exec("ROLLBACK").ok();
        return s;
      }
    }
    const std::string set_version = "PRAGMA user_version=" + std::to_string(kSchemaVersion);
    if (Status s = Exec(set_version.c_str()); !s.ok()) {
      Exec("ROLLBACK").ok();
      return s;
    }
    if (Status s = Exec("COMMIT"); !s.ok()) {
      Exec("ROLLBACK").ok();
      return s;
    }
  }

  struct {
    const char* sql;
    sqlite3_stmt** statement;
  } const statements[] = {
      {"BEGIN IMMEDIATE", &begin_},
      {"COMMIT", &commit_},
      {"ROLLBACK", &rollback_},
      {"INSERT INTO principals(name, password_hash, subjects, iot_policies)"
       " VALUES(?1, ?2, ?3, ?4) ON CONFLICT(name) DO UPDATE SET"
       " password_hash = excluded.password_hash, subjects = excluded.subjects,"
       " iot_policies = excluded.iot_policies",
       &put_principal_},
      {"SELECT name, password_hash, subjects, iot_policies FROM principals WHERE name = ?1",
       &get_principal_},
      {"DELETE FROM principals WHERE name = ?1", &delete_principal_},
      {"SELECT name, password_hash, subjects, iot_policies FROM principals ORDER BY name",
       &load_principals_},
  };
  for (const auto& [sql, statement] : statements) {
    if (Status s = Prepare(sql, statement); !s.ok()) return s;
  }
  for (int table = 0; table < kDocumentTableCount; ++table) {
    DocumentStatements& d = documents_[table];
    for (auto [sql, statement] :
         {std::pair{kDocumentSql[table][0], &d.put}, std::pair{kDocumentSql[table][1], &d.get},
          std::pair{kDocumentSql[table][2], &d.erase},
          std::pair{kDocumentSql[table][3], &d.load_all}}) {
      if (Status s = Prepare(sql, statement); !s.ok()) return s;
    }
  }
  return Status::Ok();
}

Status Store::WriteTransaction(sqlite3_stmt* statement, int* changed) {
  StatementReset reset_statement(statement);
  {
    StatementReset reset_begin(begin_);
    if (sqlite3_step(begin_) != SQLITE_DONE) return Error("BEGIN");
  }
  if (sqlite3_step(statement) != SQLITE_DONE) {
    Status status = Error("write");
    StatementReset reset_rollback(rollback_);
    sqlite3_step(rollback_);
    return status;
  }
  if (changed != nullptr) *changed = sqlite3_changes(db_);
  StatementReset reset_commit(commit_);
  if (sqlite3_step(commit_) != SQLITE_DONE) {
    // A failed COMMIT may leave the transaction open (e.g. SQLITE_BUSY); never keep it.
    Status status = Error("COMMIT");
    if (sqlite3_get_autocommit(db_) == 0) {
      StatementReset reset_rollback(rollback_);
      sqlite3_step(rollback_);
    }
    return status;
  }
  return Status::Ok();
}

Status Store::PutPrincipal(const PrincipalRecord& record) {
  const std::string subjects = EncodeStringArray(record.subjects);
  const std::string iot_policies = EncodeStringArray(record.iot_policies);
  if (!BindText(put_principal_, 1, record.name) ||
      !BindText(put_principal_, 2, record.password_hash) ||
      !BindText(put_principal_, 3, subjects) || !BindText(put_principal_, 4, iot_policies)) {
    Status status = Error("bind principal");
    sqlite3_clear_bindings(put_principal_);
    return status;
  }
  return WriteTransaction(put_principal_, nullptr);
}

namespace {
Status ReadPrincipalRow(sqlite3_stmt* statement, PrincipalRecord* record) {
  record->name = ColumnText(statement, 0);
  record->password_hash = ColumnText(statement, 1);
  if (!DecodeStringArray(ColumnText(statement, 2), &record->subjects)) {
    return Status::Corruption("principal " + record->name +
                              ": subjects is not a JSON array of strings");
  }
  if (!DecodeStringArray(ColumnText(statement, 3), &record->iot_policies)) {
    return Status::Corruption("principal " + record->name +
                              ": iot_policies is not a JSON array of strings");
  }
  return Status::Ok();
}
}  // namespace

Status Store::GetPrincipal(std::string_view name, PrincipalRecord* record) {
  StatementReset reset(get_principal_);
  if (!BindText(get_principal_, 1, name)) return Error("bind principal name");
  const int rc = sqlite3_step(get_principal_);
  if (rc == SQLITE_DONE) return Status::NotFound("no principal " + std::string(name));
  if (rc != SQLITE_ROW) return Error("read principal");
  return ReadPrincipalRow(get_principal_, record);
}

Status Store::DeletePrincipal(std::string_view name) {
  if (!BindText(delete_principal_, 1, name)) {
    Status status = Error("bind principal name");
    sqlite3_clear_bindings(delete_principal_);
    return status;
  }
  int changed = 0;
  if (Status s = WriteTransaction(delete_principal_, &changed); !s.ok()) return s;
  if (changed == 0) return Status::NotFound("no principal " + std::string(name));
  return Status::Ok();
}

Status Store::LoadAllPrincipals(std::vector<PrincipalRecord>* records) {
  StatementReset reset(load_principals_);
  records->clear();
  for (;;) {
    const int rc = sqlite3_step(load_principals_);
    if (rc == SQLITE_DONE) return Status::Ok();
    if (rc != SQLITE_ROW) return Error("load principals");
    PrincipalRecord record;
    if (Status s = ReadPrincipalRow(load_principals_, &record); !s.ok()) return s;
    records->push_back(std::move(record));
  }
}

Status Store::PutDocument(DocumentTable table, std::string_view key, std::string_view document) {
  sqlite3_stmt* put = documents_[static_cast<int>(table)].put;
  if (!BindText(put, 1, key) || !BindText(put, 2, document)) {
    Status status = Error("bind document");
    sqlite3_clear_bindings(put);
    return status;
  }
  return WriteTransaction(put, nullptr);
}

Status Store::GetDocument(DocumentTable table, std::string_view key, std::string* document) {
  sqlite3_stmt* get = documents_[static_cast<int>(table)].get;
  StatementReset reset(get);
  if (!BindText(get, 1, key)) return Error("bind key");
  const int rc = sqlite3_step(get);
  if (rc == SQLITE_DONE) return Status::NotFound("no document " + std::string(key));
  if (rc != SQLITE_ROW) return Error("read document");
  *document = ColumnText(get, 0);
  return Status::Ok();
}

Status Store::DeleteDocument(DocumentTable table, std::string_view key) {
  sqlite3_stmt* erase = documents_[static_cast<int>(table)].erase;
  if (!BindText(erase, 1, key)) {
    Status status = Error("bind key");
    sqlite3_clear_bindings(erase);
    return status;
  }
  int changed = 0;
  if (Status s = WriteTransaction(erase, &changed); !s.ok()) return s;
  if (changed == 0) return Status::NotFound("no document " + std::string(key));
  return Status::Ok();
}

Status Store::LoadAllDocuments(DocumentTable table, std::vector<DocumentRecord>* records) {
  sqlite3_stmt* load = documents_[static_cast<int>(table)].load_all;
  StatementReset reset(load);
  records->clear();
  for (;;) {
    const int rc = sqlite3_step(load);
    if (rc == SQLITE_DONE) return Status::Ok();
    if (rc != SQLITE_ROW) return Error("load documents");
    records->push_back(DocumentRecord{ColumnText(load, 0), ColumnText(load, 1)});
  }
}

Status Store::PutIotPolicy(std::string_view name, std::string_view document) {
  return PutDocument(DocumentTable::kIotPolicies, name, document);
}
Status Store::GetIotPolicy(std::string_view name, std::string* document) {
  return GetDocument(DocumentTable::kIotPolicies, name, document);
}
Status Store::DeleteIotPolicy(std::string_view name) {
  return DeleteDocument(DocumentTable::kIotPolicies, name);
}
Status Store::LoadAllIotPolicies(std::vector<DocumentRecord>* records) {
  return LoadAllDocuments(DocumentTable::kIotPolicies, records);
}

Status Store::PutDittoPolicy(std::string_view id, std::string_view document) {
  return PutDocument(DocumentTable::kDittoPolicies, id, document);
}
Status Store::GetDittoPolicy(std::string_view id, std::string* document) {
  return GetDocument(DocumentTable::kDittoPolicies, id, document);
}
Status Store::DeleteDittoPolicy(std::string_view id) {
  return DeleteDocument(DocumentTable::kDittoPolicies, id);
}
Status Store::LoadAllDittoPolicies(std::vector<DocumentRecord>* records) {
  return LoadAllDocuments(DocumentTable::kDittoPolicies, records);
}

Status Store::PutThing(std::string_view id, std::string_view document) {
  return PutDocument(DocumentTable::kThings, id, document);
}
Status Store::GetThing(std::string_view id, std::string* document) {
  return GetDocument(DocumentTable::kThings, id, document);
}
Status Store::DeleteThing(std::string_view id) {
  return DeleteDocument(DocumentTable::kThings, id);
}
Status Store::LoadAllThings(std::vector<DocumentRecord>* records) {
  return LoadAllDocuments(DocumentTable::kThings, records);
}

}  // namespace sb::control
