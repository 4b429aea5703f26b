# Debian packages: `cpack -G DEB` in the build directory makes
#   imgtool_<version>_<arch>.deb      component "cli": /usr/bin/imgtool, imgtool(1),
#                                     the bash completion, the README and docs/
#   imgtool-dev_<version>_<arch>.deb  component "dev": the static library, the headers,
#                                     the CMake package and the pkg-config file
# The library is a separate -dev package, the Debian way: a user of the tool gets
# no headers, and a developer gets the -dev packages the static library needs.
# Included from CMakeLists.txt when imgtool is the top-level project.

set(IMGTOOL_DEB_MAINTAINER "imgtool maintainers <imgtool@example.org>"
  CACHE STRING "Maintainer field of the Debian packages")
set(IMGTOOL_DEB_HOMEPAGE "https://example.org/imgtool" CACHE STRING "Homepage field of the Debian packages")

# The copyright file Debian policy asks for in /usr/share/doc/PACKAGE/, in the
# machine-readable format, holding the whole LICENSE (a License paragraph
# indents each line by one space and writes an empty line as " .").
file(READ ${PROJECT_SOURCE_DIR}/LICENSE _license)
string(REGEX REPLACE "[ \t]+\n" "\n" _license "${_license}")
string(REGEX REPLACE "^\n+" "" _license "${_license}")
string(REGEX REPLACE "\n+$" "" _license "${_license}")
string(REPLACE "\n\n" "\n.\n" _license "${_license}")
string(REPLACE "\n\n" "\n.\n" _license "${_license}")  # again for runs of empty lines
string(REPLACE "\n" "\n " _license "${_license}")
file(WRITE ${PROJECT_BINARY_DIR}/copyright
  "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n"
  "Upstream-Name: imgtool\n"
  "Source: ${IMGTOOL_DEB_HOMEPAGE}\n"
  "\n"
  "Files: *\n"
  "Copyright: The imgtool authors\n"
  "License: Apache-2.0\n"
  "\n"
  "License: Apache-2.0\n"
  " ${_license}\n")
# share/doc/imgtool/copyright is the licence of any install; the -dev
# package needs its own copy under its own name, which only it installs
# (EXCLUDE_FROM_ALL: CPack installs each component by name).
install(FILES ${PROJECT_BINARY_DIR}/copyright DESTINATION ${CMAKE_INSTALL_DOCDIR} COMPONENT cli)
install(FILES ${PROJECT_BINARY_DIR}/copyright DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/imgtool-dev COMPONENT dev
  EXCLUDE_FROM_ALL)

set(CPACK_PACKAGE_NAME imgtool)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_VENDOR "The imgtool authors")
set(CPACK_PACKAGE_CONTACT "${IMGTOOL_DEB_MAINTAINER}")
# Empty on purpose: CPack's DEB generator would put it in front of each
# package's description, and each description below starts with its own
# synopsis line.
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "")
set(CPACK_RESOURCE_FILE_LICENSE ${PROJECT_SOURCE_DIR}/LICENSE)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
# The release build keeps debug information (RelWithDebInfo); the packages
# do not (76 MB against a few).
set(CPACK_STRIP_FILES ON)

set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL cli dev)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # NAME_VERSION_ARCH.deb
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${IMGTOOL_DEB_MAINTAINER}")
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "${IMGTOOL_DEB_HOMEPAGE}")
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

# The package that holds a shared library file the build found (what
# dpkg-shlibdeps would name, had the binary linked it: libcurl4, libssl3,
# libguestfs0 on Debian 12, their t64 names on later releases), or `fallback`
# when dpkg does not know the file.
function(imgtool_deb_package out lib fallback)
  set(_pkg "${fallback}")
  if(lib)
    get_filename_component(_real "${lib}" REALPATH)
    execute_process(COMMAND dpkg-query -S "${_real}" OUTPUT_VARIABLE _o RESULT_VARIABLE _rc ERROR_QUIET)
    if(_rc EQUAL 0 AND _o MATCHES "^([a-z0-9][a-z0-9.+-]*)[:,]")
      set(_pkg "${CMAKE_MATCH_1}")
    endif()
  endif()
  set(${out} "${_pkg}" PARENT_SCOPE)
endfunction()

