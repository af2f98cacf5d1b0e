// Attachments without I/O: sealing and opening chunks, key wrapping and rotation, the signed
// write record, content detection, filename sanitizing, Range parsing, thumbnails.
#include <gtest/gtest.h>

#include <webp/encode.h>

#include "auth/rate_limit.hpp"
#include "crypto/crypto.hpp"
#include "files/content_type.hpp"
#include "files/file_crypto.hpp"
#include "media/thumbnail.hpp"

namespace redoubt::files {
namespace {

std::string bytes_of(std::size_t n, unsigned seed) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 131 + seed * 7) % 251);
  return s;
}

// Seals like an upload does: full chunks, then the remainder as the final chunk.
std::string seal_file(const secret_string& key, std::string_view plain) {
  sealer s(key);
  std::string out = s.header();
  while (plain.size() >= chunk_bytes) {
    s.seal(plain.substr(0, chunk_bytes), false, out);
    plain.remove_prefix(chunk_bytes);
  }
  s.seal(plain, true, out);
  return out;
}

result<std::string> open_file(const secret_string& key, std::string_view sealed) {
  opener o;
  if (sealed.size() < file_header_bytes) return make_error(errc::internal, "integrity");
  if (auto ok = o.init(key, sealed.substr(0, file_header_bytes)); !ok) return ok.error();
  sealed.remove_prefix(file_header_bytes);
  std::string out, piece;
  bool final = false;
  while (!final) {
    if (sealed.empty()) return make_error(errc::internal, "integrity");  // truncated
    auto len = std::min(sealed.size(), sealed_chunk_bytes);
    if (auto ok = o.open(sealed.substr(0, len), piece, final); !ok) return ok.error();
    out += piece;
    sealed.remove_prefix(len);
  }
  if (!sealed.empty()) return make_error(errc::internal, "integrity");
  return out;
}

TEST(FileCrypto, SealedFilesOpenToTheSameBytesAndHaveThePredictedSize) {
  auto key = new_data_key();
  for (std::size_t n : {std::size_t{0}, std::size_t{1}, chunk_bytes - 1, chunk_bytes, chunk_bytes + 1, 3 * chunk_bytes + 5}) {
    auto plain = bytes_of(n, 1);
    auto sealed = seal_file(key, plain);
    EXPECT_EQ(sealed.size(), sealed_size(n)) << n;
    if (n >= 16) {
      EXPECT_EQ(sealed.find(plain.substr(0, 16)), std::string::npos) << "plaintext visible, size " << n;
    }
    auto opened = open_file(key, sealed);
    ASSERT_TRUE(opened) << n;
    EXPECT_TRUE(*opened == plain) << n;
  }
}

TEST(FileCrypto, EveryFlippedByteTruncationReorderingAndWrongKeyIsRefused) {
  auto key = new_data_key();
  const auto plain = bytes_of(2 * chunk_bytes + 100, 2);
  const auto sealed = seal_file(key, plain);
  // Every byte position in the header and the first and last chunk, and a sample elsewhere.
  for (std::size_t i = 0; i < sealed.size(); i += (i < 200 || i + 200 > sealed.size()) ? 1 : 997) {
    auto bad = sealed;
    bad[i] = static_cast<char>(bad[i] ^ 0x01);
    EXPECT_FALSE(open_file(key, bad)) << "flipped byte " << i;
  }
  EXPECT_FALSE(open_file(key, sealed.substr(0, sealed.size() - 1)));
  EXPECT_FALSE(open_file(key, sealed.substr(0, file_header_bytes + sealed_chunk_bytes)));  // final chunk dropped
  auto swapped = sealed.substr(0, file_header_bytes) + sealed.substr(file_header_bytes + sealed_chunk_bytes, sealed_chunk_bytes) +
                 sealed.substr(file_header_bytes, sealed_chunk_bytes) +
                 sealed.substr(file_header_bytes + 2 * sealed_chunk_bytes);
  EXPECT_FALSE(open_file(key, swapped));
  EXPECT_FALSE(open_file(new_data_key(), sealed));
  EXPECT_FALSE(open_file(key, sealed + "x"));
}

