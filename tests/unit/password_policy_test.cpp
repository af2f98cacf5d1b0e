#include "auth/password_policy.hpp"

#include <cstdio>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

namespace redoubt::auth {
namespace {

password_policy make_policy() {
  return password_policy(12, 64, {"Password1234", "qwertyuiop123", "123456789012"});
}

void expect_rejected(const password_policy& p, std::string_view pw, std::string_view user,
                     std::string_view message_part) {
  auto r = p.check(pw, user);
  ASSERT_FALSE(r.has_value()) << "accepted: " << pw;
  EXPECT_EQ(r.error().code, errc::invalid_argument);
  EXPECT_NE(r.error().message.find(message_part), std::string::npos) << r.error().message;
}

TEST(PasswordPolicy, AcceptsLongPassphraseWithoutCompositionRules) {
  const auto p = make_policy();
  EXPECT_TRUE(p.check("purple monkey dishwasher", "alice").has_value());
  EXPECT_TRUE(p.check("alllowercaseletters", "alice").has_value());
  EXPECT_TRUE(p.check("abcdefghijkz", "alice").has_value());  // exactly 12
}

TEST(PasswordPolicy, TooShort) {
  const auto p = make_policy();
  expect_rejected(p, "short pass", "alice", "at least 12 characters");
  expect_rejected(p, "abcdefghijk", "alice", "at least 12 characters");  // 11
  expect_rejected(p, "", "alice", "at least 12");
}

TEST(PasswordPolicy, TooLong) {
  const auto p = make_policy();
  EXPECT_TRUE(p.check(std::string(64, 'x'), "alice").has_value());
  expect_rejected(p, std::string(65, 'x'), "alice", "at most 64 characters");
}

TEST(PasswordPolicy, CountsCodePointsNotBytes) {
  const auto p = make_policy();
  // 12 code points, 24 bytes of UTF-8 (Cyrillic).
  const std::string cyr =
      "\xd0\xbf\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82\xd0\xbc\xd0\xb8\xd1"
      "\x80\xd0\xb4\xd1\x80\xd1\x83";
  ASSERT_EQ(cyr.size(), 24u);
  EXPECT_TRUE(p.check(cyr, "alice").has_value());
  // 11 code points but 44 bytes (emoji): still too short.
  std::string emoji;
  for (int i = 0; i < 11; ++i) emoji += "\xf0\x9f\x94\x91";
  expect_rejected(p, emoji, "alice", "at least 12");
  EXPECT_TRUE(p.check(emoji + "\xf0\x9f\x94\x91", "alice").has_value());
  // 64 code points of 3 bytes each are within a 64-character maximum.
  std::string cjk;
  for (int i = 0; i < 64; ++i) cjk += "\xe6\xbc\xa2";
  EXPECT_TRUE(p.check(cjk, "alice").has_value());
}

TEST(PasswordPolicy, InvalidUtf8) {
  const auto p = make_policy();
  expect_rejected(p, "abcdefghijkl\xff", "alice", "UTF-8");
  expect_rejected(p, "abcdefghijkl\xc3", "alice", "UTF-8");              // truncated
  expect_rejected(p, "abcdefghijkl\xc0\xaf", "alice", "UTF-8");          // overlong '/'
  expect_rejected(p, "abcdefghijkl\xed\xa0\x80", "alice", "UTF-8");      // surrogate
  expect_rejected(p, "abcdefghijkl\xf4\x90\x80\x80", "alice", "UTF-8");  // > U+10FFFF
}

TEST(PasswordPolicy, CommonPasswordsCaseInsensitive) {
  const auto p = make_policy();
  expect_rejected(p, "password1234", "alice", "common");
  expect_rejected(p, "PASSWORD1234", "alice", "common");
  expect_rejected(p, "QwertyUIOP123", "alice", "common");
  expect_rejected(p, "123456789012", "alice", "common");
  EXPECT_TRUE(p.check("password12345", "alice").has_value());
}

TEST(PasswordPolicy, ContainsUsername) {
  const auto p = make_policy();
  expect_rejected(p, "alicealicealice", "alice", "username");
  expect_rejected(p, "my name is ALICE ok", "Alice", "username");
  expect_rejected(p, "bobbybobbybob", "bobbybobbybob", "username");
  // Usernames under 3 characters are not checked: they would match by accident.
  EXPECT_TRUE(p.check("ab ab ab ab ab", "ab").has_value());
  EXPECT_TRUE(p.check("unrelated passphrase", "alice").has_value());
}

TEST(PasswordPolicy, BundledListLoads) {
  auto p = password_policy::load(12, 128, REDOUBT_SOURCE_DIR "/data/common-passwords.txt");
  ASSERT_TRUE(p.has_value()) << p.error().message;
  EXPECT_GE(p->common_count(), 500u);
  EXPECT_EQ(p->min_length(), 12u);
  EXPECT_EQ(p->max_length(), 128u);
  expect_rejected(*p, "password1234", "alice", "common");
  expect_rejected(*p, "Qwertyuiop123", "alice", "common");
  expect_rejected(*p, "123456789012", "alice", "common");
  expect_rejected(*p, "iloveyou1234", "alice", "common");
  expect_rejected(*p, "password", "alice", "at least 12");
  EXPECT_TRUE(p->check("tangerine bicycle orbit", "alice").has_value());
}

TEST(PasswordPolicy, LoadParsesCommentsAndBlankLines) {
  const std::string path = ::testing::TempDir() + "redoubt_common_passwords_test.txt";
  {
    std::ofstream out(path);
    out << "# comment line\n\nSecretSecret99\r\n  spaced entry here  \n";
  }
  auto p = password_policy::load(12, 64, path);
  std::remove(path.c_str());
  ASSERT_TRUE(p.has_value()) << p.error().message;
  EXPECT_EQ(p->common_count(), 2u);
  expect_rejected(*p, "secretsecret99", "alice", "common");
  expect_rejected(*p, "spaced entry here", "alice", "common");
  EXPECT_TRUE(p->check("# comment line", "alice").has_value());
}

TEST(PasswordPolicy, LoadFailures) {
  auto missing = password_policy::load(12, 64, "/nonexistent/redoubt/common.txt");
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code, errc::failed_precondition);
  EXPECT_NE(missing.error().message.find("/nonexistent/redoubt/common.txt"), std::string::npos);

  auto inverted = password_policy::load(20, 10, REDOUBT_SOURCE_DIR "/data/common-passwords.txt");
  ASSERT_FALSE(inverted.has_value());
  EXPECT_EQ(inverted.error().code, errc::invalid_argument);
}

}  // namespace
}  // namespace redoubt::auth
