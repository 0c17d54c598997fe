# Writes OUT: a C++ source holding CONFIG as a string constant.
file(READ ${CONFIG} config)
set(delimiter "fg_demo_data")
file(WRITE ${OUT} "// Generated from src/demo/data by embed.cmake; do not edit.\n")
file(APPEND ${OUT} "#include <string_view>\nnamespace fg::demo {\n")
file(APPEND ${OUT} "extern const std::string_view kDemoToml;\n")
file(APPEND ${OUT} "const std::string_view kDemoToml = R\"${delimiter}(${config})${delimiter}\";\n")
file(APPEND ${OUT} "}  // namespace fg::demo\n")
