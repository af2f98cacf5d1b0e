// Reads a stored attachment through, blocking: every chunk is authenticated before its
// plaintext goes to the sink. For the worker (thumbnails, malware scans) and redoubtctl.
#pragma once

#include <cstdint>
#include <functional>
#include <string_view>

#include "base/errc.hpp"
#include "base/secret.hpp"
#include "files/file_store.hpp"

namespace redoubt::files {

// The plaintext size on success. not_found: the file is missing; internal "integrity" with a
// reason in the message: bad header, a chunk that fails authentication, truncation, bytes
// after the end. A sink error stops the read and is returned as is.
result<std::uint64_t> read_plaintext(const file_store& store, std::string_view storage_name,
                                     const secret_string& data_key,
                                     const std::function<result<void>(std::string_view)>& sink);

}  // namespace redoubt::files
