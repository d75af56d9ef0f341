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

# zonealloc_test(NAME SOURCES... [LIBS ...]): one gtest binary, registered with ctest.
function(zonealloc_test name)
  cmake_parse_arguments(ARG "" "" "SOURCES;LIBS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  zonealloc_configure_target(${name})
  target_link_libraries(${name} PRIVATE zonealloc::zonealloc ${ARG_LIBS} GTest::gmock GTest::gtest GTest::gtest_main)
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60 PROPERTIES TIMEOUT 600)
endfunction()
