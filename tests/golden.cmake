# Golden program tests (tests/programs/**.dl, run by run_golden.py) and the
# truncation robustness test (every token prefix of them through `dlc check`).
# Included from tests/CMakeLists.txt; needs the `dlc` target and a Python 3.
find_package(Python3 COMPONENTS Interpreter)
if(NOT Python3_Interpreter_FOUND)
  message(WARNING "python3 not found: the golden and truncation tests are not registered")
elseif(NOT TARGET dlc)
  message(WARNING "no 'dlc' target: the golden and truncation tests are not registered")
else()
  add_test(NAME golden
    COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/run_golden.py
            --dlc $<TARGET_FILE:dlc>)
  set_tests_properties(golden PROPERTIES TIMEOUT 1200)
  add_test(NAME truncation
    COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/truncation.py
            --dlc $<TARGET_FILE:dlc>)
  set_tests_properties(truncation PROPERTIES TIMEOUT 2400)
endif()
