# reds: a Redis client library for C with generated, typed commands.
#
#   make demo             install what is missing, build, run the quickstart
#                         against a throwaway redis-server
#   make test             the whole suite: generated/ fresh, -Werror build,
#                         tests, the server suites again against Valkey
#                         (make run-tests-valkey), then again under ASan +
#                         UBSan, then the thread suite under ThreadSanitizer
#                         (make tsan)
#   make bench            reds against hiredis and redis-benchmark
#   make generate         regenerate generated/ from spec/
#   make check-generated  fail when generated/ is stale
#   make check-api        fail when a generated declaration changed or went
#   make import-spec [URL=redis://host:port | SERVER=valkey-server] [SENTINEL_URL=...]
#                         update spec/ from a server (and a Sentinel)
#   make audit [URL=...] [SENTINEL_URL=...]  compare spec/ with each
#                         server of spec/servers.yaml (throwaway ones, or
#                         the one at URL) and the Sentinel group with a
#                         Sentinel; check every function's reply kind
#                         against real replies; write docs/coverage.md

CC ?= cc
SAN ?=
# The throwaway server `make import-spec` reads when no URL is given.
SERVER ?= redis-server
# `make V=1` shows every command.
Q := $(if $(V),,@)
BUILDDIR ?= build
# `make TSAN=1 ...` builds with ThreadSanitizer, in a directory of its own.
TSAN ?=
BUILD := $(BUILDDIR)$(if $(SAN),/san)$(if $(TSAN),/tsan)

# A Python 3 with Jinja2 and PyYAML: the one on the PATH, or Debian's.
PYTHON ?= $(shell for p in python3 /usr/bin/python3; do \
	  $$p -c 'import jinja2, yaml' >/dev/null 2>&1 && { command -v $$p; break; }; done)

WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes
CFLAGS ?= -O2 -g
comma := ,
SANFLAGS := $(if $(SAN),-fsanitize=address$(comma)undefined -fno-omit-frame-pointer -fno-sanitize-recover=all)$(if $(TSAN), -fsanitize=thread -fno-omit-frame-pointer)
ALL_CFLAGS := -std=c11 -D_GNU_SOURCE -fPIC $(WARN) $(CFLAGS) $(SANFLAGS) \
	-Iruntime/include -Igenerated/include -Iruntime -Igenerated
LDLIBS := -lhiredis -lssl -lcrypto -lpthread -lm
TEST_LDLIBS := $(shell pkg-config --libs check 2>/dev/null || echo -lcheck -lsubunit -lrt -lm)

