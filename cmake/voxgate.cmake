# voxgate_module(NAME SOURCES ... DEPS ...): one static library per src/ module.
function(voxgate_module name)
  cmake_parse_arguments(M "" "" "SOURCES;DEPS" ${ARGN})
  add_library(voxgate_${name} STATIC ${M_SOURCES})
  target_include_directories(voxgate_${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(voxgate_${name} PUBLIC ${M_DEPS})
endfunction()

# voxgate_test(NAME SOURCES ... DEPS ... [LABELS ...]): a GoogleTest executable registered with ctest.
function(voxgate_test name)
  cmake_parse_arguments(T "" "" "SOURCES;DEPS;LABELS" ${ARGN})
  add_executable(${name} ${T_SOURCES})
  set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/src ${PROJECT_SOURCE_DIR}/tests)
  target_link_libraries(${name} PRIVATE ${T_DEPS} GTest::gtest GTest::gmock GTest::gtest_main)
  # Where test data in the source tree is, also when the test runs outside ctest.
  target_compile_definitions(${name} PRIVATE VOXGATE_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
  add_test(NAME ${name} COMMAND ${name})
  set_tests_properties(${name} PROPERTIES LABELS "unit;${T_LABELS}"
    ENVIRONMENT "VOXGATE_BIN_DIR=${CMAKE_BINARY_DIR}/bin")
endfunction()

# voxgate_fuzzer(NAME SOURCES ... DEPS ...): a libFuzzer target, built only with VOXGATE_FUZZ.
function(voxgate_fuzzer name)
  cmake_parse_arguments(F "" "" "SOURCES;DEPS" ${ARGN})
  if(NOT VOXGATE_FUZZ)
    return()
  endif()
  add_executable(${name} ${F_SOURCES})
  target_link_options(${name} PRIVATE -fsanitize=fuzzer)
  target_link_libraries(${name} PRIVATE ${F_DEPS})
  add_dependencies(fuzz_targets ${name})
endfunction()
