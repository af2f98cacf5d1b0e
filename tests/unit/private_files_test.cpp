// Config, key and secret files are trusted only when nobody else can read or change them:
// owner-only mode, owned by the process's user (or root), a regular file.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "kit/config_reader.hpp"

namespace redoubt::kit {
namespace {

class PrivateFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/redoubt-private-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/secret";
    std::ofstream(path_) << "s3cret-value\n";
    ASSERT_EQ(::chmod(path_.c_str(), 0600), 0);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_, path_;
};

TEST_F(PrivateFiles, OwnerOnlyFileOfThisUserIsRead) {
  auto s = read_secret_file(path_);
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->reveal(), "s3cret-value");
}

TEST_F(PrivateFiles, GroupOrOtherBitsAreRefused) {
  for (mode_t m : {0640, 0604, 0660, 0606}) {
    ASSERT_EQ(::chmod(path_.c_str(), m), 0);
    auto s = read_secret_file(path_);
    ASSERT_FALSE(s) << std::oct << m;
    EXPECT_NE(s.error().message.find("accessible by group or others"), std::string::npos);
    EXPECT_EQ(s.error().message.find("s3cret"), std::string::npos) << "the secret is not echoed";
  }
}

TEST_F(PrivateFiles, FileOwnedByAnotherAccountIsRefused) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to give the file to another account";
  ASSERT_EQ(::chown(path_.c_str(), 65534, 65534), 0);  // nobody
  auto s = read_secret_file(path_);
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message.find("owned by uid 65534"), std::string::npos) << s.error().message;
  auto toml = parse_private_toml(path_);
  EXPECT_FALSE(toml) << "configs are checked the same way";
}

TEST_F(PrivateFiles, DirectoriesAndMissingFilesAreRefused) {
  EXPECT_FALSE(read_secret_file(dir_));
  EXPECT_FALSE(read_secret_file(dir_ + "/missing"));
}

}  // namespace
}  // namespace redoubt::kit
