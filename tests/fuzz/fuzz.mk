# fuzz.mk — libFuzzer targets (clang), included from the Makefile.
#
#   make fuzz                 build build-fuzz/fuzz_* and run each target for
#                             FUZZ_SECONDS (default 60), after replaying its
#                             seeds and regressions; FUZZ_TARGETS='lan dns'
#                             picks some.  tests/fuzz/run.sh --help
#   make fuzz-build           only build them (make check does, and runs a
#                             shorter round: AZ_FUZZ_CHECK_SECONDS)
#
# The library is compiled again with clang, instrumented for coverage
# (-fsanitize=fuzzer-no-link) and with ASan+UBSan, into $(FUZZ_B)/obj; each
# target links it with libFuzzer's main.  Without clang (packaging/deps.sh
# fuzz) nothing is built and the fuzz layer of make check says SKIP.

FUZZ_B ?= build-fuzz
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 60
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
# clang warns of vsnprintf(fmt) in va_list helpers that gcc accepts.
FUZZ_CFLAGS := -O1 -g $(filter-out $(SAN),$(AZ_CFLAGS)) -Wno-format-nonliteral $(PLUGIN_CFLAGS) $(FUZZ_SAN)
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS := $(FUZZ_SRCS:tests/fuzz/%.c=$(FUZZ_B)/%)
# Everything but the programs' main(): the hook targets include hook/main.c
# themselves, to reach its static parsers.
FUZZ_LIB_SRCS := $(CORE_SRCS) $(filter-out hook/main.c hook/client.c,$(HOOK_SRCS)) \
	$(filter-out plugin/main.c,$(PLUGIN_SRCS)) common/nodns.c
FUZZ_LIB_OBJS := $(FUZZ_LIB_SRCS:%.c=$(FUZZ_B)/obj/%.o)
FUZZ_HAVE_CC := $(shell command -v $(FUZZ_CC) >/dev/null 2>&1 && echo yes)

.PHONY: fuzz fuzz-build
ifeq ($(FUZZ_HAVE_CC),yes)
fuzz-build: $(FUZZ_BINS)
else
fuzz-build:
	@echo "fuzz: $(FUZZ_CC) is not installed (packaging/deps.sh fuzz): no fuzz targets built"
endif

fuzz: deps-quiet
	@packaging/deps.sh --if-missing fuzz
	@$(MAKE) -s fuzz-build
	@FUZZ_B=$(FUZZ_B) tests/fuzz/run.sh --seconds $(FUZZ_SECONDS) $(FUZZ_TARGETS)

# make check runs the fuzz layer (tests/run-all.sh): build it first.
check: fuzz-build

$(FUZZ_B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c $< -o $@

$(FUZZ_B)/libfuzz.a: $(FUZZ_LIB_OBJS)
	rm -f $@ && ar rcs $@ $^

$(FUZZ_B)/fuzz_%: $(FUZZ_B)/obj/tests/fuzz/fuzz_%.o $(FUZZ_B)/libfuzz.a
	$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer $(LDFLAGS) -o $@ $^ $(PKG_LIBS) $(PLUGIN_LIBS)

-include $(shell find $(FUZZ_B)/obj -name '*.d' 2>/dev/null)

clean: fuzz-clean
.PHONY: fuzz-clean
fuzz-clean:
	rm -rf $(FUZZ_B)
