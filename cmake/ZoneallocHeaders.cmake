# SPDX-License-Identifier: Apache-2.0
# Public headers are included as <zonealloc/...> both in this tree and by
# users. The sources keep the project layout (core/zone.h beside zone.cc and
# zone_test.cc); this maps them into an include tree of symbolic links:
#   core/NAME.h           -> <zonealloc/NAME.h>
#   core/internal/NAME.h  -> <zonealloc/internal/NAME.h>
#   concurrency/NAME.h    -> <zonealloc/concurrency/NAME.h>
#   core/testing/NAME.h   -> <zonealloc/testing/NAME.h>  (tests only: never installed)
# cmake/ZoneallocInstall.cmake installs the same folders, less testing/.
# The internal headers that no public header includes, only the library's
# sources (ZONEALLOC_PRIVATE_HEADERS, paths in this tree), are linked into a
# second root that only the library's own target sees, so they are neither
# installed nor reachable by a program built in this tree.

set(ZONEALLOC_INCLUDE_ROOT "${PROJECT_BINARY_DIR}/include")
set(ZONEALLOC_PRIVATE_INCLUDE_ROOT "${PROJECT_BINARY_DIR}/private_include")
set(ZONEALLOC_PRIVATE_HEADERS core/internal/crash_format.h)

# Links each header of source_dir as <include_subdir/NAME.h>: under the
# public root, or under the private one for ZONEALLOC_PRIVATE_HEADERS (and
# removes a public link an older configure left for it).
function(_zonealloc_link_headers source_dir include_subdir)
  file(GLOB headers CONFIGURE_DEPENDS "${source_dir}/*.h")
  foreach(header IN LISTS headers)
    get_filename_component(name "${header}" NAME)
    file(RELATIVE_PATH in_tree "${PROJECT_SOURCE_DIR}" "${header}")
    set(root "${ZONEALLOC_INCLUDE_ROOT}")
    if(in_tree IN_LIST ZONEALLOC_PRIVATE_HEADERS)
      file(REMOVE "${ZONEALLOC_INCLUDE_ROOT}/${include_subdir}/${name}")
      set(root "${ZONEALLOC_PRIVATE_INCLUDE_ROOT}")
    endif()
    file(MAKE_DIRECTORY "${root}/${include_subdir}")
    file(CREATE_LINK "${header}" "${root}/${include_subdir}/${name}" SYMBOLIC)
  endforeach()
endfunction()

_zonealloc_link_headers("${PROJECT_SOURCE_DIR}/core" zonealloc)
_zonealloc_link_headers("${PROJECT_SOURCE_DIR}/core/internal" zonealloc/internal)
_zonealloc_link_headers("${PROJECT_SOURCE_DIR}/concurrency" zonealloc/concurrency)
_zonealloc_link_headers("${PROJECT_SOURCE_DIR}/core/testing" zonealloc/testing)

# <zonealloc/version.h>: project(zonealloc VERSION ...) as macros a program
# can test with #if.
configure_file("${PROJECT_SOURCE_DIR}/cmake/version.h.in"
               "${ZONEALLOC_INCLUDE_ROOT}/zonealloc/version.h" @ONLY)

# <zonealloc/config.h>: settings fixed when the library is configured, so the
# inline code in a program's translation units and the compiled library agree
# whatever NDEBUG the program uses.
set(ZONEALLOC_DEBUG_CHECKS "AUTO" CACHE STRING
    "Debug-only misuse checks (double free): ON, OFF or AUTO (on for a Debug build)")
set_property(CACHE ZONEALLOC_DEBUG_CHECKS PROPERTY STRINGS AUTO ON OFF)
if(ZONEALLOC_DEBUG_CHECKS STREQUAL "AUTO")
  if(CMAKE_BUILD_TYPE STREQUAL "Debug")
    set(ZONEALLOC_CONFIG_DEBUG_CHECKS 1)
  else()
    set(ZONEALLOC_CONFIG_DEBUG_CHECKS 0)
  endif()
elseif(ZONEALLOC_DEBUG_CHECKS)
  set(ZONEALLOC_CONFIG_DEBUG_CHECKS 1)
else()
  set(ZONEALLOC_CONFIG_DEBUG_CHECKS 0)
endif()
# Free blocks are poisoned in an AddressSanitizer build of the library, and
# in the inline code of every program built against it.
if(ZONEALLOC_SANITIZER STREQUAL "address")
  set(ZONEALLOC_CONFIG_ASAN 1)
else()
  set(ZONEALLOC_CONFIG_ASAN 0)
endif()
# Valgrind's memcheck is told which blocks are free (mempool client
# requests), in the library and the inline code of every program built
# against it. cmake/valgrind.sh builds and checks it.
option(ZONEALLOC_VALGRIND "Tell Valgrind's memcheck about zone blocks (needs valgrind/memcheck.h)" OFF)
if(ZONEALLOC_VALGRIND)
  if(NOT ZONEALLOC_SANITIZER STREQUAL "")
    message(FATAL_ERROR "ZONEALLOC_VALGRIND=ON cannot be combined with ZONEALLOC_SANITIZER=${ZONEALLOC_SANITIZER}: Valgrind does not run sanitizer builds")
  endif()
  include(CheckIncludeFileCXX)
  check_include_file_cxx("valgrind/memcheck.h" ZONEALLOC_HAVE_VALGRIND_MEMCHECK_H)
  if(NOT ZONEALLOC_HAVE_VALGRIND_MEMCHECK_H)
    message(FATAL_ERROR "ZONEALLOC_VALGRIND=ON needs <valgrind/memcheck.h>, which was not found (Debian: apt-get install valgrind)")
  endif()
  set(ZONEALLOC_CONFIG_VALGRIND 1)
else()
  set(ZONEALLOC_CONFIG_VALGRIND 0)
endif()
configure_file("${PROJECT_SOURCE_DIR}/cmake/config.h.in"
               "${ZONEALLOC_INCLUDE_ROOT}/zonealloc/config.h" @ONLY)
