#include "base/secret.hpp"

#include <openssl/crypto.h>

namespace redoubt {

secret_string::~secret_string() {
  if (!value_.empty()) OPENSSL_cleanse(value_.data(), value_.size());
}

}  // namespace redoubt
