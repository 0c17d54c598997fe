# The simulator part of adapters/bitrix24 (included by adapters/bitrix24/CMakeLists.txt): the
# simulator library and the crm::DemoAccount over it.
add_subdirectory(sim)
fg_module(fg_bitrix24_demo
  SOURCES demo_account.cpp
  DEPS fg_bitrix24_sim fg_crm tomlplusplus::tomlplusplus)
