// libFuzzer target: the worker's job envelope verifier (queue::open). Every input is opened
// twice: once as it comes (random signature: must be refused before any parsing), and once
// signed with a test key, so that the JSON/schema checks behind the signature are reached with
// arbitrary bytes. Invariants: never crashes; accepts only what seal() could have produced.
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "crypto/crypto.hpp"
#include "queue/envelope.hpp"

namespace {
namespace queue = redoubt::queue;
namespace crypto = redoubt::crypto;

void check(bool ok) {
  if (!ok) __builtin_trap();
}

struct fixture {
  crypto::signing_keypair kp = crypto::generate_signing_keypair();
  std::string key_id = queue::signing_key_id(kp.public_key);
  std::map<std::string, std::string> trusted{{key_id, kp.public_key}};
};

constexpr std::int64_t now = 1'800'000'000;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static fixture f;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  // As received from a hostile broker: a signature made of input bytes.
  std::string forged_sig = crypto::to_hex(in.substr(0, 64));
  auto forged = queue::open(in, f.key_id, forged_sig, f.trusted, now);
  check(!forged.ok);
  // Signed by the trusted key: parsing and schema checks see arbitrary bytes.
  std::string sig = crypto::to_hex(crypto::sign_detached(f.kp.secret_key, std::string("redoubt-job-v1") + '\0' +
                                                                             std::string(in)));
  auto opened = queue::open(in, f.key_id, sig, f.trusted, now);
  if (opened.ok) {
    // Whatever opens must survive a round trip through seal() with the same fields.
    auto resealed = queue::seal(opened.job, f.kp.secret_key, f.kp.public_key);
    check(resealed.has_value());
    auto again = queue::open(resealed->data, resealed->key_id, resealed->signature, f.trusted, now);
    check(again.ok && again.job.id == opened.job.id && again.job.type == opened.job.type &&
          again.job.payload_json == opened.job.payload_json && again.job.expires_at == opened.job.expires_at);
    check(opened.job.expires_at > now && size <= queue::max_envelope_bytes);
  }
  return 0;
}
