# alcatraz — per-container network isolation applied by the container runtime.
#
#   make            build build/alcatraz-hook and build/alcatraz
#   make deps       install the Debian packages needed to build, run and test
#   make check      every test layer; ends with "N passed, N failed[, N skipped]"
#   make demo       show the isolation on a real Podman container in a sandbox
#   make install    DESTDIR, PREFIX honoured
#   make uninstall  remove what install put there, and every rule alcatraz applied

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
LIBEXECDIR ?= $(PREFIX)/libexec/alcatraz
MANDIR ?= $(PREFIX)/share/man
HOOKSDIR ?= /usr/share/containers/oci/hooks.d
SYSCONFDIR ?= /etc
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
DESTDIR ?=

CC ?= cc
CFLAGS ?= -O2 -g
B ?= build
PKGS := libnftables libcjson libcap libnl-route-3.0
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
# alcatraz watch (the CLI only)
CLI_PKGS := libnetfilter_log
CLI_LIBS = $(shell pkg-config --libs $(CLI_PKGS) 2>/dev/null)
PLUGIN_PKGS := libmicrohttpd libcurl
PLUGIN_CFLAGS = $(shell pkg-config --cflags $(PLUGIN_PKGS) 2>/dev/null)
PLUGIN_LIBS = $(shell pkg-config --libs $(PLUGIN_PKGS) 2>/dev/null) -lpthread
AZ_CFLAGS := -std=gnu17 -Wall -Wextra -Werror -Wshadow -Wformat=2 -D_GNU_SOURCE -I. $(PKG_CFLAGS) $(SAN)
AZ_LDFLAGS := $(SAN)

