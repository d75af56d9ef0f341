# SPDX-License-Identifier: Apache-2.0
# `cmake --install`: what a program needs to build against zonealloc without
# its sources (cmake/consumer/ builds one each way; cmake/consumer_test.sh):
#   include/zonealloc/...                   the public headers, as in the build tree
#   lib/libzonealloc.a (or .so.0.1)         the library
#   lib/cmake/zonealloc/                    find_package(zonealloc): zonealloc::zonealloc
#   lib/pkgconfig/zonealloc.pc              pkg-config --cflags --libs zonealloc
# Included from CMakeLists.txt after core/ and concurrency/ have added their
# sources, when ZONEALLOC_INSTALL is on.

include(CMakePackageConfigHelpers)

set(ZONEALLOC_INSTALL_CMAKEDIR "${CMAKE_INSTALL_LIBDIR}/cmake/zonealloc")

# The headers: the folders cmake/ZoneallocHeaders.cmake maps, less
# core/testing/ (the tests' helpers) and ZONEALLOC_PRIVATE_HEADERS, plus the
# generated config.h and version.h. Copies, not the build tree's links.
function(_zonealloc_install_headers source_dir include_dir)
  file(GLOB headers CONFIGURE_DEPENDS "${source_dir}/*.h")
  foreach(private IN LISTS ZONEALLOC_PRIVATE_HEADERS)
    list(REMOVE_ITEM headers "${PROJECT_SOURCE_DIR}/${private}")
  endforeach()
  install(FILES ${headers} DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}/${include_dir}")
endfunction()
_zonealloc_install_headers("${PROJECT_SOURCE_DIR}/core" zonealloc)
_zonealloc_install_headers("${PROJECT_SOURCE_DIR}/core/internal" zonealloc/internal)
_zonealloc_install_headers("${PROJECT_SOURCE_DIR}/concurrency" zonealloc/concurrency)
install(FILES "${ZONEALLOC_INCLUDE_ROOT}/zonealloc/config.h"
              "${ZONEALLOC_INCLUDE_ROOT}/zonealloc/version.h"
        DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}/zonealloc")

# The library and its CMake package. zonealloc_build_flags (warnings,
# sanitizers) is linked as $<BUILD_INTERFACE:...>, so it stays out of the
# export.
install(TARGETS zonealloc EXPORT zonealloc-targets)
install(EXPORT zonealloc-targets NAMESPACE zonealloc:: DESTINATION "${ZONEALLOC_INSTALL_CMAKEDIR}")
configure_package_config_file("${PROJECT_SOURCE_DIR}/cmake/zonealloc-config.cmake.in"
                              "${PROJECT_BINARY_DIR}/zonealloc-config.cmake"
                              INSTALL_DESTINATION "${ZONEALLOC_INSTALL_CMAKEDIR}")
# ZONEALLOC_COMPATIBILITY (CMakeLists.txt), as the soname: before 1.0,
# SameMinorVersion: find_package(zonealloc 0.1) accepts 0.1.x and refuses
# 0.2; from 1.0, SameMajorVersion.
write_basic_package_version_file("${PROJECT_BINARY_DIR}/zonealloc-config-version.cmake"
                                 COMPATIBILITY ${ZONEALLOC_COMPATIBILITY})
install(FILES "${PROJECT_BINARY_DIR}/zonealloc-config.cmake"
              "${PROJECT_BINARY_DIR}/zonealloc-config-version.cmake"
        DESTINATION "${ZONEALLOC_INSTALL_CMAKEDIR}")

# zonealloc.pc. Its Requires come from the target's own Abseil links
# (absl::NAME ships as absl_NAME.pc): the public ones always; the private
# ones in Requires.private for a shared library, which links them itself,
# and in Requires for a static one, whose users must link them.
get_target_property(_zonealloc_public zonealloc INTERFACE_LINK_LIBRARIES)
get_target_property(_zonealloc_all zonealloc LINK_LIBRARIES)
list(FILTER _zonealloc_public INCLUDE REGEX "^absl::")
list(FILTER _zonealloc_all INCLUDE REGEX "^absl::")
set(_zonealloc_private ${_zonealloc_all})
list(REMOVE_ITEM _zonealloc_private ${_zonealloc_public})
list(TRANSFORM _zonealloc_public REPLACE "^absl::" "absl_")
list(TRANSFORM _zonealloc_private REPLACE "^absl::" "absl_")
get_target_property(_zonealloc_type zonealloc TYPE)
if(_zonealloc_type STREQUAL "STATIC_LIBRARY")
  list(APPEND _zonealloc_public ${_zonealloc_private})
  set(_zonealloc_private "")
endif()
list(JOIN _zonealloc_public ", " ZONEALLOC_PC_REQUIRES)
list(JOIN _zonealloc_private ", " ZONEALLOC_PC_REQUIRES_PRIVATE)
set(ZONEALLOC_PC_THREADS "${CMAKE_THREAD_LIBS_INIT}")
# Paths relative to the .pc file's own folder, so that an install moved
# elsewhere (cmake --install --prefix) still finds its headers and library.
foreach(dir IN ITEMS LIBDIR INCLUDEDIR)
  if(IS_ABSOLUTE "${CMAKE_INSTALL_${dir}}")
    set(ZONEALLOC_PC_${dir} "${CMAKE_INSTALL_${dir}}")
  else()
    set(ZONEALLOC_PC_${dir} "\${prefix}/${CMAKE_INSTALL_${dir}}")
  endif()
endforeach()
file(RELATIVE_PATH ZONEALLOC_PC_PREFIX "/prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/prefix")
string(REGEX REPLACE "/$" "" ZONEALLOC_PC_PREFIX "${ZONEALLOC_PC_PREFIX}")
set(ZONEALLOC_PC_PREFIX "\${pcfiledir}/${ZONEALLOC_PC_PREFIX}")
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}")
  set(ZONEALLOC_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
endif()
configure_file("${PROJECT_SOURCE_DIR}/cmake/zonealloc.pc.in" "${PROJECT_BINARY_DIR}/zonealloc.pc" @ONLY)
install(FILES "${PROJECT_BINARY_DIR}/zonealloc.pc" DESTINATION "${CMAKE_INSTALL_LIBDIR}/pkgconfig")
