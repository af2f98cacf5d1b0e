# ctest release_binary_has_no_fault_injection: fails when BINARY (a server built without
# -DREDOUBT_FAULT_INJECTION=ON) holds the name of a fault-injection switch.
#   cmake -DBINARY=<path> -P check_no_fault_injection.cmake
if(NOT BINARY OR NOT EXISTS "${BINARY}")
  message(FATAL_ERROR "BINARY not set or missing: '${BINARY}'")
endif()
file(STRINGS "${BINARY}" hits REGEX "REDOUBT_FAULT_")
if(hits)
  message(FATAL_ERROR "${BINARY} contains fault-injection switches: ${hits}")
endif()
message(STATUS "${BINARY}: no fault-injection switch")