TEST(FileCrypto, DataKeysAreBoundToTheirFileAndMasterKeyAndSurviveRotation) {
  auto ring = key_ring::parse("# comment\n" + new_key_line("k1"));
  ASSERT_TRUE(ring);
  auto data_key = new_data_key();
  auto wrapped = wrap_data_key(ring->current(), data_key, 42);
  auto opened = unwrap_data_key(*ring, "k1", wrapped, 42);
  ASSERT_TRUE(opened);
  EXPECT_EQ(opened->reveal(), data_key.reveal());
  EXPECT_FALSE(unwrap_data_key(*ring, "k1", wrapped, 43));  // another file's row
  EXPECT_EQ(unwrap_data_key(*ring, "k9", wrapped, 42).error().code, errc::failed_precondition);
  auto tampered = wrapped;
  tampered[30] ^= 1;
  EXPECT_FALSE(unwrap_data_key(*ring, "k1", tampered, 42));
  // Rotation: a ring with k1 and k2 opens both; re-wrapping moves the key to k2.
  auto rotated = key_ring::parse(new_key_line("k1").replace(3, 64, crypto::to_hex(ring->current().key.reveal())) +
                                 new_key_line("k2"));
  ASSERT_TRUE(rotated);
  EXPECT_EQ(rotated->current().id, "k2");
  auto old_opened = unwrap_data_key(*rotated, "k1", wrapped, 42);
  ASSERT_TRUE(old_opened);
  auto rewrapped = wrap_data_key(rotated->current(), *old_opened, 42);
  EXPECT_EQ(unwrap_data_key(*rotated, "k2", rewrapped, 42)->reveal(), data_key.reveal());
  EXPECT_FALSE(unwrap_data_key(*rotated, "k1", rewrapped, 42));  // the id is bound too
}

TEST(FileCrypto, KeyFilesAreStrict) {
  EXPECT_FALSE(key_ring::parse(""));
  EXPECT_FALSE(key_ring::parse("k1 abcd\n"));
  EXPECT_FALSE(key_ring::parse("bad/id " + std::string(64, 'a') + "\n"));
  EXPECT_FALSE(key_ring::parse(new_key_line("k1") + new_key_line("k1")));
  auto bad = key_ring::parse("k1 " + std::string(63, 'a') + "z\n");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message.find("aaaa"), std::string::npos) << "key material must not reach messages";
}

TEST(FileCrypto, TheWriteRecordSignatureCoversEveryField) {
  auto kp = crypto::generate_signing_keypair();
  const write_record rec{7, std::string(32, 'a'), std::string(64, 'b'), 1234, 3, 9, 1700000000000000};
  auto sig = sign_record(kp.secret_key, rec);
  EXPECT_TRUE(verify_record(kp.public_key, rec, sig));
  auto changed = [&](auto mutate) {
    auto r = rec;
    mutate(r);
    return verify_record(kp.public_key, r, sig);
  };
  EXPECT_FALSE(changed([](write_record& r) { r.file_id = 8; }));
  EXPECT_FALSE(changed([](write_record& r) { r.storage_name[0] = 'b'; }));
  EXPECT_FALSE(changed([](write_record& r) { r.sha256_hex[0] = 'c'; }));
  EXPECT_FALSE(changed([](write_record& r) { r.size = 1235; }));
  EXPECT_FALSE(changed([](write_record& r) { r.uploader = 4; }));
  EXPECT_FALSE(changed([](write_record& r) { r.room = 10; }));
  EXPECT_FALSE(changed([](write_record& r) { r.created_us += 1; }));
}

TEST(FileCrypto, BlobsAreBoundToPurposeAndFile) {
  auto key = new_data_key();
  auto sealed = seal_blob(key, "thumbnail", 5, "png bytes");
  EXPECT_EQ(*open_blob(key, "thumbnail", 5, sealed), "png bytes");
  EXPECT_FALSE(open_blob(key, "thumbnail", 6, sealed));
  EXPECT_FALSE(open_blob(key, "other", 5, sealed));
  EXPECT_FALSE(open_blob(new_data_key(), "thumbnail", 5, sealed));
}

