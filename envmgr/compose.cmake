# Compose files -> envtest's model (libyaml), interpolation, JSON output.
add_library(envmgr_compose STATIC compose.c compose_yaml.c compose_interpolate.c compose_service.c
                                  compose_mounts.c compose_json.c)
target_link_libraries(envmgr_compose PUBLIC envmgr_core PkgConfig::YAML PkgConfig::JANSSON)
envtest_target_defaults(envmgr_compose)
target_link_libraries(envmgr INTERFACE envmgr_compose)
