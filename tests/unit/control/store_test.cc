#include "engine/store.h"

#include <gtest/gtest.h>
#include <simdjson.h>
#include <sqlite3.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "tests/unit/control/temp_dir.h"

namespace sb::control {
namespace {

using testing::TempDir;

std::unique_ptr<Store> OpenOrDie(const std::string& dir) {
  std::unique_ptr<Store> store;
  const Status status = Store::Open(dir, &store);
  EXPECT_TRUE(status.ok()) << status.message();
  return store;
}

// Runs one single-value query on the database file with a plain SQLite connection.
std::string QueryText(const std::string& path, const char* sql) {
  sqlite3* db = nullptr;
  std::string result = "<error>";
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) == SQLITE_OK) {
    sqlite3_stmt* statement = nullptr;
    if (sqlite3_prepare_v2(db, sql, -1, &statement, nullptr) == SQLITE_OK &&
        sqlite3_step(statement) == SQLITE_ROW) {
      const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(statement, 0));
      result = text ? text : "";
    }
    sqlite3_finalize(statement);
  }
  sqlite3_close_v2(db);
  return result;
}

TEST(StoreTest, CreatesNestedDataDirectoryAndDatabaseFile) {
  TempDir temp;
  const std::string dir = temp.Sub("a/b/c");
  auto store = OpenOrDie(dir);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->path(), dir + "/switchboard.db");
  EXPECT_TRUE(std::filesystem::exists(store->path()));
}

TEST(StoreTest, EmptyDataDirIsAnError) {
  std::unique_ptr<Store> store;
  const Status status = Store::Open("", &store);
  EXPECT_FALSE(status.ok());
  EXPECT_EQ(store, nullptr);
}

TEST(StoreTest, UnwritableDataDirIsAnErrorNotACrash) {
  TempDir temp;
  // A regular file where the directory should be.
  const std::string file = temp.Sub("file");
  { std::unique_ptr<std::FILE, int (*)(std::FILE*)> f(std::fopen(file.c_str(), "w"), std::fclose); }
  std::unique_ptr<Store> store;
  const Status status = Store::Open(file + "/data", &store);
  EXPECT_FALSE(status.ok());
  EXPECT_EQ(status.code(), Status::Code::kIoError);
  EXPECT_FALSE(status.message().empty());
}

TEST(StoreTest, PrincipalRoundTrip) {
  TempDir temp;
  auto store = OpenOrDie(temp.path());
  PrincipalRecord alice{"alice", "$argon2id$hash", {"google:alice", "x\"y"}, {"p1", "p2"}};
  ASSERT_TRUE(store->PutPrincipal(alice).ok());

  PrincipalRecord read;
  ASSERT_TRUE(store->GetPrincipal("alice", &read).ok());
  EXPECT_EQ(read.name, "alice");
  EXPECT_EQ(read.password_hash, "$argon2id$hash");
  EXPECT_EQ(read.subjects, alice.subjects);
  EXPECT_EQ(read.iot_policies, alice.iot_policies);

  // Put replaces.
  alice.subjects.clear();
  alice.iot_policies = {"p3"};
  ASSERT_TRUE(store->PutPrincipal(alice).ok());
  ASSERT_TRUE(store->GetPrincipal("alice", &read).ok());
  EXPECT_TRUE(read.subjects.empty());
  EXPECT_EQ(read.iot_policies, std::vector<std::string>{"p3"});

  ASSERT_TRUE(store->PutPrincipal({"bob", "", {}, {}}).ok());
  std::vector<PrincipalRecord> all;
  ASSERT_TRUE(store->LoadAllPrincipals(&all).ok());
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].name, "alice");
  EXPECT_EQ(all[1].name, "bob");

  EXPECT_TRUE(store->DeletePrincipal("alice").ok());
  EXPECT_TRUE(store->DeletePrincipal("alice").IsNotFound());
  EXPECT_TRUE(store->GetPrincipal("alice", &read).IsNotFound());
  ASSERT_TRUE(store->LoadAllPrincipals(&all).ok());
  EXPECT_EQ(all.size(), 1u);
}

