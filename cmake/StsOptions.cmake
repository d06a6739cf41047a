# The one list of warnings and hardening flags (STYLE 14). Every target of the project calls
# sts_apply_options(); nothing sets flags globally.
if(MSVC)
  # cl (windows-msvc preset): /W4 with conformance mode; /utf-8 because sources and messages are
  # UTF-8. Hardening: stack cookies, SDL checks, Control Flow Guard, ASLR/DEP/CET at link time.
  set(STS_WARNINGS /W4 /permissive- /utf-8)
  set(STS_HARDENING_COMPILE /GS /sdl /guard:cf)
  set(STS_HARDENING_LINK /guard:cf /DYNAMICBASE /HIGHENTROPYVA /NXCOMPAT /CETCOMPAT)
else()
  set(STS_WARNINGS -Wall -Wextra -Wpedantic -Wconversion -Wsign-conversion -Wshadow)
  set(STS_HARDENING_COMPILE -fstack-protector-strong -fPIE)
  set(STS_HARDENING_LINK -Wl,-z,relro,-z,now,-z,noexecstack)
  if(NOT WIN32)
    list(APPEND STS_HARDENING_LINK -pie)
  endif()
endif()

function(sts_apply_options target)
  target_compile_options(${target} PRIVATE ${STS_WARNINGS} ${STS_HARDENING_COMPILE})
  if(STS_WERROR AND MSVC)
    target_compile_options(${target} PRIVATE /WX)
  elseif(STS_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
  get_target_property(type ${target} TYPE)
  if(MSVC)
    if(type STREQUAL "EXECUTABLE")
      target_link_options(${target} PRIVATE ${STS_HARDENING_LINK})
    endif()
    return()
  endif()
  # _FORTIFY_SOURCE needs optimisation and is meaningless under ASan.
  if(NOT STS_SANITIZE AND NOT STS_TSAN AND NOT CMAKE_BUILD_TYPE STREQUAL "Debug")
    target_compile_definitions(${target} PRIVATE _FORTIFY_SOURCE=2)
  endif()
  if(NOT WIN32)
    if(type STREQUAL "EXECUTABLE")
      target_link_options(${target} PRIVATE ${STS_HARDENING_LINK})
    else()
      target_link_options(${target} PRIVATE -Wl,-z,relro,-z,now,-z,noexecstack)
    endif()
  endif()
  if(STS_SANITIZE)
    target_compile_options(${target} PRIVATE -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
    target_link_options(${target} PRIVATE -fsanitize=address,undefined -fno-sanitize-recover=all)
  endif()
  if(STS_TSAN)
    target_compile_options(${target} PRIVATE -fsanitize=thread -fno-omit-frame-pointer)
    target_link_options(${target} PRIVATE -fsanitize=thread)
  endif()
endfunction()

# The stsecrets command carries its C++ dependencies (libstdc++, libgcc, yaml-cpp, libcrypto)
# inside itself and loads only libc and libm: with six shared libraries bound at start-up
# (-z now), the dynamic loader alone took about 6.4 million instructions of every run, more
# than the command's own work (bench/README.md, "CLI startup"). The binary stays a PIE with
# full RELRO, BIND_NOW, an NX stack, the stack protector and FORTIFY, all of which
# security/check-hardening.sh reads from its libc imports. libc stays shared, so name-service
# lookups (getpwuid_r for `stsecrets check`) keep working with every NSS module.
# --as-needed drops the shared yaml-cpp and libcrypto that the library's link interface also
# names. Sanitizer builds keep the shared libraries (their runtimes interpose on them).
option(STS_CLI_STATIC_DEPS "Link the stsecrets command's C++ dependencies statically (libc stays shared)" ON)

function(sts_link_cli_dependencies_statically target)
  if(NOT STS_CLI_STATIC_DEPS OR STS_SANITIZE OR STS_TSAN OR WIN32 OR APPLE OR MSVC)
    return()
  endif()
  get_filename_component(crypto_dir "${OPENSSL_CRYPTO_LIBRARY}" DIRECTORY)
  find_library(STS_CRYPTO_ARCHIVE NAMES libcrypto.a HINTS ${crypto_dir})
  find_library(STS_YAML_CPP_ARCHIVE NAMES libyaml-cpp.a)
  if(NOT STS_CRYPTO_ARCHIVE OR NOT STS_YAML_CPP_ARCHIVE)
    message(STATUS "stsecrets command: libcrypto.a or libyaml-cpp.a not found, linking them shared "
                   "(start-up is slower; see bench/README.md)")
    return()
  endif()
  # The archives come right after the library on the link line, before the shared objects its
  # interface adds, so they resolve every symbol and --as-needed leaves the .so files out.
  target_link_libraries(${target} PRIVATE ${STS_YAML_CPP_ARCHIVE} ${STS_CRYPTO_ARCHIVE})
  # --gc-sections: the archives bring whole objects; unused sections are pages to map at start.
  target_link_options(${target} PRIVATE -static-libstdc++ -static-libgcc LINKER:--as-needed LINKER:--gc-sections)
endfunction()
