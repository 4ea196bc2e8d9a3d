# envmgr_fixture: fixture archives (libarchive), manifest (libyaml/jansson), MySQL LOAD DATA streamed
# through a local-infile handler (libmysqlclient), HTTP/documents steps (libcurl).
add_library(envmgr_fixture STATIC fixture.c fixture_manifest.c fixture_csv.c fixture_mysql.c
                                  fixture_http.c fixture_documents.c fixture_pack.c)
target_link_libraries(envmgr_fixture PUBLIC envmgr_core envmgr_dl
                                            PkgConfig::CURL PkgConfig::YAML PkgConfig::JANSSON
                                            PkgConfig::NETTLE)
# copy steps call envmgr_engine_container_put_archive (declared weak: envmgr_fixture builds and
# its tests link without the engine module).
if(TARGET envmgr_engine)
  target_link_libraries(envmgr_fixture PUBLIC envmgr_engine)
endif()
envtest_target_defaults(envmgr_fixture)
target_link_libraries(envmgr INTERFACE envmgr_fixture)