TEST(ContentType, DetectedFromMagicBytesOnly) {
  EXPECT_EQ(detect_content_type(std::string("\x89PNG\r\n\x1a\n....", 12)), "image/png");
  EXPECT_EQ(detect_content_type("\xff\xd8\xff\xe0xxxx"), "image/jpeg");
  EXPECT_EQ(detect_content_type("GIF89a..."), "image/gif");
  EXPECT_EQ(detect_content_type(std::string("RIFF\x10\0\0\0WEBPVP8 ", 16)), "image/webp");
  EXPECT_EQ(detect_content_type("%PDF-1.7"), "application/pdf");
  EXPECT_EQ(detect_content_type("<svg onload=alert(1)>"), "text/plain; charset=utf-8");
  EXPECT_EQ(detect_content_type(std::string("\0\1\2", 3)), "application/octet-stream");
  EXPECT_EQ(detect_content_type(""), "application/octet-stream");
  // UTF-8 text cut inside a character at the sniff limit is still text.
  std::string text(sniff_bytes - 1, 'a');
  text += "\xc3\xa9";
  EXPECT_EQ(detect_content_type(text), "text/plain; charset=utf-8");
  EXPECT_TRUE(is_inline_image("image/png"));
  EXPECT_FALSE(is_inline_image("image/svg+xml"));
  EXPECT_FALSE(is_inline_image("text/plain; charset=utf-8"));
}

TEST(ContentType, FilenamesAreSanitizedNeverPaths) {
  EXPECT_EQ(*sanitize_filename("report.pdf"), "report.pdf");
  EXPECT_EQ(*sanitize_filename("../../etc/passwd"), "_.._etc_passwd");
  EXPECT_EQ(*sanitize_filename("C:\\Windows\\evil.dll"), "C__Windows_evil.dll");
  EXPECT_EQ(*sanitize_filename(".bashrc"), "bashrc");
  EXPECT_EQ(*sanitize_filename("  spaced  "), "spaced");
  EXPECT_EQ(*sanitize_filename(std::string("a\0b\r\nc", 6)), "a_b__c");
  EXPECT_EQ(*sanitize_filename("photo\xe2\x80\xae" "gpj.exe"), "photo_gpj.exe");
  EXPECT_EQ(*sanitize_filename("\xe6\x97\xa5\xe6\x9c\xac.txt"), "\xe6\x97\xa5\xe6\x9c\xac.txt");
  EXPECT_FALSE(sanitize_filename(""));
  EXPECT_FALSE(sanitize_filename("..."));
  EXPECT_FALSE(sanitize_filename("\xc3"));
  EXPECT_TRUE(sanitize_filename(std::string(255, 'x')));
  EXPECT_FALSE(sanitize_filename(std::string(256, 'x')));
}

TEST(ContentType, ContentDispositionCarriesAnAsciiFallbackAndUtf8Name) {
  EXPECT_EQ(content_disposition(false, "a b.pdf"), "attachment; filename=\"a b.pdf\"; filename*=UTF-8''a%20b.pdf");
  EXPECT_EQ(content_disposition(true, "\xc3\xa9t\xc3\xa9.png"),
            "inline; filename=\"__t__.png\"; filename*=UTF-8''%C3%A9t%C3%A9.png");
  EXPECT_EQ(content_disposition(false, "q\"uo\\te%.txt"),
            "attachment; filename=\"q_uo_te_.txt\"; filename*=UTF-8''q%22uo%5Cte%25.txt");
}

TEST(ContentType, ByteRangesFollowRfc9110) {
  using range = std::pair<std::uint64_t, std::uint64_t>;
  EXPECT_EQ(parse_byte_range("bytes=0-9", 100), (range{0, 10}));
  EXPECT_EQ(parse_byte_range("bytes=90-", 100), (range{90, 100}));
  EXPECT_EQ(parse_byte_range("bytes=-10", 100), (range{90, 100}));
  EXPECT_EQ(parse_byte_range("bytes=-1000", 100), (range{0, 100}));
  EXPECT_EQ(parse_byte_range("bytes=50-5000", 100), (range{50, 100}));
  EXPECT_EQ(parse_byte_range("bytes=100-", 100), (range{100, 100}));  // unsatisfiable
  EXPECT_EQ(parse_byte_range("bytes=-0", 100), (range{100, 100}));
  EXPECT_EQ(parse_byte_range("bytes=0-", 0), (range{0, 0}));
  EXPECT_FALSE(parse_byte_range("bytes=5-1", 100));
  EXPECT_FALSE(parse_byte_range("bytes=0-1,3-4", 100));
  EXPECT_FALSE(parse_byte_range("items=0-1", 100));
  EXPECT_FALSE(parse_byte_range("bytes=a-b", 100));
  EXPECT_FALSE(parse_byte_range("bytes=99999999999999999999-", 100));
}

