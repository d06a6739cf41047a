# The Windows build (mingw-w64 cross-build; tests run under Wine from the same ctest).
#
# Included by the top-level CMakeLists.txt when WIN32, which then returns: nothing below the
# include() there applies to Windows.
#
# The boundary (DESIGN.md "Dependencies"): yaml-cpp and OpenSSL have no mingw-w64 packages, so
# the Windows build is the *core*: src/windows plus the parts of src/common that need neither.
# Both lists below are explicit; a configure-time check makes sure every src/common/*.cpp is in
# exactly one of them, so a new common file forces a decision instead of silently being skipped.
#
# Header-only dependencies come from Debian's /usr/include through a folder of symlinks in the
# build tree (sts-win-include/), added as a SYSTEM include dir. /usr/include itself is never
# visible to mingw: its glibc headers would shadow the mingw ones.

# Common files the Windows core compiles (need only Win32, nlohmann, spdlog/fmt header-only).
set(STS_WINDOWS_COMMON_FILES
  error.cpp            # code names
  secure_arena.cpp     # the locked arena (memory_lock_windows.cpp underneath)
  log.cpp              # redacting spdlog sink
  redaction.cpp        # known-value scrubber
  secret_cache.cpp     # single-flight zeroizing cache
  json_lexer.cpp       # the strict non-recursive JSON reader of both protocol validators
  request_encode.cpp   # protocol request encoder
  request_parse.cpp    # protocol request validator (stsecrets backend, helper read-file)
  response_parse.cpp   # strict response validator
  expiration.cpp       # RFC 3339 `expiration` of a response entry
  response_strings.cpp # every string value of a response, for redaction
  audit.cpp            # audit lines (private_file_windows.cpp underneath)
  executable_fetcher.cpp  # check + spawn + validate + audit glue (make_fetcher)
  file_backend.cpp     # built-in file backend (make_fetcher refers to it)
  check_backend.cpp    # `stsecrets check` as data (check_executable underneath)
  text.cpp             # escapers, UTF-8, errno text, JSON string literals
)
# Common files left out, and why.
set(STS_WINDOWS_EXCLUDED_COMMON_FILES
  config.cpp           # yaml-cpp
  handle_scan.cpp      # yaml-cpp
  substitution.cpp     # yaml-cpp
  resolver.cpp         # yaml-cpp (through handle_scan/substitution)
)

file(GLOB _sts_common_all RELATIVE ${PROJECT_SOURCE_DIR}/src/common CONFIGURE_DEPENDS
  ${PROJECT_SOURCE_DIR}/src/common/*.cpp)
set(STS_WINDOWS_COMMON_SOURCES "")
foreach(f IN LISTS _sts_common_all)
  if(f IN_LIST STS_WINDOWS_COMMON_FILES)
    list(APPEND STS_WINDOWS_COMMON_SOURCES ${PROJECT_SOURCE_DIR}/src/common/${f})
  elseif(NOT f IN_LIST STS_WINDOWS_EXCLUDED_COMMON_FILES)
    message(WARNING "src/common/${f} is in neither list of cmake/StsWindows.cmake: "
                    "add it to STS_WINDOWS_COMMON_FILES or STS_WINDOWS_EXCLUDED_COMMON_FILES")
  endif()
endforeach()
foreach(f IN LISTS STS_WINDOWS_COMMON_FILES)
  if(NOT f IN_LIST _sts_common_all)
    message(STATUS "stsecrets (Windows): src/common/${f} does not exist (yet); skipped")
  endif()
endforeach()

# Header-only dependencies through symlinks (never all of /usr/include).
set(STS_WIN_INCLUDE ${CMAKE_BINARY_DIR}/sts-win-include)
file(MAKE_DIRECTORY ${STS_WIN_INCLUDE})
foreach(dir spdlog fmt nlohmann catch2)
  if(NOT EXISTS /usr/include/${dir})
    message(FATAL_ERROR "/usr/include/${dir} is missing: run scripts/install-deps.sh")
  endif()
  file(CREATE_LINK /usr/include/${dir} ${STS_WIN_INCLUDE}/${dir} SYMBOLIC)
endforeach()

add_library(sts_win_headers INTERFACE)
target_include_directories(sts_win_headers SYSTEM INTERFACE ${STS_WIN_INCLUDE})
# Debian's spdlog is built against external fmt; both are used header-only here.
target_compile_definitions(sts_win_headers INTERFACE
  SPDLOG_HEADER_ONLY SPDLOG_FMT_EXTERNAL FMT_HEADER_ONLY
  _WIN32_WINNT=0x0A00 WINVER=0x0A00 UNICODE _UNICODE WIN32_LEAN_AND_MEAN NOMINMAX)

file(GLOB STS_WINDOWS_SOURCES CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/src/windows/*.cpp)

# The core library (static). Named stsecrets like on POSIX so code and tests link the same name.
add_library(stsecrets STATIC ${STS_WINDOWS_COMMON_SOURCES} ${STS_WINDOWS_SOURCES})
add_library(stsecrets::stsecrets ALIAS stsecrets)
sts_apply_options(stsecrets)
target_include_directories(stsecrets
  PUBLIC ${PROJECT_SOURCE_DIR}/include
  PRIVATE ${PROJECT_SOURCE_DIR}/src)
target_link_libraries(stsecrets PUBLIC sts_win_headers bcrypt advapi32)
# Static libgcc/libstdc++/winpthread: the test binaries then run under Wine (and on Windows)
# without mingw DLLs next to them. -fstack-protector-strong at link time pulls in libssp, which
# mingw needs for the stack protector that sts_apply_options() turns on.
set(STS_WIN_STATIC_LINK -static -static-libgcc -static-libstdc++ -fstack-protector-strong)
target_link_options(stsecrets INTERFACE ${STS_WIN_STATIC_LINK})

if(NOT STS_WINDOWS_CORE_ONLY)
  message(WARNING "STS_WINDOWS_CORE_ONLY=OFF: the full stsecrets.exe needs yaml-cpp and OpenSSL "
                  "built for mingw-w64, which this build does not provide; building the core only")
endif()

if(STS_BUILD_TESTS)
  enable_testing()
  add_subdirectory(${PROJECT_SOURCE_DIR}/tests/windows ${CMAKE_BINARY_DIR}/tests/windows)
endif()
