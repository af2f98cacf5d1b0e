// The project's one coroutine type, spelled once for every namespace below redoubt::.
#pragma once

#include <boost/asio/awaitable.hpp>

namespace redoubt {

template <class T>
using awaitable = boost::asio::awaitable<T>;

}  // namespace redoubt
