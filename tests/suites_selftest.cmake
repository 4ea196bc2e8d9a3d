# The integration suites' own pieces (suites/tap.c, suites/envconn.c): no services needed.
if(TARGET suites_support)
  envtest_add_test(test_suites_tap SOURCES test_suites_tap.c LIBS suites_support LABEL unit)
endif()
