# sluice_module(NAME name SOURCES ... DEPS ... [PUBLIC_DEPS ...])
# One library per folder. DEPS are the modules (and third-party targets) it may use;
# scripts/check-layering verifies that includes agree with the declared direction.
function(sluice_module)
  cmake_parse_arguments(M "" "NAME" "SOURCES;DEPS;PRIVATE_DEPS" ${ARGN})
  add_library(sluice_${M_NAME} STATIC ${M_SOURCES})
  target_include_directories(sluice_${M_NAME} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(sluice_${M_NAME} PUBLIC ${M_DEPS} PRIVATE ${M_PRIVATE_DEPS})
endfunction()

# sluice_test(NAME name SOURCES ... DEPS ...) — a GoogleTest binary registered with CTest.
function(sluice_test)
  cmake_parse_arguments(T "" "NAME" "SOURCES;DEPS;LABELS" ${ARGN})
  add_executable(${T_NAME} ${T_SOURCES})
  set_property(GLOBAL APPEND PROPERTY SLUICE_UNIT_TESTS ${T_NAME})
  target_link_libraries(${T_NAME} PRIVATE ${T_DEPS} GTest::gtest GTest::gtest_main GTest::gmock)
  add_test(NAME ${T_NAME} COMMAND ${T_NAME} WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
  set(labels unit)
  if(T_LABELS)
    set(labels ${T_LABELS})
  endif()
  set_tests_properties(${T_NAME} PROPERTIES LABELS "${labels}" ENVIRONMENT "SLUICE_SOURCE_DIR=${PROJECT_SOURCE_DIR}")
endfunction()
