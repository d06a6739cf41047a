# Packaging: what an installed stsecrets carries besides the binary (man page, bash completion,
# documentation, examples, Debian copyright and changelog) and the CPack settings that turn an
# install into packages.
#
# Usage (from the top-level CMakeLists.txt, after the targets and their install rules):
#   include(StsPackage)
#   cmake --preset package && cmake --build --preset package
#   (cd build/package && cpack -G DEB)     # stsecrets_<v>_amd64.deb, libstsecrets-dev_<v>_amd64.deb
#   (cd build/mingw && cpack -G ZIP)       # stsecrets-<v>-win64.zip (once the WIN32 branch includes this)
#
# Packages (Linux, CPack DEB with components; decisions in packaging/README.md):
#   runtime -> stsecrets          /usr/bin/stsecrets, man page, bash completion, docs, examples
#   dev     -> libstsecrets-dev   static library, headers, CMake package files; depends on the
#                                 -dev packages that stsecretsConfig.cmake's find_dependency() needs
# The install rules of the library and the command in CMakeLists.txt name these components.
#
# One version: project(stsecrets VERSION ...) drives --version (STS_VERSION), the package
# Version field, the man page header, the Debian changelog entry and stsecretsConfigVersion.cmake.
# One date: SOURCE_DATE_EPOCH when set, else the last commit's date, else today (UTC); it dates
# the man page and the newest Debian changelog entry, so one commit packages reproducibly.
#
# Ownership: packaging (this file, packaging/**, tests/package/**). No state beyond CMake variables.
include_guard(GLOBAL)

set(STS_PACKAGE_MAINTAINER "stsecrets maintainers <stsecrets-maintainers@example.org>"
    CACHE STRING "Maintainer field of the Debian packages and of their changelog entry")
option(STS_PACKAGE_TESTS "Add the package tests (tests/package) to ctest" OFF)

set(STS_PACKAGING_DIR ${PROJECT_SOURCE_DIR}/packaging)
set(STS_PACKAGING_OUT ${PROJECT_BINARY_DIR}/packaging)
file(MAKE_DIRECTORY ${STS_PACKAGING_OUT})

# ---- the release date -----------------------------------------------------------------------
# string(TIMESTAMP) honours SOURCE_DATE_EPOCH; without it, borrow the last commit's time for the
# duration of these calls.
function(sts_release_dates)
  set(restore_epoch "")
  set(had_epoch FALSE)
  if(DEFINED ENV{SOURCE_DATE_EPOCH})
    set(had_epoch TRUE)
  else()
    find_package(Git QUIET)
    if(GIT_FOUND)
      execute_process(COMMAND ${GIT_EXECUTABLE} log -1 --format=%ct
        WORKING_DIRECTORY ${PROJECT_SOURCE_DIR} OUTPUT_VARIABLE epoch RESULT_VARIABLE rc
        OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
      if(rc EQUAL 0 AND epoch MATCHES "^[0-9]+$")
        set(ENV{SOURCE_DATE_EPOCH} ${epoch})
      endif()
    endif()
  endif()
  string(TIMESTAMP day "%Y-%m-%d" UTC)
  string(TIMESTAMP rfc2822 "%a, %d %b %Y %H:%M:%S +0000" UTC)
  if(NOT had_epoch)
    unset(ENV{SOURCE_DATE_EPOCH})
  endif()
  set(STS_RELEASE_DATE ${day} PARENT_SCOPE)
  set(STS_RELEASE_DATE_RFC2822 ${rfc2822} PARENT_SCOPE)
endfunction()
sts_release_dates()

set(CPACK_PACKAGE_NAME stsecrets)
set(CPACK_PACKAGE_VENDOR "stsecrets")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT ${STS_PACKAGE_MAINTAINER})
set(CPACK_PACKAGE_CHECKSUM SHA256)
set(CPACK_PACKAGE_DIRECTORY ${PROJECT_BINARY_DIR}/packages)
set(CPACK_OUTPUT_CONFIG_FILE ${PROJECT_BINARY_DIR}/CPackConfig.cmake)

