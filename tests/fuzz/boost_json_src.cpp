// Boost.JSON compiled from source into the fuzz build, so its parser carries coverage
// instrumentation and sanitizer checks (the system libboost_json is built by g++ without them).
#include <boost/json/src.hpp>
