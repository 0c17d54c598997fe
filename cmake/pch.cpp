// The one source of fg_pch and fg_pch_test (CMakeLists.txt), which exist to build the precompiled
// headers the other targets reuse.