TEST(Thumbnail, ShrinksPngToFitAndRefusesBombsBeforeDecoding) {
  std::string pixels(400 * 100 * 4, '\x7f');
  auto png = media::encode_png_rgba(400, 100, pixels);
  ASSERT_TRUE(png);
  auto thumb = media::make_thumbnail(*png, "image/png", media::thumbnail_limits{1'000'000, 320});
  ASSERT_TRUE(thumb) << thumb.error().message;
  auto size = media::probe(*thumb, "image/png");
  ASSERT_TRUE(size);
  EXPECT_EQ(size->width, 320u);
  EXPECT_EQ(size->height, 80u);
  // 40,000 pixels allowed: a 400x100 image is refused from its header alone.
  auto refused = media::make_thumbnail(*png, "image/png", media::thumbnail_limits{39'999, 320});
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, errc::resource_exhausted);
  EXPECT_EQ(media::make_thumbnail("GIF89a", "image/gif", {}).error().code, errc::failed_precondition);
  EXPECT_EQ(media::make_thumbnail("\x89PNG garbage", "image/png", {}).error().code, errc::invalid_argument);
  EXPECT_EQ(media::make_thumbnail("\xff\xd8\xff\xe0 garbage", "image/jpeg", {}).error().code, errc::invalid_argument);
  // Truncated PNG data: an error, not a crash.
  EXPECT_FALSE(media::make_thumbnail(png->substr(0, png->size() / 2), "image/png", {}));
}

TEST(Thumbnail, StillWebpIsShrunkAndItsHeaderLimitsDecoding) {
  std::string pixels(300 * 600 * 4, '\0');
  for (std::size_t i = 0; i < pixels.size(); i += 4) pixels[i] = pixels[i + 3] = '\xff';  // opaque red
  std::uint8_t* encoded = nullptr;
  const auto len = WebPEncodeLosslessRGBA(reinterpret_cast<const std::uint8_t*>(pixels.data()), 300, 600, 300 * 4,
                                          &encoded);
  ASSERT_GT(len, 0u);
  const std::string webp(reinterpret_cast<const char*>(encoded), len);
  WebPFree(encoded);
  auto header = media::probe(webp, "image/webp");
  ASSERT_TRUE(header);
  EXPECT_EQ(header->width, 300u);
  EXPECT_EQ(header->height, 600u);
  auto thumb = media::make_thumbnail(webp, "image/webp", media::thumbnail_limits{1'000'000, 320});
  ASSERT_TRUE(thumb) << thumb.error().message;
  auto size = media::probe(*thumb, "image/png");
  ASSERT_TRUE(size);
  EXPECT_EQ(size->width, 160u);
  EXPECT_EQ(size->height, 320u);
  EXPECT_EQ(media::make_thumbnail(webp, "image/webp", media::thumbnail_limits{179'999, 320}).error().code,
            errc::resource_exhausted);
  EXPECT_EQ(media::make_thumbnail(std::string_view("RIFF\x10\0\0\0WEBPVP8 garbage", 23), "image/webp", {}).error().code,
            errc::invalid_argument);
  EXPECT_FALSE(media::make_thumbnail(webp.substr(0, webp.size() / 2), "image/webp", {}));
}

TEST(RateLimiter, TakePacesBytesInsteadOfRefusing) {
  auth::rate_limiter bytes(1000, 1000);
  const auto t0 = auth::rate_limiter::clock::now();
  EXPECT_EQ(bytes.take("u", 1000, t0).count(), 0);  // the burst
  EXPECT_EQ(bytes.take("u", 500, t0).count(), 500000);  // 500 bytes of debt at 1000/s
  EXPECT_EQ(bytes.take("u", 0, t0 + std::chrono::milliseconds(500)).count(), 0);  // paid back
  EXPECT_EQ(bytes.take("other", 1000, t0).count(), 0);  // per key
}

}  // namespace
}  // namespace redoubt::files
