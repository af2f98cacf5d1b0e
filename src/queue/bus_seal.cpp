#include "queue/bus_seal.hpp"

#include <charconv>

#include "crypto/aead.hpp"
#include "crypto/crypto.hpp"

namespace redoubt::queue {

namespace {

constexpr std::string_view prefix = "r1.";
constexpr std::size_t key_id_chars = 8;

std::string associated_data(std::string_view subject, std::string_view key_id) {
  std::string ad = "redoubt-bus-1\n";
  ad += subject;
  ad += '\n';
  ad += key_id;
  return ad;
}

// Takes the next '\n'-terminated field off `data`.
std::optional<std::string_view> field(std::string_view& data) {
  auto nl = data.find('\n');
  if (nl == std::string_view::npos) return std::nullopt;
  auto f = data.substr(0, nl);
  data.remove_prefix(nl + 1);
  return f;
}

template <class T>
std::optional<T> number(std::optional<std::string_view> text) {
  if (!text) return std::nullopt;
  T v{};
  auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), v);
  if (ec != std::errc{} || end != text->data() + text->size()) return std::nullopt;
  return v;
}

std::string_view trimmed(std::string_view line) {
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) line.remove_suffix(1);
  while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
  return line;
}

}  // namespace

result<std::vector<cluster_key>> parse_cluster_keys(std::string_view text) {
  std::vector<cluster_key> keys;
  while (!text.empty()) {
    auto nl = text.find('\n');
    auto line = trimmed(text.substr(0, nl));
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    if (line.empty() || line.front() == '#') continue;
    auto raw = line.size() == 2 * crypto::aead_key_bytes ? crypto::from_hex(line) : result<std::string>(error{});
    if (!raw) return make_error(errc::invalid_argument, "cluster key file: each key is 64 hex characters on its own line");
    keys.push_back(cluster_key{crypto::sha256_hex(*raw).substr(0, key_id_chars), secret_string(std::move(*raw))});
  }
  if (keys.empty()) return make_error(errc::invalid_argument, "cluster key file holds no key");
  return keys;
}

std::string_view to_string(bus_refusal r) noexcept {
  switch (r) {
    case bus_refusal::malformed: return "malformed";
    case bus_refusal::unknown_key: return "unknown_key";
    case bus_refusal::forged: return "forged";
    case bus_refusal::stale: return "stale";
    case bus_refusal::replayed: return "replayed";
  }
  return "malformed";
}

bus_sealer::bus_sealer(std::vector<cluster_key> keys, std::string node, std::chrono::seconds max_age)
    : keys_(std::move(keys)), node_(std::move(node)), max_age_(max_age) {}

std::string bus_sealer::seal(std::string_view subject, std::string_view body, clock::time_point now) {
  const auto& key = keys_.front();
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  std::string plain;
  plain.reserve(node_.size() + body.size() + 48);
  plain += node_;
  plain += '\n';
  plain += std::to_string(ms);
  plain += '\n';
  plain += std::to_string(counter_.fetch_add(1) + 1);
  plain += '\n';
  plain += body;
  std::string out(prefix);
  out += key.id;
  out += '.';
  out += crypto::aead_seal(key.key, plain, associated_data(subject, key.id));
  return out;
}

boost::system::result<opened_frame, bus_refusal> bus_sealer::open(std::string_view subject, std::string_view sealed,
                                                                  clock::time_point now) {
  if (sealed.size() < prefix.size() + key_id_chars + 1 || sealed.substr(0, prefix.size()) != prefix ||
      sealed[prefix.size() + key_id_chars] != '.')
    return bus_refusal::malformed;
  const auto key_id = sealed.substr(prefix.size(), key_id_chars);
  const cluster_key* key = nullptr;
  for (const auto& k : keys_)
    if (k.id == key_id) key = &k;
  if (!key) return bus_refusal::unknown_key;
  auto plain = crypto::aead_open(key->key, sealed.substr(prefix.size() + key_id_chars + 1),
                                 associated_data(subject, key_id));
  if (!plain) return bus_refusal::forged;
  std::string_view rest(*plain);
  auto node = field(rest);
  auto ms = number<std::int64_t>(field(rest));
  auto counter = number<std::uint64_t>(field(rest));
  if (!node || !ms || !counter || *counter == 0) return bus_refusal::malformed;
  const auto sent = clock::time_point(std::chrono::milliseconds(*ms));
  if (sent < now - max_age_ || sent > now + max_age_) return bus_refusal::stale;
  if (!first_sight(std::string(*node), *counter, now)) return bus_refusal::replayed;
  return opened_frame{std::string(*node), std::string(rest)};
}

bool bus_sealer::first_sight(const std::string& node, std::uint64_t counter, clock::time_point now) {
  std::lock_guard lock(mu_);
  // Windows of nodes silent for longer than a frame may live are useless: drop them.
  if (now - last_prune_ > max_age_) {
    std::erase_if(windows_, [&](const auto& w) { return now - w.second.last_seen > 2 * max_age_; });
    last_prune_ = now;
  }
  auto& w = windows_[node];
  w.last_seen = now;
  if (counter > w.highest) {
    const auto shift = counter - w.highest;
    w.seen = shift >= w.seen.size() ? decltype(w.seen){} : w.seen << shift;
    w.seen.set(0);
    w.highest = counter;
    return true;
  }
  const auto behind = w.highest - counter;
  if (behind >= w.seen.size() || w.seen.test(behind)) return false;  // too old to tell, or seen
  w.seen.set(behind);
  return true;
}

}  // namespace redoubt::queue
