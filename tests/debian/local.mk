# tests/debian: the Debian packages (debian/, scripts/build-debs). test_maintscripts runs the
# maintainer scripts on copies of nsswitch.conf and /etc/pam.d (no root); test_packages installs,
# upgrades, removes and purges the built packages in a fresh bookworm root (root; SKIP otherwise,
# and in sanitizer builds: the packages are built without sanitizers either way).
DEBIAN_TESTS = tests/debian/test_maintscripts.sh tests/debian/test_packages.sh
check_SCRIPTS += $(DEBIAN_TESTS)
TESTS += $(DEBIAN_TESTS)
EXTRA_DIST += $(DEBIAN_TESTS)

# The packages and the bookworm root test_packages made (the root is a cache: kept by clean).
clean-local: clean-debian-tests
clean-debian-tests:
	rm -rf tests/debian/debs
distclean-local: distclean-debian-tests
distclean-debian-tests:
	rm -rf tests/debian/bookworm-root tests/debian/bookworm-root.include tests/debian/bookworm-root.new
.PHONY: clean-debian-tests distclean-debian-tests
