# The library's shape (tests/layout_check.sh): who includes what, enforced by the include
# directories; no build switches. cmd/'s and the env module's include directories are passed as
# CMake computes them (transitively), so the probes see what the real compiles see.
add_test(NAME test_layout
         COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/layout_check.sh ${PROJECT_SOURCE_DIR} ${CMAKE_C_COMPILER}
                 "$<TARGET_PROPERTY:envtest,INCLUDE_DIRECTORIES>"
                 "$<TARGET_PROPERTY:envmgr_env,INCLUDE_DIRECTORIES>")
set_tests_properties(test_layout PROPERTIES LABELS unit TIMEOUT 300)
