# Cross-build for 64-bit Windows with Debian's mingw-w64 (posix threads flavour).
#
# Usage: the `mingw` preset (CMakePresets.json); scripts/install-deps.sh also builds yaml-cpp
# with this file so that library and project share one compiler and one libstdc++ ABI.
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR x86_64)
set(CMAKE_C_COMPILER x86_64-w64-mingw32-gcc-posix)
set(CMAKE_CXX_COMPILER x86_64-w64-mingw32-g++-posix)
set(CMAKE_RC_COMPILER x86_64-w64-mingw32-windres)
set(CMAKE_FIND_ROOT_PATH /usr/x86_64-w64-mingw32)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
# Packages only from the roots: the host's Linux yaml-cpp config must never be picked up.
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
# Tests run under Wine from the same ctest invocation.
set(CMAKE_CROSSCOMPILING_EMULATOR /usr/lib/wine/wine64)

# Where scripts/install-deps.sh caches the mingw-w64 builds of dependencies (outside the source
# tree): the same variable and default as the script. cmake/StsWindows.cmake finds yaml-cpp in
# ${STS_MINGW_DEPS}/yaml-cpp-0.7.0. The environment wins when set (so fixing it and
# re-configuring works); otherwise -D or the value cached by an earlier configure; otherwise
# the default.
if(DEFINED ENV{STS_MINGW_DEPS} AND NOT "$ENV{STS_MINGW_DEPS}" STREQUAL "")
  set(STS_MINGW_DEPS "$ENV{STS_MINGW_DEPS}" CACHE PATH "Cache of mingw-w64 dependency builds" FORCE)
elseif(NOT DEFINED STS_MINGW_DEPS)
  set(STS_MINGW_DEPS /var/cache/stsecrets/mingw CACHE PATH "Cache of mingw-w64 dependency builds")
endif()
