// From the [nats] section of a config to a broker client's settings (bus_settings,
// consumer_settings): the account's URL, user, password and CA; the rest keeps its defaults.
#pragma once

#include "base/config.hpp"

namespace redoubt::queue {

// Copies the account: URL, user, password and CA file.
template <class From, class To>
void copy_account(const From& from, To& to) {
  to.url = from.url;
  to.user = from.user;
  to.password = from.password;
  to.ca_file = from.ca_file;
}

template <class ClientSettings>
ClientSettings client_settings(const nats_settings& n) {
  ClientSettings s;
  copy_account(n, s);
  return s;
}

}  // namespace redoubt::queue
