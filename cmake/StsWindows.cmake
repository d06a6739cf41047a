# The Windows build: the whole product, the same sources as POSIX with src/windows in place of
# src/posix. Two toolchains:
#   - mingw-w64 cross-build from Debian (`mingw` preset; tests run under Wine from the same
#     ctest). yaml-cpp comes from the cache scripts/install-deps.sh fills (built from Debian's
#     source package); spdlog/fmt/nlohmann/Catch2 are used header-only from Debian's
#     /usr/include through a folder of symlinks.
#   - MSVC with a vcpkg manifest (`windows-msvc` preset, vcpkg.json): every dependency through
#     find_package().
#
# Included by the top-level CMakeLists.txt when WIN32, which then returns: nothing below the
# include() there applies to Windows. OpenSSL is not used on Windows (SHA-256 comes from CNG).
#
# Options:
#   STS_WINDOWS_CLI  build src/cli into stsecrets.exe (default ON; its host hooks are
#                    src/windows/host_windows.cpp). The .zip then holds it, and tests/windows runs
#                    it end to end under Wine. OFF builds the library and its tests only.

option(STS_WINDOWS_CLI "Windows: also build the stsecrets command (stsecrets.exe)" ON)

# ---- dependencies ----------------------------------------------------------------------------
# sts_win_deps carries every dependency and the Windows API settings to the library, its tests
# and the command.
add_library(sts_win_deps INTERFACE)
target_compile_definitions(sts_win_deps INTERFACE
  _WIN32_WINNT=0x0A00 WINVER=0x0A00 UNICODE _UNICODE WIN32_LEAN_AND_MEAN NOMINMAX)

if(MINGW)
  # yaml-cpp from the cache only (never the host's Linux build): an explicit prefix, outside
  # the find root path. STS_MINGW_DEPS comes from cmake/mingw-w64-x86_64.cmake (environment,
  # -D, or the default shared with scripts/install-deps.sh).
  set(STS_MINGW_YAML_CPP_PREFIX ${STS_MINGW_DEPS}/yaml-cpp-0.7.0)
  find_package(yaml-cpp 0.7 CONFIG PATHS ${STS_MINGW_YAML_CPP_PREFIX}
               NO_DEFAULT_PATH NO_CMAKE_FIND_ROOT_PATH)
  if(NOT yaml-cpp_FOUND)
    message(FATAL_ERROR "yaml-cpp for mingw-w64 is not in ${STS_MINGW_YAML_CPP_PREFIX}: run "
                        "scripts/install-deps.sh --windows (with the same STS_MINGW_DEPS, if set)")
  endif()

  # Header-only dependencies through symlinks (never all of /usr/include: its glibc headers
  # would shadow the mingw ones), added as a SYSTEM include dir.
  set(STS_WIN_INCLUDE ${CMAKE_BINARY_DIR}/sts-win-include)
  file(MAKE_DIRECTORY ${STS_WIN_INCLUDE})
  foreach(dir spdlog fmt nlohmann catch2)
    if(NOT EXISTS /usr/include/${dir})
      message(FATAL_ERROR "/usr/include/${dir} is missing: run scripts/install-deps.sh")
    endif()
    file(CREATE_LINK /usr/include/${dir} ${STS_WIN_INCLUDE}/${dir} SYMBOLIC)
  endforeach()
  target_include_directories(sts_win_deps SYSTEM INTERFACE ${STS_WIN_INCLUDE})
  # Debian's spdlog is built against external fmt; both are used header-only here.
  target_compile_definitions(sts_win_deps INTERFACE SPDLOG_HEADER_ONLY SPDLOG_FMT_EXTERNAL FMT_HEADER_ONLY)
  target_link_libraries(sts_win_deps INTERFACE yaml-cpp)
  # Static libgcc/libstdc++/winpthread: the binaries then run under Wine (and on Windows)
  # without mingw DLLs next to them. -fstack-protector-strong at link time pulls in libssp,
  # which mingw needs for the stack protector that sts_apply_options() turns on.
  set(STS_WIN_STATIC_LINK -static -static-libgcc -static-libstdc++ -fstack-protector-strong)
  target_link_options(sts_win_deps INTERFACE ${STS_WIN_STATIC_LINK})
else()
  find_package(yaml-cpp CONFIG REQUIRED)
  find_package(spdlog CONFIG REQUIRED)
  find_package(nlohmann_json 3.11 CONFIG REQUIRED)
  target_link_libraries(sts_win_deps INTERFACE yaml-cpp spdlog::spdlog nlohmann_json::nlohmann_json)
  set(STS_WIN_STATIC_LINK "")
endif()
# shell32: CommandLineToArgvW (sts::command_line in host_windows.cpp).
target_link_libraries(sts_win_deps INTERFACE bcrypt advapi32 shell32)

# ---- the library -----------------------------------------------------------------------------
# CMake picks the platform files by directory, never by #ifdef (STYLE 1): all of src/common,
# plus src/windows instead of src/posix.
file(GLOB STS_COMMON_SOURCES CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/src/common/*.cpp)
file(GLOB STS_WINDOWS_SOURCES CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/src/windows/*.cpp)

# Static, named stsecrets like on POSIX so code and tests link the same name.
add_library(stsecrets STATIC ${STS_COMMON_SOURCES} ${STS_WINDOWS_SOURCES})
add_library(stsecrets::stsecrets ALIAS stsecrets)
sts_apply_options(stsecrets)
target_include_directories(stsecrets
  PUBLIC ${PROJECT_SOURCE_DIR}/include
  PRIVATE ${PROJECT_SOURCE_DIR}/src)
target_link_libraries(stsecrets PUBLIC sts_win_deps)

# ---- the command -----------------------------------------------------------------------------
if(STS_WINDOWS_CLI)
  file(GLOB STS_CLI_SOURCES CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/src/cli/*.cpp)
  add_executable(stsecrets_cli ${STS_CLI_SOURCES})
  set_target_properties(stsecrets_cli PROPERTIES OUTPUT_NAME stsecrets)
  sts_apply_options(stsecrets_cli)
  # A client of the public API only, as on POSIX: no private include path.
  target_link_libraries(stsecrets_cli PRIVATE stsecrets)
  target_compile_definitions(stsecrets_cli PRIVATE STS_VERSION="${PROJECT_VERSION}")
endif()

# The .zip (cpack -G ZIP): stsecrets.exe when built, docs and examples; its install rules live
# in StsPackage's WIN32 part, with its "package/zip" test.
include(StsPackage)

if(STS_BUILD_TESTS)
  enable_testing()
  add_subdirectory(${PROJECT_SOURCE_DIR}/tests/windows ${CMAKE_BINARY_DIR}/tests/windows)
endif()
