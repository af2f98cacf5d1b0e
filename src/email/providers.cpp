#include <curl/curl.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "base/log.hpp"
#include "crypto/crypto.hpp"
#include "email/provider.hpp"

namespace redoubt::email {
namespace json = boost::json;

void global_init() { curl_global_init(CURL_GLOBAL_DEFAULT); }

namespace {

std::string message_id_for(const email_message& m, std::string_view from) {
  auto at = from.find('@');
  std::string domain = at == std::string_view::npos ? "localhost" : std::string(from.substr(at + 1));
  return m.idempotency_key + "@" + domain;
}

// ---- development: one .eml file per email, written atomically, named by the job id ----
send_outcome deliver_to_mailbox(const email_settings& s, const email_message& m) {
  send_outcome out;
  // The key is a uuid: safe as a file name. A repeat of the same job finds its file.
  std::string final_path = s.mailbox_dir + "/" + m.idempotency_key + ".eml";
  if (std::filesystem::exists(final_path)) {
    out.ok = true;
    out.provider_message_id = m.idempotency_key;
    return out;
  }
  std::string tmp = s.mailbox_dir + "/." + m.idempotency_key + ".tmp";
  std::string text = render_rfc5322(m, s.from_address, s.from_name,
                                    message_id_for(m, s.from_address), rfc5322_date_now());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    out.retryable = true;
    out.error = std::string("mailbox: ") + std::strerror(errno);
    return out;
  }
  std::size_t done = 0;
  bool ok = true;
  while (done < text.size()) {
    auto n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ok = false;
      break;
    }
    done += static_cast<std::size_t>(n);
  }
  ok = ok && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), final_path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    out.retryable = true;
    out.error = "mailbox: write failed";
    return out;
  }
  out.ok = true;
  out.provider_message_id = m.idempotency_key;
  return out;
}

std::size_t collect(char* data, std::size_t size, std::size_t n, void* user) {
  auto* body = static_cast<std::string*>(user);
  if (body->size() + size * n > 64 * 1024) return 0;  // a provider answer is small; stop otherwise
  body->append(data, size * n);
  return size * n;
}

struct curl_handle {
  CURL* h = curl_easy_init();
  curl_slist* headers = nullptr;
  ~curl_handle() {
    if (headers) curl_slist_free_all(headers);
    if (h) curl_easy_cleanup(h);
  }
};

// TLS 1.3 only, peer and host verified, no redirects, bounded in time.
void common_tls(CURL* h, const email_settings& s) {
  curl_easy_setopt(h, CURLOPT_SSLVERSION, static_cast<long>(CURL_SSLVERSION_TLSv1_3) | static_cast<long>(CURL_SSLVERSION_MAX_DEFAULT));
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
  if (!s.ca_file.empty()) curl_easy_setopt(h, CURLOPT_CAINFO, s.ca_file.c_str());
  if (!s.client_cert_file.empty()) curl_easy_setopt(h, CURLOPT_SSLCERT, s.client_cert_file.c_str());
  if (!s.client_key_file.empty()) curl_easy_setopt(h, CURLOPT_SSLKEY, s.client_key_file.c_str());
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(s.connect_timeout.count()));
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(s.total_timeout.count()));
}

// ---- HTTPS JSON API: POST {from,to,subject,text} with a bearer key and an Idempotency-Key ----
send_outcome deliver_over_https(const email_settings& s, const email_message& m) {
  send_outcome out;
  json::object body{{"from", s.from_address}, {"from_name", s.from_name}, {"to", m.to},
                    {"subject", m.subject},   {"text", m.text},           {"tag", m.kind}};
  std::string payload = json::serialize(body);
  // One handle per pool thread: its connection cache keeps the TLS session to the provider
  // open between emails instead of a handshake per email.
  thread_local curl_handle c;
  if (c.headers) {
    curl_slist_free_all(c.headers);
    c.headers = nullptr;
  }
  if (c.h) curl_easy_reset(c.h);
  if (!c.h) {
    out.retryable = true;
    out.error = "curl init failed";
    return out;
  }
  std::string auth = "Authorization: Bearer " + s.api_key.reveal();
  std::string idem = "Idempotency-Key: " + m.idempotency_key;
  std::string corr = "X-Correlation-Id: " + m.correlation_id;
  c.headers = curl_slist_append(c.headers, "Content-Type: application/json");
  c.headers = curl_slist_append(c.headers, auth.c_str());
  c.headers = curl_slist_append(c.headers, idem.c_str());
  c.headers = curl_slist_append(c.headers, corr.c_str());
  std::string response;
  curl_easy_setopt(c.h, CURLOPT_URL, s.https_url.c_str());
  curl_easy_setopt(c.h, CURLOPT_PROTOCOLS_STR, "https");
  curl_easy_setopt(c.h, CURLOPT_HTTPHEADER, c.headers);
  curl_easy_setopt(c.h, CURLOPT_POSTFIELDS, payload.c_str());
  curl_easy_setopt(c.h, CURLOPT_POSTFIELDSIZE, static_cast<long>(payload.size()));
  curl_easy_setopt(c.h, CURLOPT_WRITEFUNCTION, &collect);
  curl_easy_setopt(c.h, CURLOPT_WRITEDATA, &response);
  common_tls(c.h, s);
  CURLcode rc = curl_easy_perform(c.h);
  if (rc != CURLE_OK) {
    out.retryable = true;
    out.error = std::string("https: ") + curl_easy_strerror(rc);
    return out;
  }
  long status = 0;
  curl_easy_getinfo(c.h, CURLINFO_RESPONSE_CODE, &status);
  if (status >= 200 && status < 300) {
    out.ok = true;
    boost::system::error_code ec;
    auto v = json::parse(response, ec);
    if (!ec && v.is_object())
      if (auto* id = v.get_object().if_contains("id");
          id && id->is_string() && id->get_string().size() <= 128)
        out.provider_message_id = std::string(id->get_string());
    return out;
  }
  out.retryable = status == 429 || status >= 500 || status == 408;
  out.error = "https: provider answered " + std::to_string(status);
  return out;
}