# imgtool: Depends is what dpkg-shlibdeps finds the binary linked against
# (libc6, libstdc++6, zlib1g, libzstd1, libyaml-cpp0.7; liblzma5 and libbz2-1.0
# once a command reads compressed sources through src/sources) plus what it opens
# with dlopen() at first use, which dpkg-shlibdeps cannot see
# (cmake/LazyLibraries.cmake): libcurl4 for publish and checksum --verify and
# libssl3 (libcrypto) for every digest, so dependencies; libguestfs0 (with
# libvirt, qemu and the appliance behind it) only for inspect and publish
# --auto-properties, so a recommendation: without it every other command
# works and those two say what is missing. libcurl4's version:
# CURLOPT_PROTOCOLS_STR (src/glance/http.cpp) is new in 7.85.0, and an older
# libcurl would ignore it. Nothing else is needed at run time: imgtool reads
# and writes images itself and never runs qemu-img. ca-certificates is
# recommended: publish and checksum --verify verify https against the system
# store.
imgtool_deb_package(_curl_pkg "${IMGTOOL_CURL_LIBRARY}" libcurl4)
imgtool_deb_package(_crypto_pkg "${IMGTOOL_CRYPTO_LIBRARY}" libssl3)
set(IMGTOOL_DEB_LAZY_DEPENDS "${_curl_pkg} (>= 7.85.0), ${_crypto_pkg} (>= 3.0.0)")
set(CPACK_DEBIAN_CLI_PACKAGE_NAME imgtool)
set(CPACK_DEBIAN_CLI_PACKAGE_SECTION utils)
set(CPACK_DEBIAN_CLI_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_CLI_PACKAGE_DEPENDS "${IMGTOOL_DEB_LAZY_DEPENDS}")  # CPack adds what shlibdeps finds
set(CPACK_DEBIAN_CLI_PACKAGE_RECOMMENDS "ca-certificates")
if(IMGTOOL_HAVE_GUESTFS)
  imgtool_deb_package(_guestfs_pkg "${IMGTOOL_GUESTFS_LIBRARY}" libguestfs0)
  string(APPEND CPACK_DEBIAN_CLI_PACKAGE_RECOMMENDS ", ${_guestfs_pkg}")
endif()
set(CPACK_DEBIAN_CLI_DESCRIPTION "disk image toolkit for OpenStack Glance
imgtool detects the format of a disk image from its bytes, prints what
qemu-img info prints, checks that an image is self-contained and consistent
(no backing or external files, no corrupt tables) with one safety verdict,
converts between raw, qcow2 and vmdk, computes the checksum and
os_hash_value Glance shows, and uploads images to Glance (Keystone v3)
verifying what was stored, without leaving half-made images behind. With
libguestfs it reads OS facts from inside the guest and maps them to Glance
image properties.")

# imgtool-dev: a static library, so its users link imgtool's dependencies
# too; the installed CMake package and .pc file look for them, hence the
# -dev packages (pkg-config for the .pc file and the CMake package's
# pkg_check_modules). libcurl, libcrypto and libguestfs are not linked but
# opened at first use: a program using the library needs their run-time
# packages, as the imgtool package does (Depends libcurl4 and libssl3,
# Recommends libguestfs0).
set(_dev_depends "zlib1g-dev, libzstd-dev, liblzma-dev, libbz2-dev, libyaml-cpp-dev, nlohmann-json3-dev, pkg-config, ${IMGTOOL_DEB_LAZY_DEPENDS}")
set(CPACK_DEBIAN_DEV_PACKAGE_NAME imgtool-dev)
set(CPACK_DEBIAN_DEV_PACKAGE_SECTION libdevel)
set(CPACK_DEBIAN_DEV_PACKAGE_SHLIBDEPS OFF)  # nothing to scan: a static library
set(CPACK_DEBIAN_DEV_PACKAGE_DEPENDS "${_dev_depends}")
if(IMGTOOL_HAVE_GUESTFS)
  set(CPACK_DEBIAN_DEV_PACKAGE_RECOMMENDS "${_guestfs_pkg}")
endif()
set(CPACK_DEBIAN_DEV_PACKAGE_SUGGESTS "imgtool")
set(CPACK_DEBIAN_DEV_DESCRIPTION "disk image toolkit for OpenStack Glance - C++20 library
The imgtool library (static), its headers, its CMake package
(find_package(imgtool), target imgtool::imgtool) and its pkg-config file:
format detection, qemu-img compatible info, the safety verdict, conversion to
raw, qcow2 and vmdk, Glance checksums and publishing. Programs using it are
compiled as C++20.")

include(CPack)
