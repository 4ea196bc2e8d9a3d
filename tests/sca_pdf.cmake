# sca-api's PDF text module (compose/sca-api/pdf/): unit tests over the fixture's generated PDFs
# (fixtures/documents.cmake), the same under valgrind, and the libFuzzer target with its corpus.
if(TARGET sca_pdf AND TARGET mock-llm_core)
  # mock-llm_core: its embeddings, to check that each question's nearest page is the right one
  envtest_add_test(test_sca_pdf SOURCES test_sca_pdf.c LIBS sca_pdf mock-llm_core PkgConfig::JANSSON
                   LABEL unit TIMEOUT 300)
  target_include_directories(test_sca_pdf PRIVATE ${PROJECT_SOURCE_DIR}/fixtures)
  add_dependencies(test_sca_pdf seoul-documents)

  find_program(ENVTEST_VALGRIND valgrind)
  if(ENVTEST_VALGRIND AND NOT ENVTEST_SANITIZE)
    add_test(NAME test_sca_pdf_valgrind
             COMMAND ${ENVTEST_VALGRIND} --quiet --error-exitcode=99 --leak-check=full
                     --errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect
                     $<TARGET_FILE:test_sca_pdf>)
    set_tests_properties(test_sca_pdf_valgrind PROPERTIES LABELS unit TIMEOUT 900
      ENVIRONMENT "ENVTEST_SOURCE_DIR=${PROJECT_SOURCE_DIR};ENVTEST_BINARY_DIR=${PROJECT_BINARY_DIR};CMOCKA_MESSAGE_OUTPUT=STDOUT")
  endif()

  # The corpus replayed in every build (unit test); with -DENVTEST_FUZZ=ON (clang) fuzz_sca_pdf is
  # the libFuzzer target, the module's sources compiled in for coverage. The committed corpus is
  # small text-like inputs; the replay adds one generated PDF (fixtures/documents/).
  set(sca_pdf_generated ${CMAKE_BINARY_DIR}/tests/fuzz/corpus_sca_pdf)
  add_custom_command(
    OUTPUT ${sca_pdf_generated}/sales_report.pdf
    COMMAND ${CMAKE_COMMAND} -E make_directory ${sca_pdf_generated}
    COMMAND ${CMAKE_COMMAND} -E copy ${CMAKE_BINARY_DIR}/fixtures/documents/sales_report.pdf ${sca_pdf_generated}/
    DEPENDS ${CMAKE_BINARY_DIR}/fixtures/documents/sales_report.pdf seoul-documents
    VERBATIM)
  add_custom_target(sca_pdf_fuzz_seed DEPENDS ${sca_pdf_generated}/sales_report.pdf)
  set(sca_pdf_corpus ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/corpus/sca_pdf ${sca_pdf_generated})
  get_target_property(sca_pdf_libs sca_pdf INTERFACE_LINK_LIBRARIES)
  add_executable(sca_pdf_fuzz_replay fuzz/fuzz_sca_pdf.c)
  target_compile_definitions(sca_pdf_fuzz_replay PRIVATE SCA_PDF_FUZZ_REPLAY)
  target_link_libraries(sca_pdf_fuzz_replay PRIVATE sca_pdf)
  envtest_target_defaults(sca_pdf_fuzz_replay)
  add_dependencies(sca_pdf_fuzz_replay sca_pdf_fuzz_seed)
  add_test(NAME sca_pdf_fuzz_corpus COMMAND sca_pdf_fuzz_replay ${sca_pdf_corpus})
  set_tests_properties(sca_pdf_fuzz_corpus PROPERTIES LABELS unit TIMEOUT 120)

  if(ENVTEST_FUZZ)
    get_target_property(sca_pdf_sources sca_pdf SOURCES)
    list(TRANSFORM sca_pdf_sources PREPEND ${PROJECT_SOURCE_DIR}/compose/sca-api/pdf/)
    add_executable(fuzz_sca_pdf fuzz/fuzz_sca_pdf.c ${sca_pdf_sources})
    target_include_directories(fuzz_sca_pdf PRIVATE ${PROJECT_SOURCE_DIR}/compose/sca-api/pdf)
    target_include_directories(fuzz_sca_pdf SYSTEM PRIVATE ${SCA_MUPDF_INCLUDE})
    target_link_libraries(fuzz_sca_pdf PRIVATE ${sca_pdf_libs})
    envtest_target_defaults(fuzz_sca_pdf)
    target_compile_options(fuzz_sca_pdf PRIVATE -fsanitize=fuzzer,address,undefined -g)
    target_link_options(fuzz_sca_pdf PRIVATE -fsanitize=fuzzer,address,undefined)
    add_dependencies(fuzz_sca_pdf sca_pdf_fuzz_seed)
    add_test(NAME fuzz_sca_pdf_corpus COMMAND fuzz_sca_pdf -runs=0 ${sca_pdf_corpus})
    set_tests_properties(fuzz_sca_pdf_corpus PROPERTIES LABELS unit TIMEOUT 120)
  endif()
endif()
