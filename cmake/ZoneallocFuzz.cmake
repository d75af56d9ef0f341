# SPDX-License-Identifier: Apache-2.0
# libFuzzer targets (ZONEALLOC_BUILD_FUZZERS=ON; clang only). cmake/fuzz.sh
# configures such a build with ASan + UBSan and runs them for a bounded time.
#   zone_fuzzer                 core/zone_fuzzer.cc: a Zone against a model
#   zone_fuzzer_broken_model    the same with a deliberately wrong model
#                               (ZONEALLOC_FUZZ_BREAK_MODEL=1): must fail,
#                               which shows the checks can fail

if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
  message(FATAL_ERROR
          "ZONEALLOC_BUILD_FUZZERS needs clang (libFuzzer), not ${CMAKE_CXX_COMPILER_ID}: "
          "configure with CXX=clang++, or use cmake/fuzz.sh")
endif()

# The library is instrumented for coverage, so the fuzzer sees its branches.
target_compile_options(zonealloc PRIVATE -fsanitize=fuzzer-no-link)

# zonealloc_fuzzer(NAME SOURCES... [DEFINITIONS ...]): one libFuzzer binary.
function(zonealloc_fuzzer name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEFINITIONS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  zonealloc_configure_target(${name})
  target_link_libraries(${name} PRIVATE zonealloc::zonealloc)
  target_compile_options(${name} PRIVATE -fsanitize=fuzzer)
  target_link_options(${name} PRIVATE -fsanitize=fuzzer)
  if(ARG_DEFINITIONS)
    target_compile_definitions(${name} PRIVATE ${ARG_DEFINITIONS})
  endif()
endfunction()

zonealloc_fuzzer(zone_fuzzer SOURCES "${PROJECT_SOURCE_DIR}/core/zone_fuzzer.cc")
zonealloc_fuzzer(zone_fuzzer_broken_model SOURCES "${PROJECT_SOURCE_DIR}/core/zone_fuzzer.cc"
                 DEFINITIONS ZONEALLOC_FUZZ_BREAK_MODEL=1)
