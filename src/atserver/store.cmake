# src/atserver/store.cmake - the atServer's persistence layer (key store,
# commit log, notification log on SQLite; docs/internals/keystore.md).
# Included from src/atserver/CMakeLists.txt.
add_library(atserver_store STATIC
  ${CMAKE_CURRENT_LIST_DIR}/store_db.c
  ${CMAKE_CURRENT_LIST_DIR}/keystore.c
  ${CMAKE_CURRENT_LIST_DIR}/notify_store.c)
target_include_directories(atserver_store PUBLIC ${CMAKE_CURRENT_LIST_DIR})
target_link_libraries(atserver_store PUBLIC np_util PkgConfig::SQLITE3)
