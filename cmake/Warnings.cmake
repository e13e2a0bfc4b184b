# Warning set for all our targets (style.md practice 20/23).
set(NP_WARNINGS -Wall -Wextra -Wformat=2 -Wundef -Wstrict-prototypes
    -Wmissing-prototypes -Wno-unused-parameter -Wvla -Wpointer-arith)
if(NP_WERROR)
  list(APPEND NP_WARNINGS -Werror)
endif()
add_compile_options(${NP_WARNINGS})
add_compile_definitions(_GNU_SOURCE)
set(CMAKE_C_VISIBILITY_PRESET hidden)