TEST(StoreTest, DocumentTablesRoundTripIndependently) {
  TempDir temp;
  auto store = OpenOrDie(temp.path());
  ASSERT_TRUE(store->PutIotPolicy("same", R"({"iot":1})").ok());
  ASSERT_TRUE(store->PutDittoPolicy("same", R"({"ditto":1})").ok());
  ASSERT_TRUE(store->PutThing("same", R"({"thing":1})").ok());

  std::string document;
  ASSERT_TRUE(store->GetIotPolicy("same", &document).ok());
  EXPECT_EQ(document, R"({"iot":1})");
  ASSERT_TRUE(store->GetDittoPolicy("same", &document).ok());
  EXPECT_EQ(document, R"({"ditto":1})");
  ASSERT_TRUE(store->GetThing("same", &document).ok());
  EXPECT_EQ(document, R"({"thing":1})");

  ASSERT_TRUE(store->PutThing("same", R"({"thing":2})").ok());
  ASSERT_TRUE(store->GetThing("same", &document).ok());
  EXPECT_EQ(document, R"({"thing":2})");

  EXPECT_TRUE(store->DeleteDittoPolicy("same").ok());
  EXPECT_TRUE(store->GetDittoPolicy("same", &document).IsNotFound());
  EXPECT_TRUE(store->GetIotPolicy("same", &document).ok());  // other tables untouched
  EXPECT_TRUE(store->DeleteDittoPolicy("same").IsNotFound());
  EXPECT_TRUE(store->DeleteIotPolicy("missing").IsNotFound());
  EXPECT_TRUE(store->DeleteThing("missing").IsNotFound());

  ASSERT_TRUE(store->PutThing("a:1", "{}").ok());
  std::vector<DocumentRecord> things;
  ASSERT_TRUE(store->LoadAllThings(&things).ok());
  ASSERT_EQ(things.size(), 2u);
  EXPECT_EQ(things[0].key, "a:1");
  EXPECT_EQ(things[1].key, "same");
}

TEST(StoreTest, KeysAndDocumentsAreBinarySafeText) {
  TempDir temp;
  auto store = OpenOrDie(temp.path());
  const std::string key = "ns:ünï'cödé\"; DROP TABLE things; --";
  const std::string document = std::string("{\"a\":\"") + "\xe2\x82\xac" + "\"}";
  ASSERT_TRUE(store->PutThing(key, document).ok());
  std::string read;
  ASSERT_TRUE(store->GetThing(key, &read).ok());
  EXPECT_EQ(read, document);
}

TEST(StoreTest, EverythingSurvivesCloseAndReopen) {
  TempDir temp;
  {
    auto store = OpenOrDie(temp.path());
    ASSERT_TRUE(store->PutPrincipal({"alice", "h", {"s"}, {"p"}}).ok());
    ASSERT_TRUE(store->PutIotPolicy("p", "doc-p").ok());
    ASSERT_TRUE(store->PutDittoPolicy("ns:pol", "doc-pol").ok());
    ASSERT_TRUE(store->PutThing("ns:thing", "doc-thing").ok());
    ASSERT_TRUE(store->PutThing("ns:gone", "doc-gone").ok());
    ASSERT_TRUE(store->DeleteThing("ns:gone").ok());
  }
  auto store = OpenOrDie(temp.path());
  std::vector<PrincipalRecord> principals;
  ASSERT_TRUE(store->LoadAllPrincipals(&principals).ok());
  ASSERT_EQ(principals.size(), 1u);
  EXPECT_EQ(principals[0].subjects, std::vector<std::string>{"s"});
  std::vector<DocumentRecord> records;
  ASSERT_TRUE(store->LoadAllIotPolicies(&records).ok());
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].document, "doc-p");
  ASSERT_TRUE(store->LoadAllDittoPolicies(&records).ok());
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].key, "ns:pol");
  ASSERT_TRUE(store->LoadAllThings(&records).ok());
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].key, "ns:thing");
}

