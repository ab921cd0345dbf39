# asan.mk — the sanitizer build and layer (issue 5), included from the Makefile.
#
#   make asan-build     every program, tool and the unit tests with
#                       AddressSanitizer + UndefinedBehaviorSanitizer (gcc)
#                       into $(ASAN_B); make check builds it
#   make check-asan     the sanitizer layer alone: tests/asan/run.sh (unit
#                       and integration with those binaries, leaks checked)
#
# UBSan does not recover (-fno-sanitize-recover=all): any report ends the
# process, and tests/asan/run.sh fails the test it happened in.

ASAN_B ?= build-asan
ASAN_SAN := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
# the default build's: -O1 makes gcc warn (-Werror) where -O2 does not
ASAN_CFLAGS := -O2 -g

.PHONY: asan-build check-asan
# Objects do not depend on flags: start afresh when they changed.  san.flags
# also tells tests/asan/run.sh (and the makes the tests start) how the tree
# was built.
asan-build:
	@if [ "$$(cat $(ASAN_B)/san.flags 2>/dev/null)" != "$(ASAN_SAN) $(ASAN_CFLAGS)" ]; then \
		rm -rf $(ASAN_B); fi
	@$(MAKE) -s B=$(ASAN_B) SAN='$(ASAN_SAN)' CFLAGS='$(ASAN_CFLAGS)' all $(ASAN_B)/unit-tests
	@echo '$(ASAN_SAN) $(ASAN_CFLAGS)' > $(ASAN_B)/san.flags

check: asan-build

check-asan: deps-quiet asan-build
	@TESTS='^asan/' tests/run-all.sh

clean: asan-clean
.PHONY: asan-clean
asan-clean:
	rm -rf $(ASAN_B)
