# Warnings and sanitizers live on a private interface target, never on global flags: consumers of
# smtp::client get none of them. Every project target links it PRIVATE (through BUILD_INTERFACE so
# it is not exported).
add_library(smtpkit_options INTERFACE)
target_compile_features(smtpkit_options INTERFACE cxx_std_20)
target_compile_options(smtpkit_options INTERFACE
  $<$<CXX_COMPILER_ID:GNU,Clang>:-Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wsign-conversion
    -Wnon-virtual-dtor -Wold-style-cast -Woverloaded-virtual -Wimplicit-fallthrough>
  $<$<BOOL:${SMTPKIT_WERROR}>:-Werror>
  # GCC 12 at -O2 reports maybe-uninitialized through std::optional's storage when inlining
  # (GCC bug 80635): seen three times here on correct code. It stays a warning, not an error.
  $<$<AND:$<BOOL:${SMTPKIT_WERROR}>,$<CXX_COMPILER_ID:GNU>>:-Wno-error=maybe-uninitialized>)
if(SMTPKIT_SANITIZE)
  target_compile_options(smtpkit_options INTERFACE -fsanitize=${SMTPKIT_SANITIZE} -fno-omit-frame-pointer
    -fno-sanitize-recover=all)
  target_link_options(smtpkit_options INTERFACE -fsanitize=${SMTPKIT_SANITIZE})
  # clang < 15 cannot emit -fsanitize=function's prologue data for coroutine frames ("error:
  # Cannot represent a difference across sections", LLVM issue 49689). Only that one check of
  # UBSan is left out, and only on those compilers; every other UBSan check stays on.
  if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 15
     AND SMTPKIT_SANITIZE MATCHES "undefined")
    target_compile_options(smtpkit_options INTERFACE -fno-sanitize=function)
  endif()
endif()
# libFuzzer targets under fuzz/ (clang only).
option(SMTPKIT_FUZZ "Build the libFuzzer targets in fuzz/ (needs clang)" OFF)

# smtpkit_add_gtest(NAME SOURCES... LIBS...): one GoogleTest executable registered with CTest.
function(smtpkit_add_gtest name)
  cmake_parse_arguments(ARG "" "" "SOURCES;LIBS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_LIBS} GTest::gtest GTest::gmock GTest::gtest_main
    $<BUILD_INTERFACE:smtpkit_options>)
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 30 PROPERTIES TIMEOUT 120)
endfunction()
