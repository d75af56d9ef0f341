# SPDX-License-Identifier: Apache-2.0
# Compiler flags shared by every zonealloc target: warnings and sanitizers.
# Applied per target (zonealloc_configure_target) so a parent project's own
# flags are left alone.

add_library(zonealloc_build_flags INTERFACE)
# Designated initializers that leave fields at their defaults are how
# options structs are meant to be used; GCC 12 warns on each of them.
target_compile_options(zonealloc_build_flags INTERFACE -Wall -Wextra -Wno-missing-field-initializers)
if(ZONEALLOC_WERROR)
  target_compile_options(zonealloc_build_flags INTERFACE -Werror)
endif()

# Clang's thread-safety analysis checks the ABSL_GUARDED_BY / lock-function
# annotations at compile time. GCC ignores those attributes, so asking for the
# analysis there would silently check nothing.
option(ZONEALLOC_THREAD_SAFETY_ANALYSIS "Check thread-safety annotations with clang's -Wthread-safety" OFF)
if(ZONEALLOC_THREAD_SAFETY_ANALYSIS)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "ZONEALLOC_THREAD_SAFETY_ANALYSIS needs clang, not ${CMAKE_CXX_COMPILER_ID}")
  endif()
  target_compile_options(zonealloc_build_flags INTERFACE -Wthread-safety)
endif()

if(ZONEALLOC_SANITIZER STREQUAL "address")
  set(_zonealloc_sanitize -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
elseif(ZONEALLOC_SANITIZER STREQUAL "thread")
  set(_zonealloc_sanitize -fsanitize=thread -fno-omit-frame-pointer)
elseif(NOT ZONEALLOC_SANITIZER STREQUAL "")
  message(FATAL_ERROR "ZONEALLOC_SANITIZER must be empty, 'address' or 'thread', not '${ZONEALLOC_SANITIZER}'")
endif()
if(_zonealloc_sanitize)
  target_compile_options(zonealloc_build_flags INTERFACE ${_zonealloc_sanitize})
  target_link_options(zonealloc_build_flags INTERFACE ${_zonealloc_sanitize})
  target_compile_definitions(zonealloc_build_flags INTERFACE ZONEALLOC_SANITIZER_BUILD=1)
endif()

# Links the shared flags into a project target without exporting them.
function(zonealloc_configure_target target)
  target_link_libraries(${target} PRIVATE $<BUILD_INTERFACE:zonealloc_build_flags>)
endfunction()

# The CPU cache modes a Zone test runs in: each test of a binary declared
# with EVERY_CPU_CACHE_MODE is registered once per mode, as
# "<mode>.<Suite>.<Test>", with ZONEALLOC_CPU_CACHE set. ThreadSanitizer
# cannot see into the rseq critical sections, so its builds skip that mode.
if(ZONEALLOC_SANITIZER STREQUAL "thread")
  set(ZONEALLOC_CPU_CACHE_MODES fallback off)
else()
  set(ZONEALLOC_CPU_CACHE_MODES rseq fallback off)
endif()

# zonealloc_test(NAME SOURCES... [LIBS ...] [EVERY_CPU_CACHE_MODE]): one
# gtest binary, registered with ctest.
function(zonealloc_test name)
  cmake_parse_arguments(ARG "EVERY_CPU_CACHE_MODE" "" "SOURCES;LIBS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  zonealloc_configure_target(${name})
  target_link_libraries(${name} PRIVATE zonealloc::zonealloc ${ARG_LIBS} GTest::gmock GTest::gtest GTest::gtest_main)
  if(ARG_EVERY_CPU_CACHE_MODE)
    foreach(mode IN LISTS ZONEALLOC_CPU_CACHE_MODES)
      gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60 TEST_PREFIX "${mode}."
                           PROPERTIES TIMEOUT 300 ENVIRONMENT "ZONEALLOC_CPU_CACHE=${mode}")
    endforeach()
  else()
    gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60 PROPERTIES TIMEOUT 300)
  endif()
endfunction()