LIB_SRC := $(sort $(wildcard runtime/*.c)) $(sort $(wildcard generated/*.c))
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
LIB := $(BUILD)/libreds.a
SHLIB := $(BUILD)/libreds.so
HEADERS := $(wildcard runtime/*.h runtime/include/reds/*.h generated/*.h generated/include/reds/*.h)

TESTS := $(patsubst tests/%.c,$(BUILD)/tests/%,$(sort $(wildcard tests/check_*.c)))
# Shared by every suite: tests/fixture*.c (servers, clusters, sentinels),
# testutil.c and testpack.c (a capturing client for packing tests).
TEST_SUPPORT := $(patsubst %.c,$(BUILD)/obj/%.o,$(sort $(wildcard tests/fixture*.c))) \
	$(BUILD)/obj/tests/testutil.o $(BUILD)/obj/tests/testpack.o
EXAMPLES := $(patsubst examples/%.c,$(BUILD)/examples/%,$(sort $(wildcard examples/*.c)))
WITH_REDIS := $(BUILD)/tools/with-redis

GENERATED := generated/include/reds/commands.h generated/commands.c \
	generated/command_table.c generated/command_ids.h generated/replies.c generated/replies.h \
	generated/include/reds/reply_kinds.h
SPEC := $(wildcard spec/*.yaml)
CODEGEN := $(wildcard codegen/*.py codegen/templates/*.j2)

.PHONY: all lib deps generate check-generated check-api update-api check-headers test run-tests \
	run-tests-valkey tests demo tsan bench examples import-spec audit clean format

all: lib examples

lib: $(LIB) $(SHLIB)

deps:
	@tools/deps.sh

generate:
	$(PYTHON) codegen/generate.py

check-generated:
	$(PYTHON) codegen/generate.py --check

# The generated API only grows: every declaration of api/commands.api must
# still be there, unchanged. update-api records a reviewed addition.
check-api:
	$(PYTHON) codegen/api.py

update-api:
	$(PYTHON) codegen/api.py --update

# The public headers build warning-free as C99, C11 and C++.
check-headers:
	@for std in c99 c11; do \
	  $(CC) -std=$$std -Wall -Wextra -Werror -pedantic -Iruntime/include -Igenerated/include \
	    -fsyntax-only tests/headers.c || exit 1; done
	@for std in c++11 c++17; do \
	  c++ -std=$$std -Wall -Wextra -Werror -pedantic -x c++ -Iruntime/include \
	    -Igenerated/include -fsyntax-only tests/headers.c || exit 1; done
	@echo "headers: C99, C11, C++11, C++17 clean"

$(BUILD)/obj/%.o: %.c $(HEADERS) $(wildcard tests/*.h)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(ALL_CFLAGS) -c $< -o $@

$(LIB): $(LIB_OBJ)
	@rm -f $@
	@$(if $(Q),echo "  AR      $@")
	$(Q)ar rcs $@ $^

$(SHLIB): $(LIB_OBJ)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) -shared $(SANFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: tests/%.c $(TEST_SUPPORT) $(LIB) $(wildcard tests/*.h)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CCLD    $@")
	$(Q)$(CC) $(ALL_CFLAGS) -Itests $< $(TEST_SUPPORT) $(LIB) $(TEST_LDLIBS) $(LDLIBS) -o $@

$(BUILD)/examples/%: examples/%.c $(LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CCLD    $@")
	$(Q)$(CC) $(ALL_CFLAGS) $< $(LIB) $(LDLIBS) -o $@

# examples/extension: an application's own commands (examples/extension/
# spec) as an add-on, built as an application outside the tree builds it:
# generated into BUILDDIR (build outputs, like objects, remade whenever the
# YAML or the generator changes), compiled with the public headers only and
# linked with the library archive. tests/check_extension uses it too.
EXT_SPEC := $(wildcard examples/extension/spec/*.yaml)
EXT_GEN := $(BUILD)/extension
EXT_OBJ := $(BUILD)/obj/extension/myapp_commands.o
PUBLIC_CFLAGS := -std=c11 $(WARN) $(CFLAGS) $(SANFLAGS) -Iruntime/include -Igenerated/include \
	-I$(EXT_GEN)

$(EXT_GEN)/myapp_commands.c: $(EXT_SPEC) $(SPEC) $(CODEGEN)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  GEN     $(EXT_GEN)/myapp_commands.[ch]")
	$(Q)$(PYTHON) codegen/generate.py --addon --prefix myapp --spec examples/extension/spec \
	  --out $(EXT_GEN) >/dev/null
	@touch $@ $(EXT_GEN)/myapp_commands.h

$(EXT_GEN)/myapp_commands.h: $(EXT_GEN)/myapp_commands.c

$(EXT_OBJ): $(EXT_GEN)/myapp_commands.c $(EXT_GEN)/myapp_commands.h $(HEADERS)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(PUBLIC_CFLAGS) -c $< -o $@

$(BUILD)/examples/extension: examples/extension/main.c $(EXT_OBJ) $(LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CCLD    $@")
	$(Q)$(CC) $(PUBLIC_CFLAGS) $< $(EXT_OBJ) $(LIB) $(LDLIBS) -o $@

examples: $(BUILD)/examples/extension

$(BUILD)/tests/check_extension: tests/check_extension.c $(EXT_OBJ) $(TEST_SUPPORT) $(LIB) \
		$(wildcard tests/*.h)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CCLD    $@")
	$(Q)$(CC) $(ALL_CFLAGS) -Itests -I$(EXT_GEN) $< $(EXT_OBJ) $(TEST_SUPPORT) $(LIB) \
	  $(TEST_LDLIBS) $(LDLIBS) -o $@

$(WITH_REDIS): tools/with_redis.c $(BUILD)/obj/tests/fixture.o tests/fixture.h
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CCLD    $@")
	$(Q)$(CC) $(ALL_CFLAGS) -Itests $< $(BUILD)/obj/tests/fixture.o -o $@

# The audit's reply-kind check: the library's converters run on raw server
# replies. Linked with the whole library and -rdynamic so that it finds
# each kind's converter (reds_kind_<kind>) by name, with dlsym().
CHECK_REPLY := $(BUILD)/tools/check_reply
$(CHECK_REPLY): tools/check_reply.c $(LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CCLD    $@")
	$(Q)$(CC) $(ALL_CFLAGS) -rdynamic $< -Wl,--whole-archive $(LIB) -Wl,--no-whole-archive \
	  $(LDLIBS) -ldl -o $@

# check_tools runs the audit, which runs the checker next to it.
$(BUILD)/tests/check_tools: $(CHECK_REPLY)

examples: $(EXAMPLES)

tests: $(TESTS) $(WITH_REDIS)

# Every suite runs even when one fails; the status says whether all passed.
run-tests: tests
	@failed=0; for t in $(TESTS); do \
	  echo "== $$t"; REDS_PYTHON="$(PYTHON)" $$t || failed=1; done; \
	[ $$failed = 0 ] && echo "== all suites passed$(if $(SAN), (ASan + UBSan))"; exit $$failed

# The suites of what both servers have (commands, replies, pub/sub,
# scripts, Sentinel) run a second time against Valkey 8.0: where the two
# answer differently, a test expects each server's own answer (ON_SERVER in
# tests/testutil.h). Unit suites, and those of the client's own machinery
# (TLS, fork, threads, URLs, cluster routing, the codegen tools), run once.
VALKEY_SUITES := check_bitmaps check_client check_cluster_cmds check_connection check_geo \
	check_hashes check_keys check_lists check_lock check_monitor check_pipeline check_pool \
	check_pubsub check_pubsub_cmds check_scan check_script check_scripting check_sentinel \
	check_server check_sets check_streams check_strings check_transaction check_zsets
run-tests-valkey: $(VALKEY_SUITES:%=$(BUILD)/tests/%)
	@failed=0; for t in $(VALKEY_SUITES); do echo "== $(BUILD)/tests/$$t (Valkey)"; \
	  REDS_TEST_SERVER=valkey $(BUILD)/tests/$$t || failed=1; done; \
	[ $$failed = 0 ] && echo "== all Valkey suites passed"; exit $$failed

test: deps
	@$(MAKE) --no-print-directory check-generated
	@$(MAKE) --no-print-directory check-api
	@$(MAKE) --no-print-directory check-headers
	@$(MAKE) --no-print-directory -j2 all tests
	@$(MAKE) --no-print-directory run-tests
	@$(MAKE) --no-print-directory run-tests-valkey
	@$(MAKE) --no-print-directory -j2 SAN=1 tests
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  $(MAKE) --no-print-directory SAN=1 run-tests
	@$(MAKE) --no-print-directory tsan

# Thread-heavy suites under ThreadSanitizer (their own build, BUILDDIR/tsan):
# 16 threads sharing one client for 100,000 commands, locks, WATCH retries,
# a cluster resharded under four threads; any data race fails them.
TSAN_SUITES := check_threads check_lock check_transaction check_cluster
tsan:
	@$(MAKE) --no-print-directory -j2 TSAN=1 $(TSAN_SUITES:%=$(BUILDDIR)/tsan/tests/%)
	@failed=0; for t in $(TSAN_SUITES); do echo "== $(BUILDDIR)/tsan/tests/$$t (TSan)"; \
	  TSAN_OPTIONS="halt_on_error=1 exitcode=66 $$TSAN_OPTIONS" \
	  $(BUILDDIR)/tsan/tests/$$t || failed=1; done; \
	[ $$failed = 0 ] && echo "== ThreadSanitizer: clean"; exit $$failed

demo: deps
	@$(MAKE) --no-print-directory generate
	@$(MAKE) --no-print-directory -j2 $(BUILD)/examples/quickstart $(WITH_REDIS)
	$(WITH_REDIS) $(BUILD)/examples/quickstart

bench: deps
	@$(MAKE) --no-print-directory -j2 $(BUILD)/bench/bench $(WITH_REDIS)
	$(WITH_REDIS) bench/run.sh $(BUILD)/bench/bench

$(BUILD)/bench/bench: bench/bench.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $< $(LIB) $(LDLIBS) -o $@

import-spec: deps
	$(PYTHON) codegen/import_spec.py $(if $(URL),--url $(URL),--server $(SERVER))
	$(PYTHON) codegen/import_spec.py --sentinel $(if $(SENTINEL_URL),--url $(SENTINEL_URL))

# The Sentinel group is audited against SENTINEL_URL, or a throwaway Sentinel.
audit: deps
	@$(MAKE) --no-print-directory -j2 $(CHECK_REPLY)
	$(PYTHON) codegen/audit.py --checker $(CHECK_REPLY) $(if $(URL),--url $(URL)) \
	  $(if $(SENTINEL_URL),--sentinel-url $(SENTINEL_URL))

format:
	clang-format -i runtime/*.c runtime/*.h runtime/include/reds/*.h tests/*.c tests/*.h \
	  examples/*.c examples/extension/*.c bench/*.c tools/*.c

clean:
	rm -rf $(BUILDDIR)
