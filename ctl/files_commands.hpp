// redoubtctl files ...: the attachment store's key file, key rotation and integrity scan.
#pragma once

#include <string>

#include "base/config.hpp"

namespace redoubt::ctl {

// Creates a new master key file (0600, must not exist) holding one key.
int files_keygen(const std::string& path);
// Appends a new master key to files.master_key_file and re-wraps every file's data key with
// it. File bytes do not change. Older keys can be deleted from the file afterwards.
int files_rotate_key(const settings& cfg);
// Checks every row and every stored file: signature, presence, length, every chunk's
// authentication tag and the SHA-256; reports tampered, missing and orphaned files.
// Exit 0 when all is well, 4 when anything is wrong.
int files_verify(const settings& cfg);

}  // namespace redoubt::ctl
