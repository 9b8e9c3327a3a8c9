# tests/tools: gotruectl end to end against the emulator, in both server modes.
TOOLS_TESTS = tests/tools/test_gotruectl.sh
TESTS += $(TOOLS_TESTS)
EXTRA_DIST += $(TOOLS_TESTS)
