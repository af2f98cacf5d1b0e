// Frames between server nodes are sealed with the cluster key: a broker (or anyone with the
// server's NATS password) can neither read, forge, alter, move nor replay them.
#include "queue/bus_seal.hpp"

#include <gtest/gtest.h>

#include "crypto/crypto.hpp"

namespace redoubt::queue {
namespace {

using namespace std::chrono_literals;

const std::string key_a = std::string(64, 'a');
const std::string key_b = std::string(64, 'b');

std::vector<cluster_key> keys(const std::string& text) {
  auto k = parse_cluster_keys(text);
  EXPECT_TRUE(k) << (k ? "" : k.error().message);
  return k ? *k : std::vector<cluster_key>{};
}

TEST(BusSeal, OpensWhatItSealedAndTheBrokerSeesNoPlaintext) {
  bus_sealer from(keys(key_a), "node1");
  bus_sealer to(keys(key_a), "node2");
  auto sealed = from.seal("room.7", "12\n{\"body\":\"secret plans\"}");
  EXPECT_EQ(sealed.find("secret plans"), std::string::npos);
  EXPECT_EQ(sealed.find("node1"), std::string::npos);
  auto opened = to.open("room.7", sealed);
  ASSERT_TRUE(opened);
  EXPECT_EQ(opened->node, "node1");
  EXPECT_EQ(opened->body, "12\n{\"body\":\"secret plans\"}");
}

TEST(BusSeal, ForgedAlteredMovedAndUnsealedFramesAreRefused) {
  bus_sealer from(keys(key_a), "node1");
  bus_sealer to(keys(key_a), "node2");
  bus_sealer outsider(keys(key_b), "evil");
  auto sealed = from.seal("room.7.member", "5\n3\njoined");

  EXPECT_EQ(to.open("room.8.member", sealed).error(), bus_refusal::forged) << "moved to another subject";
  auto altered = sealed;
  altered[altered.size() / 2] ^= 0x01;
  EXPECT_EQ(to.open("room.7.member", altered).error(), bus_refusal::forged);
  EXPECT_EQ(to.open("room.7.member", sealed.substr(0, sealed.size() - 1)).error(), bus_refusal::forged);
  EXPECT_EQ(to.open("room.7.member", outsider.seal("room.7.member", "5\n3\njoined")).error(),
            bus_refusal::unknown_key);
  // What nodes sent before sealing existed, or anything else in clear.
  EXPECT_EQ(to.open("room.7.member", "abcdef\n5\n3\njoined").error(), bus_refusal::malformed);
  EXPECT_EQ(to.open("room.7", "").error(), bus_refusal::malformed);
  EXPECT_TRUE(to.open("room.7.member", sealed)) << "the genuine frame still opens";
}

TEST(BusSeal, ReplayedAndStaleFramesAreRefused) {
  bus_sealer from(keys(key_a), "node1");
  bus_sealer to(keys(key_a), "node2");
  const auto now = bus_sealer::clock::now();
  auto first = from.seal("room.1", "1\nx", now);
  auto second = from.seal("room.1", "2\ny", now);
  auto third = from.seal("room.1", "3\nz", now);
  ASSERT_TRUE(to.open("room.1", first, now));
  ASSERT_TRUE(to.open("room.1", third, now));
  EXPECT_TRUE(to.open("room.1", second, now)) << "late but first seen: accepted";
  EXPECT_EQ(to.open("room.1", second, now).error(), bus_refusal::replayed);
  EXPECT_EQ(to.open("room.1", first, now).error(), bus_refusal::replayed);

  auto old = from.seal("room.1", "4\nw", now - 31s);
  EXPECT_EQ(to.open("room.1", old, now).error(), bus_refusal::stale);
  auto future = from.seal("room.1", "5\nv", now + 31s);
  EXPECT_EQ(to.open("room.1", future, now).error(), bus_refusal::stale);

  // Far behind the newest counter seen: cannot be told from a replay, refused.
  for (int i = 0; i < 1100; ++i) ASSERT_TRUE(to.open("room.1", from.seal("room.1", "n", now), now));
  EXPECT_EQ(to.open("room.1", old, now - 31s).error(), bus_refusal::replayed);
}

TEST(BusSeal, RotationOpensWithEveryKeyAndSealsWithTheFirst) {
  bus_sealer old_node(keys(key_a), "old");
  bus_sealer rotating(keys(key_b + "\n" + key_a + "\n"), "new");
  bus_sealer updated(keys(key_a + "\n" + key_b + "\n"), "mid");
  EXPECT_TRUE(rotating.open("room.1", old_node.seal("room.1", "1\na")));
  EXPECT_TRUE(updated.open("room.1", rotating.seal("room.1", "1\nb")));
  EXPECT_EQ(old_node.open("room.1", rotating.seal("room.1", "1\nc")).error(), bus_refusal::unknown_key);
}

TEST(BusSeal, KeyFileHoldsHexKeysOnePerLine) {
  EXPECT_EQ(keys("# cluster key\n\n" + key_a + "\n").size(), 1u);
  EXPECT_EQ(keys(key_a + "\r\n" + key_b).size(), 2u);
  EXPECT_FALSE(parse_cluster_keys(""));
  EXPECT_FALSE(parse_cluster_keys("# only a comment\n"));
  EXPECT_FALSE(parse_cluster_keys(std::string(62, 'a')));
  EXPECT_FALSE(parse_cluster_keys(std::string(63, 'a') + "g"));
  auto ks = keys(key_a);
  ASSERT_EQ(ks.size(), 1u);
  EXPECT_EQ(ks[0].id.size(), 8u);
  EXPECT_EQ(key_a.find(ks[0].id), std::string::npos) << "the id does not reveal the key";
}

}  // namespace
}  // namespace redoubt::queue
