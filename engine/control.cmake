# The control plane (one dedicated thread): durable SQLite store, admin/Ditto resource API,
# and the immutable security snapshots published to the shards. Included from
# engine/CMakeLists.txt.
if(NOT TARGET PkgConfig::SQLITE3)
  message(FATAL_ERROR "sb_control needs SQLite (pkg-config sqlite3)")
endif()
if(NOT TARGET PkgConfig::SODIUM)
  message(FATAL_ERROR "sb_control needs libsodium (pkg-config libsodium)")
endif()
add_library(sb_control STATIC
  ${CMAKE_CURRENT_LIST_DIR}/store.cc
  ${CMAKE_CURRENT_LIST_DIR}/security.cc
  ${CMAKE_CURRENT_LIST_DIR}/control_plane.cc
)
target_include_directories(sb_control PUBLIC ${CMAKE_SOURCE_DIR})
target_link_libraries(sb_control
  PUBLIC sb_policy simdjson::simdjson Threads::Threads
  PRIVATE PkgConfig::SQLITE3 PkgConfig::SODIUM)