CORE_SRCS := $(filter-out common/nodns.c,$(wildcard common/*.c)) $(wildcard config/*.c rules/*.c)
# Linked into each program, not the library: see common/nodns.c.
NODNS := $(B)/obj/common/nodns.o
HOOK_SRCS := $(wildcard hook/*.c)
CLI_SRCS := $(wildcard cli/*.c)
PLUGIN_SRCS := $(wildcard plugin/*.c)
UNIT_SRCS := $(wildcard tests/unit/*.c)
TOOL_SRCS := $(wildcard tests/tools/*.c)

CORE_OBJS := $(CORE_SRCS:%.c=$(B)/obj/%.o)
HOOK_OBJS := $(HOOK_SRCS:%.c=$(B)/obj/%.o)
# The CLI shares the hook's discovery code, not its main()s.
HOOK_LIB_OBJS := $(filter-out $(B)/obj/hook/main.o $(B)/obj/hook/client.o,$(HOOK_OBJS))
CLI_OBJS := $(CLI_SRCS:%.c=$(B)/obj/%.o)
PLUGIN_OBJS := $(PLUGIN_SRCS:%.c=$(B)/obj/%.o)
# Everything of the plugin but main(), for the unit tests too.
PLUGIN_LIB_OBJS := $(filter-out $(B)/obj/plugin/main.o,$(PLUGIN_OBJS))
UNIT_OBJS := $(UNIT_SRCS:%.c=$(B)/obj/%.o)
TOOLS := $(TOOL_SRCS:tests/tools/%.c=$(B)/tools/%)

BINS := $(B)/alcatraz-hook $(B)/alcatraz-apply $(B)/alcatraz $(if $(wildcard plugin/main.c),$(B)/alcatraz-plugin)

.PHONY: all deps check unit integration e2e demo install uninstall clean tools bench
all: $(BINS) tools

$(B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(AZ_CFLAGS) -MMD -MP -c $< -o $@

$(B)/obj/plugin/%.o: plugin/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(AZ_CFLAGS) $(PLUGIN_CFLAGS) -MMD -MP -c $< -o $@

$(B)/libalcatraz-plugin.a: $(PLUGIN_LIB_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(B)/alcatraz-plugin: $(B)/obj/plugin/main.o $(NODNS) $(B)/libalcatraz-plugin.a $(B)/libalcatraz.a
	$(CC) $(AZ_LDFLAGS) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) $(PLUGIN_LIBS)

$(B)/libalcatraz.a: $(CORE_OBJS) $(HOOK_LIB_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

# The hook the runtime calls links libc and common.o only (hook/client.c):
# it hands the state to the applier or execs alcatraz-apply, which does the
# work.
$(B)/alcatraz-hook: $(B)/obj/hook/client.o $(B)/obj/common/common.o
	$(CC) $(AZ_LDFLAGS) $(LDFLAGS) -o $@ $^

$(B)/alcatraz-apply: $(B)/obj/hook/main.o $(NODNS) $(B)/libalcatraz.a
	$(CC) $(AZ_LDFLAGS) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(B)/alcatraz: $(CLI_OBJS) $(NODNS) $(B)/libalcatraz.a
	$(CC) $(AZ_LDFLAGS) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) $(CLI_LIBS)

$(B)/unit-tests: $(UNIT_OBJS) $(B)/libalcatraz-plugin.a $(B)/libalcatraz.a
	$(CC) $(AZ_LDFLAGS) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) $(PLUGIN_LIBS) -lcriterion

tools: $(TOOLS)
# Test tools may use the library (discover-dump does); unused members cost nothing.
$(B)/tools/%: tests/tools/%.c $(B)/libalcatraz-plugin.a $(B)/libalcatraz.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(AZ_CFLAGS) $(PLUGIN_CFLAGS) $(AZ_LDFLAGS) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) $(PLUGIN_LIBS)

deps:
	@packaging/deps.sh build test

unit: $(B)/unit-tests
	tests/run-unit.sh $(B)/unit-tests

check: deps-quiet all $(B)/unit-tests
	@tests/run-all.sh

deps-quiet:
	@packaging/deps.sh --if-missing build test

# Timings, never a pass/fail test (issue 4): tests/bench/run.sh --help
bench: deps-quiet all
	@packaging/deps.sh --if-missing bench
	@tests/bench/run.sh

demo: deps-quiet all
	@tests/demo.sh


# The hooks.d JSON names the installed binary, so it is written at install
# time with this install's LIBEXECDIR; tests write their own pointing at
# build/ (tests/lib/podman.sh).
define install_hook_json
	sed 's|@HOOK@|$(LIBEXECDIR)/alcatraz-hook|' packaging/hooks.d/$(1).json.in > $(2)/$(1).json
	chmod 0644 $(2)/$(1).json
endef

MANPAGES := $(wildcard packaging/man/*.[0-9])

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBEXECDIR) $(DESTDIR)$(HOOKSDIR) \
		$(DESTDIR)$(PREFIX)/share/alcatraz/hooks.d-all $(DESTDIR)$(SYSCONFDIR)/alcatraz
	install -m 0755 $(B)/alcatraz $(DESTDIR)$(BINDIR)/alcatraz
	# the binary before the JSON: a hooks.d file whose path is missing is dropped silently
	install -m 0755 $(B)/alcatraz-apply $(DESTDIR)$(LIBEXECDIR)/alcatraz-apply
	install -m 0755 $(B)/alcatraz-hook $(DESTDIR)$(LIBEXECDIR)/alcatraz-hook
	$(call install_hook_json,alcatraz-create,$(DESTDIR)$(HOOKSDIR))
	$(call install_hook_json,alcatraz-poststop,$(DESTDIR)$(HOOKSDIR))
	$(call install_hook_json,alcatraz-all-create,$(DESTDIR)$(PREFIX)/share/alcatraz/hooks.d-all)
	$(call install_hook_json,alcatraz-all-poststop,$(DESTDIR)$(PREFIX)/share/alcatraz/hooks.d-all)
	install -d $(DESTDIR)$(SYSTEMDUNITDIR)
	sed 's|@BINDIR@|$(BINDIR)|' packaging/systemd/alcatraz-restore.service.in \
		> $(DESTDIR)$(SYSTEMDUNITDIR)/alcatraz-restore.service
	sed 's|@LIBEXECDIR@|$(LIBEXECDIR)|' packaging/systemd/alcatraz-applier.service.in \
		> $(DESTDIR)$(SYSTEMDUNITDIR)/alcatraz-applier.service
	[ -e $(DESTDIR)$(SYSCONFDIR)/alcatraz/alcatraz.json ] || \
		install -m 0644 packaging/alcatraz.json $(DESTDIR)$(SYSCONFDIR)/alcatraz/alcatraz.json
	for m in $(MANPAGES); do s=$${m##*.}; install -d $(DESTDIR)$(MANDIR)/man$$s; \
		install -m 0644 $$m $(DESTDIR)$(MANDIR)/man$$s/; done

# Removes the rules first (while the binary that knows them is there), then
# the files install put there.  The settings file is kept if it was edited.
uninstall:
	-[ -n "$(DESTDIR)" ] || [ ! -x $(BINDIR)/alcatraz ] || $(BINDIR)/alcatraz uninstall --yes
	rm -f $(DESTDIR)$(HOOKSDIR)/alcatraz-create.json $(DESTDIR)$(HOOKSDIR)/alcatraz-poststop.json
	rm -rf $(DESTDIR)$(PREFIX)/share/alcatraz
	rm -f $(DESTDIR)$(SYSTEMDUNITDIR)/alcatraz-restore.service $(DESTDIR)$(SYSTEMDUNITDIR)/alcatraz-applier.service
	rm -f $(DESTDIR)$(BINDIR)/alcatraz $(DESTDIR)$(LIBEXECDIR)/alcatraz-hook $(DESTDIR)$(LIBEXECDIR)/alcatraz-apply
	-rmdir $(DESTDIR)$(LIBEXECDIR) 2>/dev/null
	for m in $(MANPAGES); do s=$${m##*.}; rm -f $(DESTDIR)$(MANDIR)/man$$s/$${m##*/}; done
	if cmp -s packaging/alcatraz.json $(DESTDIR)$(SYSCONFDIR)/alcatraz/alcatraz.json; then \
		rm -f $(DESTDIR)$(SYSCONFDIR)/alcatraz/alcatraz.json; rmdir $(DESTDIR)$(SYSCONFDIR)/alcatraz 2>/dev/null || true; \
	else echo "keeping $(DESTDIR)$(SYSCONFDIR)/alcatraz/alcatraz.json (edited)"; fi

# --- Docker network plugin: systemd units, managed (v2) plugin ---------------
# install/uninstall also handle alcatraz-plugin and its two systemd units
# (its man page goes with MANPAGES above).  plugin-package builds
# $(B)/docker-plugin, the directory `docker plugin create` takes (config.json
# + a rootfs from our binary and the libraries ldd lists for it);
# docker-plugin creates the managed plugin $(PLUGIN_NAME) from it.  The docker
# client honours DOCKER_HOST; DOCKER='docker -H unix:///PATH' works too.
PLUGIN_NAME ?= alcatraz
DOCKER ?= docker
PLUGIN_PKG ?= $(B)/docker-plugin
PLUGIN_UNITS := alcatraz-plugin.service alcatraz-plugin.socket

.PHONY: install-plugin uninstall-plugin plugin-package docker-plugin
install: install-plugin
uninstall: uninstall-plugin

install-plugin: $(B)/alcatraz-plugin
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SYSTEMDUNITDIR)
	install -m 0755 $(B)/alcatraz-plugin $(DESTDIR)$(BINDIR)/alcatraz-plugin
	for u in $(PLUGIN_UNITS); do \
		sed 's|@BINDIR@|$(BINDIR)|' packaging/systemd/$$u.in > $(DESTDIR)$(SYSTEMDUNITDIR)/$$u && \
		chmod 0644 $(DESTDIR)$(SYSTEMDUNITDIR)/$$u || exit 1; done

uninstall-plugin:
	rm -f $(PLUGIN_UNITS:%=$(DESTDIR)$(SYSTEMDUNITDIR)/%) $(DESTDIR)$(BINDIR)/alcatraz-plugin

plugin-package: $(B)/alcatraz-plugin packaging/docker-plugin/config.json packaging/docker-plugin/mkrootfs.sh
	packaging/docker-plugin/mkrootfs.sh $(B)/alcatraz-plugin packaging/docker-plugin/config.json $(PLUGIN_PKG)

docker-plugin: plugin-package
	$(DOCKER) plugin create $(PLUGIN_NAME) $(PLUGIN_PKG)

clean:
	rm -rf $(B)

include tests/fuzz/fuzz.mk
include tests/asan/asan.mk

-include $(shell find $(B)/obj -name '*.d' 2>/dev/null)