if(WIN32)
  # ---- Windows: one .zip -----------------------------------------------------------------
  # stsecrets.exe at the top, documentation beside it. No man page or completion there.
  if(TARGET stsecrets_cli)
    install(TARGETS stsecrets_cli RUNTIME DESTINATION . COMPONENT runtime)
  endif()
  install(FILES ${PROJECT_SOURCE_DIR}/README.md ${PROJECT_SOURCE_DIR}/CHANGELOG.md
    DESTINATION . COMPONENT runtime)
  install(FILES ${STS_PACKAGING_DIR}/debian/copyright DESTINATION . RENAME COPYRIGHT.txt COMPONENT runtime)
  install(DIRECTORY ${PROJECT_SOURCE_DIR}/docs/ DESTINATION docs COMPONENT runtime)
  # Windows cannot name a file with " < > : | ? * (the JSON-named example secret): leave those
  # out. File by file, because an install(DIRECTORY) REGEX holding a quote is not escaped in the
  # generated install script.
  file(GLOB_RECURSE _sts_examples RELATIVE ${PROJECT_SOURCE_DIR}/examples ${PROJECT_SOURCE_DIR}/examples/*)
  foreach(f IN LISTS _sts_examples)
    if(NOT f MATCHES "[\"<>:|?*]")
      get_filename_component(dir ${f} DIRECTORY)
      install(FILES ${PROJECT_SOURCE_DIR}/examples/${f} DESTINATION examples/${dir} COMPONENT runtime)
    endif()
  endforeach()
  set(CPACK_GENERATOR ZIP)
  set(CPACK_ARCHIVE_COMPONENT_INSTALL OFF)
  set(CPACK_COMPONENTS_ALL runtime)
  set(CPACK_PACKAGE_FILE_NAME stsecrets-${PROJECT_VERSION}-win64)
  set(CPACK_INCLUDE_TOPLEVEL_DIRECTORY ON)
  set(CPACK_STRIP_FILES ON)
  include(CPack)
  if(STS_BUILD_TESTS OR STS_PACKAGE_TESTS)
    enable_testing()
    add_test(NAME "package/zip: cpack -G ZIP holds stsecrets.exe (when built), the docs and the examples"
      COMMAND ${PROJECT_SOURCE_DIR}/tests/package/package_test.sh zip ${PROJECT_BINARY_DIR}
        ${PROJECT_BINARY_DIR}/tests/package/work ${PROJECT_VERSION})
    set_tests_properties("package/zip: cpack -G ZIP holds stsecrets.exe (when built), the docs and the examples"
      PROPERTIES TIMEOUT 300)
  endif()
  return()
endif()

# ---- generated files: man page, Debian changelog, compressed docs ----------------------------
# Debian policy 12.3/12.7: man pages, changelogs and docs over 4 KiB are gzip -9n (no name, no
# timestamp: reproducible). packaging/gzip.cmake does it without a shell redirection.
find_program(STS_GZIP gzip REQUIRED)
configure_file(${STS_PACKAGING_DIR}/stsecrets.1.in ${STS_PACKAGING_OUT}/stsecrets.1 @ONLY)
configure_file(${STS_PACKAGING_DIR}/debian/changelog.in ${STS_PACKAGING_OUT}/changelog @ONLY)

set(STS_GZIPPED "")
function(sts_gzip input output)
  add_custom_command(OUTPUT ${output}
    COMMAND ${CMAKE_COMMAND} -DGZIP=${STS_GZIP} -DINPUT=${input} -DOUTPUT=${output} -P ${STS_PACKAGING_DIR}/gzip.cmake
    DEPENDS ${input} ${STS_PACKAGING_DIR}/gzip.cmake
    COMMENT "gzip -9n ${input}" VERBATIM)
  set(STS_GZIPPED ${STS_GZIPPED} ${output} PARENT_SCOPE)
endfunction()

sts_gzip(${STS_PACKAGING_OUT}/stsecrets.1 ${STS_PACKAGING_OUT}/stsecrets.1.gz)
sts_gzip(${STS_PACKAGING_OUT}/changelog ${STS_PACKAGING_OUT}/changelog.gz)
# The documents an operator reads, flat in /usr/share/doc/stsecrets.
set(STS_PACKAGED_DOCS README.md CHANGELOG.md docs/cli.md docs/configuration.md docs/executable-rules.md)
foreach(doc IN LISTS STS_PACKAGED_DOCS)
  get_filename_component(name ${doc} NAME)
  sts_gzip(${PROJECT_SOURCE_DIR}/${doc} ${STS_PACKAGING_OUT}/doc/${name}.gz)
endforeach()
add_custom_target(sts_package_files ALL DEPENDS ${STS_GZIPPED})

# ---- install: runtime (the stsecrets package) ------------------------------------------------
install(FILES ${STS_PACKAGING_OUT}/stsecrets.1.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man1 COMPONENT runtime)
install(FILES ${STS_PACKAGING_DIR}/bash-completion/stsecrets
  DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions COMPONENT runtime)
install(FILES ${STS_PACKAGING_DIR}/debian/copyright ${STS_PACKAGING_OUT}/changelog.gz
  DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/stsecrets COMPONENT runtime)
foreach(doc IN LISTS STS_PACKAGED_DOCS)
  get_filename_component(name ${doc} NAME)
  install(FILES ${STS_PACKAGING_OUT}/doc/${name}.gz DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/stsecrets
    COMPONENT runtime)
endforeach()
# Modes are set here, not taken from the work tree: examples/demo.sh makes the secrets 0600 in
# place, and a package must not ship root-only files that users are meant to copy.
install(DIRECTORY ${PROJECT_SOURCE_DIR}/examples/ DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/stsecrets/examples
  COMPONENT runtime
  FILE_PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ
  DIRECTORY_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE WORLD_READ WORLD_EXECUTE
  PATTERN "*.sh" PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE WORLD_READ WORLD_EXECUTE
  PATTERN "*.py" PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)

# ---- install: dev (the libstsecrets-dev package) ---------------------------------------------
# Every binary package carries its own copyright and changelog (Debian policy 12.5, 12.7).
install(FILES ${STS_PACKAGING_DIR}/debian/copyright ${STS_PACKAGING_OUT}/changelog.gz
  DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/libstsecrets-dev COMPONENT dev)
# When the install strips (cpack with CPACK_STRIP_FILES, cmake --install --strip), finish the job
# as dh_strip does: drop the compiler's .comment/.note sections from the command, and from the
# archive only its debug sections (CMake never strips an archive: a full strip would take its
# symbol table).
function(sts_strip_installed file component)
  if(NOT CMAKE_STRIP)
    return()
  endif()
  install(CODE "if(CMAKE_INSTALL_DO_STRIP)
  execute_process(COMMAND \"${CMAKE_STRIP}\" ${ARGN} --remove-section=.comment --remove-section=.note
    \"\$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}/${file}\" RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR \"strip of ${file} failed: \${rc}\")
  endif()
endif()" COMPONENT ${component})
endfunction()
sts_strip_installed(${CMAKE_INSTALL_BINDIR}/$<TARGET_FILE_NAME:stsecrets_cli> runtime)
get_target_property(_sts_lib_type stsecrets TYPE)
if(_sts_lib_type STREQUAL "STATIC_LIBRARY")
  sts_strip_installed(${CMAKE_INSTALL_LIBDIR}/$<TARGET_FILE_NAME:stsecrets> dev
    --strip-debug --enable-deterministic-archives)
endif()

# ---- CPack: DEB ------------------------------------------------------------------------------
set(CPACK_GENERATOR DEB)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL runtime dev)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SOURCE stsecrets)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_COMPRESSION_TYPE xz)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

set(CPACK_DEBIAN_RUNTIME_PACKAGE_NAME stsecrets)
set(CPACK_DEBIAN_RUNTIME_PACKAGE_SECTION admin)
# dpkg-shlibdeps (dpkg-dev) turns the binary's NEEDED entries into versioned Depends.
set(CPACK_DEBIAN_RUNTIME_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_RUNTIME_PACKAGE_SUGGESTS "bash-completion")
set(CPACK_DEBIAN_RUNTIME_DESCRIPTION "resolve ENC[] secrets in agent configs through a checked backend
stsecrets resolves ENC[handle] secret handles in StackState Agent YAML
configuration by running a user-provided secret backend executable, and
does it defensively: the executable, its interpreter and every folder
above them are checked for ownership and mode (and an optional SHA-256
pin) before each run, and the file that was checked is the file that runs.
The backend gets a scrubbed environment, only its three standard streams,
no new privileges, a deadline that kills its whole process tree and capped
output; its JSON answer is validated strictly.
.
Resolved values are cached in locked, zeroizing memory and never written
to logs, errors or audit records. The commands: check (audit a backend
setup), handles, resolve (write resolved configuration files), exec (run
a program with resolved environment variables), a file-reading backend
helper, and backend (serve an unmodified agent as its secret backend).")

set(CPACK_DEBIAN_DEV_PACKAGE_NAME libstsecrets-dev)
set(CPACK_DEBIAN_DEV_PACKAGE_SECTION libdevel)
# What stsecretsConfig.cmake's find_dependency() calls need, at the versions the build requires.
set(CPACK_DEBIAN_DEV_PACKAGE_DEPENDS
  "libyaml-cpp-dev (>= 0.7), libssl-dev (>= 3), libspdlog-dev (>= 1:1.10), libfmt-dev, nlohmann-json3-dev (>= 3.11)")
set(CPACK_DEBIAN_DEV_DESCRIPTION "C++ library to resolve ENC[] secrets through a checked backend
libstsecrets is the C++20 library behind the stsecrets command: it scans
agent YAML configuration and the environment for ENC[handle] secret
handles, runs a user-provided secret backend after checking its ownership
and mode, with a scrubbed environment, a deadline and capped output,
validates the answer strictly and keeps the values in a locked, zeroizing
cache.
.
This package holds the static library, its headers and the CMake package
files: find_package(stsecrets) and link stsecrets::stsecrets.")

include(CPack)

if(STS_PACKAGE_TESTS)
  enable_testing()
  add_subdirectory(${PROJECT_SOURCE_DIR}/tests/package ${PROJECT_BINARY_DIR}/tests/package)
endif()
