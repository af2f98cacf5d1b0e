// What crosses the broker between server nodes is sealed with the cluster key, which the
// broker does not hold: whoever reads the broker's traffic or holds the server's NATS password
// sees ciphertext, and cannot forge, alter, move to another subject or replay a frame.
//
// Sealed frame: "r1." <key id: 8 hex> "." nonce || ciphertext || tag (crypto::aead_seal).
// Associated data: "redoubt-bus-1\n" <subject> "\n" <key id>. Plaintext:
// <node> "\n" <unix ms> "\n" <counter> "\n" <body>. A frame is refused when its key is unknown,
// it does not open, it is older or newer than max_age, or its (node, counter) was seen.
//
// Keys: the key file holds one or more lines of 64 hex characters (32 bytes); the first seals,
// all open. To rotate: add the new key as a second line on every node, restart them, move it
// to the first line everywhere, restart, then remove the old one.
//
// Thread-safe.
#pragma once

#include <array>
#include <atomic>
#include <bitset>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/errc.hpp"
#include "base/secret.hpp"

namespace redoubt::queue {

struct cluster_key {
  std::string id;  // first 8 hex characters of SHA-256(key): names the key, reveals nothing
  secret_string key;
};

// Parses the key file's text; invalid_argument for anything but lines of 64 hex characters
// (blank lines and '#' comments aside), or no key at all.
result<std::vector<cluster_key>> parse_cluster_keys(std::string_view text);

enum class bus_refusal { malformed, unknown_key, forged, stale, replayed };
std::string_view to_string(bus_refusal r) noexcept;

struct opened_frame {
  std::string node;
  std::string body;
};

class bus_sealer {
 public:
  using clock = std::chrono::system_clock;

  bus_sealer(std::vector<cluster_key> keys, std::string node, std::chrono::seconds max_age = std::chrono::seconds(30));

  std::string seal(std::string_view subject, std::string_view body, clock::time_point now = clock::now());
  // The sender's node and the body, or why the frame is refused.
  boost::system::result<opened_frame, bus_refusal> open(std::string_view subject, std::string_view sealed,
                                                        clock::time_point now = clock::now());

  const std::string& node() const noexcept { return node_; }

 private:
  // Counters seen from one node: the highest, and which of the window below it.
  struct replay_window {
    std::uint64_t highest = 0;
    std::bitset<1024> seen;  // bit i: highest - i
    clock::time_point last_seen;
  };
  bool first_sight(const std::string& node, std::uint64_t counter, clock::time_point now);

  std::vector<cluster_key> keys_;
  std::string node_;
  std::chrono::seconds max_age_;
  std::atomic<std::uint64_t> counter_{0};
  std::mutex mu_;
  std::unordered_map<std::string, replay_window> windows_;
  clock::time_point last_prune_{};
};

}  // namespace redoubt::queue