TEST(StoreTest, UsesWalJournalAndRecordsSchemaVersion) {
  TempDir temp;
  std::string path;
  {
    auto store = OpenOrDie(temp.path());
    path = store->path();
    ASSERT_TRUE(store->PutThing("a:b", "{}").ok());
  }
  EXPECT_EQ(QueryText(path, "PRAGMA journal_mode"), "wal");
  EXPECT_EQ(QueryText(path, "PRAGMA user_version"), std::to_string(Store::kSchemaVersion));
}

TEST(StoreTest, SecondOpenOfTheSameDirectoryIsRefusedWhileTheFirstIsOpen) {
  TempDir temp;
  auto first = OpenOrDie(temp.path());
  ASSERT_TRUE(first->PutThing("a:b", "{}").ok());
  std::unique_ptr<Store> second;
  const Status status = Store::Open(temp.path(), &second);
  EXPECT_FALSE(status.ok());
  EXPECT_EQ(second, nullptr);
  // The first connection is unaffected.
  EXPECT_TRUE(first->PutThing("a:c", "{}").ok());
}

TEST(StoreTest, RefusesADatabaseFromANewerSchema) {
  TempDir temp;
  std::string path;
  { path = OpenOrDie(temp.path())->path(); }
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, "PRAGMA user_version=99", nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(db);
  }
  std::unique_ptr<Store> store;
  const Status status = Store::Open(temp.path(), &store);
  EXPECT_FALSE(status.ok());
  EXPECT_NE(status.message().find("99"), std::string::npos) << status.message();
}

TEST(StoreTest, CorruptJsonColumnIsReportedAsCorruption) {
  TempDir temp;
  std::string path;
  {
    auto store = OpenOrDie(temp.path());
    path = store->path();
    ASSERT_TRUE(store->PutPrincipal({"alice", "h", {}, {}}).ok());
  }
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    ASSERT_EQ(
        sqlite3_exec(db, "UPDATE principals SET subjects = '[1,2'", nullptr, nullptr, nullptr),
        SQLITE_OK);
    sqlite3_close(db);
  }
  auto store = OpenOrDie(temp.path());
  std::vector<PrincipalRecord> principals;
  const Status status = store->LoadAllPrincipals(&principals);
  EXPECT_EQ(status.code(), Status::Code::kCorruption);
  EXPECT_NE(status.message().find("alice"), std::string::npos);
  PrincipalRecord one;
  EXPECT_EQ(store->GetPrincipal("alice", &one).code(), Status::Code::kCorruption);
}

TEST(AppendJsonStringTest, EscapesAndAlwaysProducesValidJson) {
  std::string out;
  AppendJsonString(&out, "a\"b\\c\n\x01\x7f");
  EXPECT_EQ(out, R"("a\"b\\c\n\u0001\u007f")");

  out.clear();
  AppendJsonString(&out, "\xe2\x82\xac");  // valid UTF-8 is kept
  EXPECT_EQ(out, "\"\xe2\x82\xac\"");

  // Invalid UTF-8: lone continuation, truncated sequence, overlong, surrogate.
  for (const std::string& bad : {std::string("\x80"), std::string("\xe2\x82"),
                                 std::string("\xc0\xaf"), std::string("\xed\xa0\x80")}) {
    out.clear();
    AppendJsonString(&out, "x" + bad + "y");
    EXPECT_NE(out.find("\\ufffd"), std::string::npos) << out;
    simdjson::dom::parser parser;
    std::string_view parsed;
    EXPECT_EQ(parser.parse(out).get(parsed), simdjson::SUCCESS) << out;
  }
}

}  // namespace
}  // namespace sb::control
