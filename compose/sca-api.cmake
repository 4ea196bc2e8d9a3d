# sca-api (the system under test): its own CMakeLists.txt in sca-api/ (after mocks.cmake: it is
# built on mock-common). Binary dir compose/sca-api-build; the image context is
# ${CMAKE_BINARY_DIR}/compose/sca-api/context.
add_subdirectory(${CMAKE_CURRENT_LIST_DIR}/sca-api ${CMAKE_BINARY_DIR}/compose/sca-api-build)
