#include "policy/password.h"

#include <gtest/gtest.h>

#include <string>

namespace sb::policy {
namespace {

TEST(Password, HashVerifiesOnlyTheSamePassword) {
  const std::string stored = HashPassword("correct horse battery staple");
  ASSERT_FALSE(stored.empty());
  EXPECT_EQ(stored.rfind("$argon2id$", 0), 0u) << stored;
  EXPECT_EQ(stored.find("correct"), std::string::npos);  // never in clear
  EXPECT_TRUE(VerifyPassword(stored, "correct horse battery staple"));
  EXPECT_FALSE(VerifyPassword(stored, "correct horse battery stapl"));
  EXPECT_FALSE(VerifyPassword(stored, ""));
  EXPECT_FALSE(PasswordNeedsRehash(stored));
}

TEST(Password, SaltMakesEveryHashDifferent) {
  const std::string first = HashPassword("pw");
  const std::string second = HashPassword("pw");
  ASSERT_FALSE(first.empty());
  EXPECT_NE(first, second);
  EXPECT_TRUE(VerifyPassword(first, "pw"));
  EXPECT_TRUE(VerifyPassword(second, "pw"));
}

TEST(Password, BinaryPasswordsAreHashedWhole) {
  const std::string password("a\0b", 3);
  const std::string stored = HashPassword(password);
  ASSERT_FALSE(stored.empty());
  EXPECT_TRUE(VerifyPassword(stored, password));
  EXPECT_FALSE(VerifyPassword(stored, "a"));
}

TEST(Password, MalformedStoredFormsNeverVerify) {
  EXPECT_FALSE(VerifyPassword("", "pw"));
  EXPECT_FALSE(VerifyPassword("pw", "pw"));
  EXPECT_FALSE(VerifyPassword("$argon2id$v=19$m=65536,t=2,p=1$garbage", "pw"));
  EXPECT_FALSE(VerifyPassword(std::string(1000, '$'), "pw"));
  EXPECT_FALSE(VerifyPassword(std::string("$argon2id\0$", 11), "pw"));
  EXPECT_TRUE(PasswordNeedsRehash(""));
}

}  // namespace
}  // namespace sb::policy
