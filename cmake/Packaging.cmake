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

# imgtool: Depends is what dpkg-shlibdeps finds the binary linked against
# (libc6, libstdc++6, libssl3, libcurl4, zlib1g, libzstd1, libyaml-cpp0.7,
# and libguestfs0 in a build with guest inspection: the binary links it, so it
# does not start without it). Nothing else is needed at run time: imgtool
# reads and writes images itself and never runs qemu-img. ca-certificates is
# recommended: publish and checksum --verify verify https against the system
# store. When guest inspection moves into a library loaded at first use, that
# library belongs in a package of its own (shlibdeps would otherwise put
# libguestfs0 back into Depends), recommended by this one.
set(CPACK_DEBIAN_CLI_PACKAGE_NAME imgtool)
set(CPACK_DEBIAN_CLI_PACKAGE_SECTION utils)
set(CPACK_DEBIAN_CLI_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_CLI_PACKAGE_RECOMMENDS "ca-certificates")
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
# pkg_check_modules).
set(_dev_depends "zlib1g-dev, libssl-dev, libcurl4-openssl-dev | libcurl-dev, libzstd-dev, libyaml-cpp-dev, nlohmann-json3-dev, pkg-config")
if(IMGTOOL_HAVE_GUESTFS)
  string(APPEND _dev_depends ", libguestfs-dev")
endif()
set(CPACK_DEBIAN_DEV_PACKAGE_NAME imgtool-dev)
set(CPACK_DEBIAN_DEV_PACKAGE_SECTION libdevel)
set(CPACK_DEBIAN_DEV_PACKAGE_SHLIBDEPS OFF)  # nothing to scan: a static library
set(CPACK_DEBIAN_DEV_PACKAGE_DEPENDS "${_dev_depends}")
set(CPACK_DEBIAN_DEV_PACKAGE_SUGGESTS "imgtool")
set(CPACK_DEBIAN_DEV_DESCRIPTION "disk image toolkit for OpenStack Glance - C++20 library
The imgtool library (static), its headers, its CMake package
(find_package(imgtool), target imgtool::imgtool) and its pkg-config file:
format detection, qemu-img compatible info, the safety verdict, conversion to
raw, qcow2 and vmdk, Glance checksums and publishing. Programs using it are
compiled as C++20.")

include(CPack)