struct upload_state {
  std::string_view data;
  std::size_t pos = 0;
};

std::size_t feed(char* buf, std::size_t size, std::size_t n, void* user) {
  auto* st = static_cast<upload_state*>(user);
  std::size_t len = std::min(size * n, st->data.size() - st->pos);
  std::memcpy(buf, st->data.data() + st->pos, len);
  st->pos += len;
  return len;
}

// ---- SMTP: smtps:// (implicit TLS) or smtp:// with STARTTLS required ----
send_outcome deliver_over_smtp(const email_settings& s, const email_message& m) {
  send_outcome out;
  std::string text = render_rfc5322(m, s.from_address, s.from_name,
                                    message_id_for(m, s.from_address), rfc5322_date_now());
  curl_handle c;
  if (!c.h) {
    out.retryable = true;
    out.error = "curl init failed";
    return out;
  }
  std::string from = "<" + s.from_address + ">";
  std::string to = "<" + m.to + ">";
  curl_slist* rcpt = curl_slist_append(nullptr, to.c_str());
  upload_state st{text, 0};
  curl_easy_setopt(c.h, CURLOPT_URL, s.smtp_url.c_str());
  curl_easy_setopt(c.h, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
  curl_easy_setopt(c.h, CURLOPT_USE_SSL, static_cast<long>(CURLUSESSL_ALL));
  if (!s.smtp_user.empty()) {
    curl_easy_setopt(c.h, CURLOPT_USERNAME, s.smtp_user.c_str());
    curl_easy_setopt(c.h, CURLOPT_PASSWORD, s.smtp_password.reveal().c_str());
  }
  curl_easy_setopt(c.h, CURLOPT_MAIL_FROM, from.c_str());
  curl_easy_setopt(c.h, CURLOPT_MAIL_RCPT, rcpt);
  curl_easy_setopt(c.h, CURLOPT_UPLOAD, 1L);
  curl_easy_setopt(c.h, CURLOPT_READFUNCTION, &feed);
  curl_easy_setopt(c.h, CURLOPT_READDATA, &st);
  curl_easy_setopt(c.h, CURLOPT_INFILESIZE, static_cast<long>(text.size()));
  common_tls(c.h, s);
  CURLcode rc = curl_easy_perform(c.h);
  long status = 0;
  curl_easy_getinfo(c.h, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(rcpt);
  if (rc == CURLE_OK) {
    out.ok = true;
    out.provider_message_id = message_id_for(m, s.from_address);
    return out;
  }
  // 5xx replies are permanent (bad recipient); everything else may pass later.
  out.retryable = !(status >= 500 && status < 600);
  out.error = std::string("smtp: ") + curl_easy_strerror(rc) +
              (status ? " (" + std::to_string(status) + ")" : "");
  return out;
}

// A provider is one delivery function over the settings; the message is validated first, here.
class validating_provider final : public provider {
 public:
  using deliver_fn = send_outcome (*)(const email_settings& s, const email_message& m);
  validating_provider(const email_settings& s, std::string_view name, deliver_fn deliver)
      : s_(s), name_(name), deliver_(deliver) {}

  std::string_view name() const override { return name_; }

  send_outcome send(const email_message& m) override {
    if (auto ok = validate(m, s_.from_address); !ok) {
      send_outcome out;
      out.error = ok.error().message;
      return out;
    }
    return deliver_(s_, m);
  }

 private:
  const email_settings& s_;
  std::string_view name_;
  deliver_fn deliver_;
};

}  // namespace

result<std::unique_ptr<provider>> make_provider(const email_settings& s) {
  if (s.provider == "mailbox") {
    std::error_code ec;
    std::filesystem::create_directories(s.mailbox_dir, ec);
    if (ec) return make_error(errc::failed_precondition, "email.mailbox_dir: " + ec.message());
    ::chmod(s.mailbox_dir.c_str(), 0700);
    return std::unique_ptr<provider>(new validating_provider(s, "mailbox", &deliver_to_mailbox));
  }
  if (s.provider == "https")
    return std::unique_ptr<provider>(new validating_provider(s, "https", &deliver_over_https));
  if (s.provider == "smtp")
    return std::unique_ptr<provider>(new validating_provider(s, "smtp", &deliver_over_smtp));
  return make_error(errc::invalid_argument, "unknown email provider");
}

}  // namespace redoubt::email
