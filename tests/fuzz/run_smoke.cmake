# Runs one libFuzzer target for a fixed number of runs with a fixed seed.
# -DFUZZER=<binary> -DCORPUS=<committed seed dir> -DWORK=<scratch dir> -DRUNS=<n> [-DDICT=<file>]
file(REMOVE_RECURSE ${WORK})
file(MAKE_DIRECTORY ${WORK}/new ${WORK}/artifacts)
set(args -seed=1 -runs=${RUNS} -max_len=4096 -timeout=10 -rss_limit_mb=2048
         -print_final_stats=1 -artifact_prefix=${WORK}/artifacts/)
if(DICT)
  list(APPEND args -dict=${DICT})
endif()
execute_process(COMMAND ${FUZZER} ${args} ${WORK}/new ${CORPUS} RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  file(GLOB crashes ${WORK}/artifacts/*)
  message(FATAL_ERROR "${FUZZER} failed (${rc}); reproducers: ${crashes}")
endif()
