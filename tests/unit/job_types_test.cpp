// Job types: names, and the payload of each type (encode/decode).
#include <gtest/gtest.h>

#include <map>

#include "queue/job_types.hpp"

namespace redoubt {
namespace {
using queue::job_type;

// The names are the outbox kinds and NATS subjects (jobs.<type>) already in use: fixed.
TEST(JobType, NamesAreTheWireNames) {
  const std::map<job_type, std::string_view> wire{
      {job_type::verify_email, "verify_email"},
      {job_type::password_reset, "password_reset"},
      {job_type::notify_unread, "notify_unread"},
      {job_type::retention, "retention"},
      {job_type::thumbnail, "thumbnail"},
      {job_type::scan_attachment, "scan_attachment"},
      {job_type::files_maintenance, "files_maintenance"},
      {job_type::signup_existing_email, "signup_existing_email"}};
  ASSERT_EQ(wire.size(), queue::all_job_types.size());
  for (auto [type, name] : wire) {
    EXPECT_EQ(to_string(type), name);
    EXPECT_EQ(queue::job_type_from_string(name), type);
  }
  EXPECT_FALSE(queue::job_type_from_string("launch_missiles"));
  EXPECT_FALSE(queue::job_type_from_string("Retention"));
}

TEST(JobType, PayloadsRoundTrip) {
  EXPECT_EQ(queue::encode_payload(queue::verify_email_payload{7}), R"({"user_id":7})");
  EXPECT_EQ(queue::encode_payload(queue::thumbnail_payload{5}), R"({"attachment_id":5})");
  EXPECT_EQ(queue::encode_payload(queue::retention_payload{}), "{}");
  auto user = queue::decode_payload<queue::notify_unread_payload>(R"({"user_id":7})");
  ASSERT_TRUE(user);
  EXPECT_EQ(user->user_id, 7);
  auto file =
      queue::decode_payload<queue::scan_attachment_payload>(R"({"attachment_id":5,"extra":true})");
  ASSERT_TRUE(file);
  EXPECT_EQ(file->attachment_id, 5);
  EXPECT_TRUE(queue::decode_payload<queue::files_maintenance_payload>("{}"));
}

TEST(JobType, BadPayloadsAreRefused) {
  // What the worker dead-letters as bad_payload: ids must be JSON integers > 0.
  for (const char* bad : {R"({})", R"({"user_id":0})", R"({"user_id":-1})", R"({"user_id":"7"})",
                          R"({"user_id":7.5})", R"({"user_id":null})", "[]", "", "{"})
    EXPECT_FALSE(queue::decode_payload<queue::password_reset_payload>(bad)) << bad;
  EXPECT_FALSE(queue::decode_payload<queue::thumbnail_payload>(R"({"user_id":7})"));
  EXPECT_FALSE(queue::decode_payload<queue::retention_payload>("[]"));
}

}  // namespace
}  // namespace redoubt
