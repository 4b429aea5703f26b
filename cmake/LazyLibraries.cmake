# libcurl (Keystone, Glance), libguestfs (guest inspection) and libcrypto
# (digests) are opened with dlopen() at first use (src/util/shared_library.hpp),
# not linked: linked, they cost every command, `info` included, 63 shared
# libraries (libcurl, libguestfs) and 21,000 relocations (libcrypto) at
# startup. The build needs their headers (for types) and their sonames (for
# dlopen), not their link flags. Defines:
#   imgtool_lazy_headers   INTERFACE target: their include directories (link ${CMAKE_DL_LIBS} too)
#   IMGTOOL_CURL_SONAME    e.g. libcurl.so.4     (cache: set it to override)
#   IMGTOOL_CRYPTO_SONAME  e.g. libcrypto.so.3   (cache: set it to override)
#   IMGTOOL_GUESTFS_SONAME e.g. libguestfs.so.0  (with IMGTOOL_HAVE_GUESTFS)
#   IMGTOOL_CURL_LIBRARY, IMGTOOL_CRYPTO_LIBRARY, IMGTOOL_GUESTFS_LIBRARY: the files
#                          found (cmake/Packaging.cmake asks dpkg which package owns them)
# Included from CMakeLists.txt after find_package(CURL), find_package(OpenSSL)
# and the libguestfs check.

# The SONAME recorded in the shared library the build found: the name the
# dynamic loader (and dlopen) looks for, whatever the distribution calls it.
function(imgtool_soname out_var what lib)
  if(${out_var})
    return()  # given on the command line or found before
  endif()
  if(NOT lib OR NOT EXISTS "${lib}")
    message(FATAL_ERROR "imgtool: no ${what} shared library found to read its SONAME from ('${lib}'); "
                        "set ${out_var} (e.g. -D${out_var}=${what}.so.N)")
  endif()
  get_filename_component(_real "${lib}" REALPATH)
  if(NOT CMAKE_OBJDUMP)
    message(FATAL_ERROR "imgtool: objdump (binutils) is needed to read the SONAME of ${_real}; or set ${out_var}")
  endif()
  execute_process(COMMAND "${CMAKE_OBJDUMP}" -p "${_real}" OUTPUT_VARIABLE _dump RESULT_VARIABLE _rc ERROR_QUIET)
  if(NOT _rc EQUAL 0 OR NOT _dump MATCHES "\n *SONAME +([^ \n]+)")
    message(FATAL_ERROR "imgtool: ${_real} has no SONAME that objdump -p shows; set ${out_var}")
  endif()
  set(${out_var} "${CMAKE_MATCH_1}" CACHE STRING "soname imgtool passes to dlopen() for ${what}" FORCE)
endfunction()

# libcurl: FindCURL names the library in CURL_LIBRARIES; curl's own CMake
# package (CURLConfig.cmake) only gives the imported target.
set(_curl_lib "")
foreach(_l IN LISTS CURL_LIBRARIES)
  if(IS_ABSOLUTE "${_l}" AND _l MATCHES "\\.so")
    set(_curl_lib "${_l}")
  endif()
endforeach()
if(NOT _curl_lib)
  foreach(_p IMPORTED_LOCATION IMPORTED_LOCATION_RELEASE IMPORTED_LOCATION_RELWITHDEBINFO IMPORTED_LOCATION_NOCONFIG)
    get_target_property(_l CURL::libcurl ${_p})
    if(_l AND NOT _curl_lib)
      set(_curl_lib "${_l}")
    endif()
  endforeach()
endif()
imgtool_soname(IMGTOOL_CURL_SONAME libcurl "${_curl_lib}")
set(IMGTOOL_CURL_LIBRARY "${_curl_lib}")

# libcrypto: FindOpenSSL names it in OPENSSL_CRYPTO_LIBRARY.
imgtool_soname(IMGTOOL_CRYPTO_SONAME libcrypto "${OPENSSL_CRYPTO_LIBRARY}")
set(IMGTOOL_CRYPTO_LIBRARY "${OPENSSL_CRYPTO_LIBRARY}")

add_library(imgtool_lazy_headers INTERFACE)
target_include_directories(imgtool_lazy_headers SYSTEM INTERFACE
  $<TARGET_PROPERTY:CURL::libcurl,INTERFACE_INCLUDE_DIRECTORIES>)
target_include_directories(imgtool_lazy_headers SYSTEM INTERFACE
  $<TARGET_PROPERTY:OpenSSL::Crypto,INTERFACE_INCLUDE_DIRECTORIES>)

if(IMGTOOL_HAVE_GUESTFS)
  # pkg_check_modules gives the full paths of -lguestfs in GUESTFS_LINK_LIBRARIES.
  set(_guestfs_lib "")
  foreach(_l IN LISTS GUESTFS_LINK_LIBRARIES)
    if(_l MATCHES "/libguestfs\\.so")
      set(_guestfs_lib "${_l}")
    endif()
  endforeach()
  imgtool_soname(IMGTOOL_GUESTFS_SONAME libguestfs "${_guestfs_lib}")
  set(IMGTOOL_GUESTFS_LIBRARY "${_guestfs_lib}")
  target_include_directories(imgtool_lazy_headers SYSTEM INTERFACE ${GUESTFS_INCLUDE_DIRS})
  target_compile_options(imgtool_lazy_headers INTERFACE ${GUESTFS_CFLAGS_OTHER})
endif()
message(STATUS "imgtool: loaded at first use: ${IMGTOOL_CURL_SONAME} ${IMGTOOL_CRYPTO_SONAME} ${IMGTOOL_GUESTFS_SONAME}")
