# reds: a Redis client library for C with generated, typed commands.
#
#   make demo             install what is missing, build, run the quickstart
#                         against a throwaway redis-server
#   make test             the whole suite: generated/ fresh, -Werror build,
#                         the exports and an install tried from outside
#                         (check-exports, test-install), tests, the server
#                         suites again against Valkey (make
#                         run-tests-valkey), then again under ASan + UBSan,
#                         then the thread suite under ThreadSanitizer
#                         (make tsan), the fuzzers for a bounded time
#                         (make fuzz) and a set of suites under valgrind
#                         (make valgrind)
#   make fuzz [FUZZ_SECONDS=n]  build the libFuzzer harnesses of fuzz/ with
#                         clang, ASan and UBSan, run each for n seconds
#   make valgrind         a representative set of suites under valgrind
#   make bench            reds against hiredis and redis-benchmark
#   make generate         regenerate generated/ and docs/reference/ from spec/
#   make check-generated  fail when generated/ or docs/reference/ is stale
#   make check-api        fail when a generated declaration changed or went
#   make check-snippets   compile README.md's and docs/reference/'s C blocks
#                         as C and C++
#   make install [PREFIX=/usr/local] [DESTDIR=] [LIBDIR=$(PREFIX)/lib]
#                [INCLUDEDIR=$(PREFIX)/include]
#                         headers, libreds.a, libreds.so.X.Y.Z, reds.pc and
#                         the CMake package (make uninstall removes them)
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
# A section per function and object: an app linked statically with
# -Wl,--gc-sections keeps only the commands it calls (README, "Static linking").
ALL_CFLAGS += -ffunction-sections -fdata-sections
LDLIBS := -lhiredis -lssl -lcrypto -lpthread -lm
TEST_LDLIBS := $(shell pkg-config --libs check 2>/dev/null || echo -lcheck -lsubunit -lrt -lm)
# The event loops of the async adapters (<reds/async/*.h>): only programs
# that use an adapter link one; the library itself needs none.
LOOP_LDLIBS := -levent -luv -lev

LIB_SRC := $(sort $(wildcard runtime/*.c)) $(sort $(wildcard generated/*.c))
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
LIB := $(BUILD)/libreds.a
# The version is written once, in <reds/version.h>. The shared library is
# libreds.so.MAJOR.MINOR.PATCH with SONAME libreds.so.MAJOR (README, "ABI"),
# beside the links ld.so (the SONAME) and `-lreds` (libreds.so) look for.
version_part = $(shell sed -n 's/^.define REDS_VERSION_$(1)  *\([0-9][0-9]*\)$$/\1/p' \
	runtime/include/reds/version.h)
VERSION := $(call version_part,MAJOR).$(call version_part,MINOR).$(call version_part,PATCH)
SONAME := libreds.so.$(call version_part,MAJOR)
SHLIB := $(BUILD)/libreds.so
SHLIB_REAL := $(BUILD)/libreds.so.$(VERSION)
SHLIB_LINKS := $(BUILD)/$(SONAME) $(SHLIB)
HEADERS := $(wildcard runtime/*.h runtime/include/reds/*.h runtime/include/reds/async/*.h \
	generated/*.h generated/include/reds/*.h)

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
	fuzz fuzz-build valgrind \
	install uninstall check-exports test-install \
	run-tests-valkey tests demo tsan bench examples import-spec audit clean format

all: lib examples

lib: $(LIB) $(SHLIB_LINKS)

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
	@for std in c99 c11; do \
	  $(CC) -std=$$std -D_POSIX_C_SOURCE=200809L -Wall -Wextra -Werror -pedantic \
	    -Iruntime/include -Igenerated/include -fsyntax-only tests/headers_async.c || exit 1; done
	@for std in c++11 c++17; do \
	  c++ -std=$$std -Wall -Wextra -Werror -pedantic -x c++ -Iruntime/include \
	    -Igenerated/include -fsyntax-only tests/headers_async.c || exit 1; done
	@echo "headers: C99, C11, C++11, C++17 clean (and the event-loop adapters)"

# The C blocks of README.md and of the API reference (docs/reference/)
# compile as C11 and C++17, and the examples as C++17 too, so that none of
# them rots (tools/check_snippets.py says how blocks are wrapped).
.PHONY: check-snippets
check-snippets:
	@$(PYTHON) tools/check_snippets.py --cc $(CC) README.md $(sort $(wildcard docs/reference/*.md)) \
	  --cxx-files $(sort $(wildcard examples/*.c))

$(BUILD)/obj/%.o: %.c $(HEADERS) $(wildcard tests/*.h)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(ALL_CFLAGS) -c $< -o $@

$(LIB): $(LIB_OBJ)
	@rm -f $@
	@$(if $(Q),echo "  AR      $@")
	$(Q)ar rcs $@ $^

# Only the public API is exported: the library's objects are compiled with
# hidden visibility, and the public headers' declarations made visible by
# REDS_API_BEGIN/REDS_API_END (<reds/types.h>). make check-exports checks.
$(LIB_OBJ): ALL_CFLAGS += -fvisibility=hidden

$(SHLIB_REAL): $(LIB_OBJ)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) -shared -Wl,-soname,$(SONAME) $(SANFLAGS) -o $@ $^ $(LDLIBS)

$(SHLIB_LINKS): $(SHLIB_REAL)
	$(Q)ln -sf $(notdir $<) $@

$(BUILD)/tests/%: tests/%.c $(TEST_SUPPORT) $(LIB) $(wildcard tests/*.h)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CCLD    $@")
	$(Q)$(CC) $(ALL_CFLAGS) -Itests $< $(TEST_SUPPORT) $(LIB) $(TEST_LDLIBS) $(LDLIBS) \
	  $(if $(filter check_async%,$(notdir $@)),$(LOOP_LDLIBS)) -o $@

$(BUILD)/examples/%: examples/%.c $(LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CCLD    $@")
	$(Q)$(CC) $(ALL_CFLAGS) $< $(LIB) $(LDLIBS) $(if $(filter async%,$(notdir $@)),$(LOOP_LDLIBS)) -o $@

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
# check_cache's soak of writers and cached readers lasts a minute in the
# plain run, REDS_CACHE_SOAK_S seconds in the others.
run-tests: tests
	@failed=0; for t in $(TESTS); do \
	  echo "== $$t"; REDS_PYTHON="$(PYTHON)" $(if $(SAN),REDS_CACHE_SOAK_S=5) $$t || failed=1; done; \
	[ $$failed = 0 ] && echo "== all suites passed$(if $(SAN), (ASan + UBSan))"; exit $$failed

# The suites of what both servers have (commands, replies, pub/sub,
# scripts, Sentinel) run a second time against Valkey 8.0: where the two
# answer differently, a test expects each server's own answer (ON_SERVER in
# tests/testutil.h). Unit suites, and those of the client's own machinery
# (TLS, fork, threads, URLs, cluster routing, the codegen tools), run once.
VALKEY_SUITES := check_async check_autopipe check_bitmaps check_cache check_client \
	check_cluster_cmds check_connection check_geo check_hashes check_keys check_lists check_lock \
	check_monitor check_pipeline check_pool \
	check_pubsub check_pubsub_cmds check_scan check_script check_scripting check_sentinel \
	check_server check_sets check_streams check_strings check_transaction check_zsets
run-tests-valkey: $(VALKEY_SUITES:%=$(BUILD)/tests/%)
	@failed=0; for t in $(VALKEY_SUITES); do echo "== $(BUILD)/tests/$$t (Valkey)"; \
	  REDS_TEST_SERVER=valkey REDS_CACHE_SOAK_S=5 $(BUILD)/tests/$$t || failed=1; done; \
	[ $$failed = 0 ] && echo "== all Valkey suites passed"; exit $$failed

test: deps
	@$(MAKE) --no-print-directory check-generated
	@$(MAKE) --no-print-directory check-api
	@$(MAKE) --no-print-directory check-headers
	@$(MAKE) --no-print-directory check-snippets
	@$(MAKE) --no-print-directory -j2 all tests
	@$(MAKE) --no-print-directory check-exports test-install
	@$(MAKE) --no-print-directory run-tests
	@$(MAKE) --no-print-directory run-tests-valkey
	@$(MAKE) --no-print-directory -j2 SAN=1 tests
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  $(MAKE) --no-print-directory SAN=1 run-tests
	@$(MAKE) --no-print-directory tsan
	@$(MAKE) --no-print-directory fuzz
	@$(MAKE) --no-print-directory valgrind

# Thread-heavy suites under ThreadSanitizer (their own build, BUILDDIR/tsan):
# 16 threads sharing one client for 100,000 commands, locks, WATCH retries,
# a cluster resharded under four threads, 64 threads batching on one
# shared connection, 16 threads on the same cached keys and the cache's
# soak; any data race fails them.
TSAN_SUITES := check_threads check_autopipe check_lock check_transaction check_cluster \
	check_hooks check_cache
tsan:
	@$(MAKE) --no-print-directory -j2 TSAN=1 $(TSAN_SUITES:%=$(BUILDDIR)/tsan/tests/%)
	@failed=0; for t in $(TSAN_SUITES); do echo "== $(BUILDDIR)/tsan/tests/$$t (TSan)"; \
	  TSAN_OPTIONS="halt_on_error=1 exitcode=66 $$TSAN_OPTIONS" REDS_CACHE_SOAK_S=5 \
	  $(BUILDDIR)/tsan/tests/$$t || failed=1; done; \
	[ $$failed = 0 ] && echo "== ThreadSanitizer: clean"; exit $$failed

# Fuzzing (fuzz/; README, "Fuzzing and valgrind"): libFuzzer harnesses
# for the reply path (a hostile server's bytes over a real socket, through
# the reader callbacks and every reply kind's converter), the URL parser
# and the MONITOR line parser. clang builds the library for them in a directory of
# its own (BUILDDIR/fuzz; coverage for libFuzzer, ASan and UBSan, any UB
# fatal), and each runs FUZZ_SECONDS on a copy of its corpus (new inputs
# land in the copy, never in fuzz/corpus/) with its dictionary. A crash,
# a leak, a timeout or running out of memory fails the target; the input
# is saved as BUILDDIR/fuzz/crash-<name>-* (README says how to keep it).
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 50
FUZZ_NAMES := reply url monitor
FUZZ_BUILD := $(BUILDDIR)/fuzz
FUZZ_SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=undefined \
	-fno-omit-frame-pointer
FUZZ_CFLAGS := -std=c11 -D_GNU_SOURCE -g -O1 $(filter-out -Werror,$(WARN)) $(FUZZ_SANFLAGS) \
	-Iruntime/include -Igenerated/include -Iruntime -Igenerated
FUZZ_LIB_OBJ := $(LIB_SRC:%.c=$(FUZZ_BUILD)/obj/%.o)
# Per harness: the longest input worth trying (a reply stream holds a few
# replies; URLs and MONITOR lines are short).
FUZZ_MAX_LEN_reply := 8192
FUZZ_MAX_LEN_url := 512
FUZZ_MAX_LEN_monitor := 1024
# Symbolized reports when llvm-symbolizer is there (Debian's llvm).
FUZZ_SYMBOLIZER := $(firstword $(wildcard /usr/bin/llvm-symbolizer \
	/usr/lib/llvm-*/bin/llvm-symbolizer))

$(FUZZ_BUILD)/obj/%.o: %.c $(HEADERS)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $< (fuzz)")
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

$(FUZZ_BUILD)/libreds.a: $(FUZZ_LIB_OBJ)
	@rm -f $@
	$(Q)ar rcs $@ $^

# The reply kinds, from <reds/reply_kinds.h>: KIND(name, owned), owned
# when `out` is a pointer to a result. Fails when a kind was missed.
$(FUZZ_BUILD)/fuzz_kinds.h: generated/include/reds/reply_kinds.h
	@mkdir -p $(dir $@)
	$(Q)sed -n -e 's/^\/\*\* \([a-z0-9_]*\): `out` is [^:]*\*\*:.*/KIND(\1, true)/p' \
	  -e 's/^\/\*\* \([a-z0-9_]*\): `out` is [^:*]*\**:.*/KIND(\1, false)/p' $< >$@.tmp
	$(Q)test "$$(grep -c '^KIND' $@.tmp)" = \
	  "$$(grep -c '^extern const reds_ext_converter reds_kind_' $<)" || \
	  { echo "fuzz: $@: not every reply kind of $< was found" >&2; exit 1; }
	$(Q)mv $@.tmp $@

$(FUZZ_BUILD)/fuzz_%: fuzz/fuzz_%.c $(FUZZ_BUILD)/libreds.a $(FUZZ_BUILD)/fuzz_kinds.h $(HEADERS)
	@$(if $(Q),echo "  CCLD    $@")
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -Werror -fsanitize=fuzzer -I$(FUZZ_BUILD) $< \
	  $(FUZZ_BUILD)/libreds.a $(LDLIBS) -o $@

fuzz-build: $(FUZZ_NAMES:%=$(FUZZ_BUILD)/fuzz_%)

fuzz:
	@$(MAKE) --no-print-directory -j2 fuzz-build
	@failed=0; for n in $(FUZZ_NAMES); do \
	  echo "== $(FUZZ_BUILD)/fuzz_$$n ($(FUZZ_SECONDS) s)"; \
	  rm -rf $(FUZZ_BUILD)/corpus/$$n && mkdir -p $(FUZZ_BUILD)/corpus && \
	  cp -R fuzz/corpus/$$n $(FUZZ_BUILD)/corpus/$$n || exit 1; \
	  case $$n in reply) len=$(FUZZ_MAX_LEN_reply);; url) len=$(FUZZ_MAX_LEN_url);; \
	    *) len=$(FUZZ_MAX_LEN_monitor);; esac; \
	  ASAN_OPTIONS="abort_on_error=1:detect_leaks=1:$$ASAN_OPTIONS" \
	  UBSAN_OPTIONS="print_stacktrace=1:$$UBSAN_OPTIONS" \
	  $(if $(FUZZ_SYMBOLIZER),ASAN_SYMBOLIZER_PATH=$(FUZZ_SYMBOLIZER)) \
	  $(FUZZ_BUILD)/fuzz_$$n -max_total_time=$(FUZZ_SECONDS) -max_len=$$len -timeout=20 \
	    -rss_limit_mb=2048 -dict=fuzz/$$n.dict -print_final_stats=1 \
	    -artifact_prefix=$(FUZZ_BUILD)/crash-$$n- $(FUZZ_BUILD)/corpus/$$n \
	    >$(FUZZ_BUILD)/fuzz_$$n.log 2>&1; \
	  status=$$?; grep -E '^(#[0-9]+[[:space:]]+DONE|stat::(number_of_executed_units|average_exec))' \
	    $(FUZZ_BUILD)/fuzz_$$n.log; \
	  if [ $$status != 0 ]; then failed=1; tail -n 60 $(FUZZ_BUILD)/fuzz_$$n.log; \
	    echo "== fuzz_$$n FAILED (log: $(FUZZ_BUILD)/fuzz_$$n.log)"; fi; \
	done; [ $$failed = 0 ] && echo "== fuzzers: no crash"; exit $$failed

# Suites that together reach most of the runtime under valgrind's
# memcheck, in the plain build: connections, pools, the client and its
# dedicated handles, pipelines and transactions, pub/sub, MONITOR, scans,
# scripts, URLs, locks, TLS, the converters (unit and against a server),
# Cluster commands, the hash ring and the async client on its four loops.
# Any invalid access, use of uninitialised memory or definite leak fails.
# Check runs the tests in-process (CK_FORK=no), as valgrind wants; the
# servers the fixtures start run outside valgrind. (Not check_fork: its
# children, forked while other threads hold connections, exit with those
# connections lost, since the threads that held them do not exist in a
# child. Not check_cache: its reader threads spin on in-process hits,
# which valgrind's one-thread-at-a-time scheduler runs for minutes; the
# ASan and TSan runs cover it.)
VALGRIND_SUITES := check_connection check_pool check_client check_pipeline check_transaction \
	check_pubsub check_monitor check_scan check_script check_url check_lock check_tls \
	check_convert check_replies_server check_server check_cluster_cmds check_ring check_async
VALGRIND := valgrind --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite \
	--show-leak-kinds=definite --quiet
valgrind:
	@$(MAKE) --no-print-directory -j2 $(VALGRIND_SUITES:%=$(BUILD)/tests/%)
	@failed=0; for t in $(VALGRIND_SUITES); do echo "== $(BUILD)/tests/$$t (valgrind)"; \
	  CK_FORK=no REDS_PYTHON="$(PYTHON)" $(VALGRIND) $(BUILD)/tests/$$t \
	    || failed=1; done; \
	[ $$failed = 0 ] && echo "== valgrind: clean"; exit $$failed

# Installation. PREFIX, LIBDIR and INCLUDEDIR are where the files will be
# used (written into reds.pc); DESTDIR, a staging directory before them.
PREFIX ?= /usr/local
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
INSTALL ?= install
PUBLIC_HEADERS := $(sort $(wildcard runtime/include/reds/*.h generated/include/reds/*.h))
# The event-loop adapters of the async client, in <reds/async/>.
ADAPTER_HEADERS := $(sort $(wildcard runtime/include/reds/async/*.h))
CMAKEDIR := $(LIBDIR)/cmake/reds
# Fills in packaging/*.in: reds.pc names the directories (below ${prefix}
# when they are), the CMake package finds them relative to itself.
PKG_SUBST := sed -e 's|@VERSION@|$(VERSION)|g' -e 's|@VERSION_MAJOR@|$(call version_part,MAJOR)|g' \
	-e 's|@SONAME@|$(SONAME)|g' -e 's|@PREFIX@|$(PREFIX)|g' \
	-e 's|@LIBDIR@|$(patsubst $(PREFIX)/%,$${prefix}/%,$(LIBDIR))|g' \
	-e 's|@INCLUDEDIR@|$(patsubst $(PREFIX)/%,$${prefix}/%,$(INCLUDEDIR))|g' \
	-e "s|@INCLUDEDIR_FROM_CMAKEDIR@|$$(realpath -m -s --relative-to=$(CMAKEDIR) $(INCLUDEDIR))|g"

install: lib
	$(INSTALL) -d $(DESTDIR)$(INCLUDEDIR)/reds $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(CMAKEDIR)
	$(INSTALL) -m 644 $(PUBLIC_HEADERS) $(DESTDIR)$(INCLUDEDIR)/reds/
	$(INSTALL) -d $(DESTDIR)$(INCLUDEDIR)/reds/async
	$(INSTALL) -m 644 $(ADAPTER_HEADERS) $(DESTDIR)$(INCLUDEDIR)/reds/async/
	$(INSTALL) -m 644 $(LIB) $(DESTDIR)$(LIBDIR)/libreds.a
	$(INSTALL) -m 755 $(SHLIB_REAL) $(DESTDIR)$(LIBDIR)/libreds.so.$(VERSION)
	ln -sf libreds.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/libreds.so
	$(PKG_SUBST) packaging/reds.pc.in >$(DESTDIR)$(LIBDIR)/pkgconfig/reds.pc
	$(PKG_SUBST) packaging/reds-config.cmake.in >$(DESTDIR)$(CMAKEDIR)/reds-config.cmake
	$(PKG_SUBST) packaging/reds-config-version.cmake.in \
	  >$(DESTDIR)$(CMAKEDIR)/reds-config-version.cmake

uninstall:
	rm -f $(addprefix $(DESTDIR)$(INCLUDEDIR)/reds/,$(notdir $(PUBLIC_HEADERS))) \
	  $(addprefix $(DESTDIR)$(INCLUDEDIR)/reds/async/,$(notdir $(ADAPTER_HEADERS))) \
	  $(addprefix $(DESTDIR)$(LIBDIR)/,libreds.a libreds.so.$(VERSION) $(SONAME) libreds.so \
	    pkgconfig/reds.pc) \
	  $(DESTDIR)$(CMAKEDIR)/reds-config.cmake $(DESTDIR)$(CMAKEDIR)/reds-config-version.cmake
	rmdir $(DESTDIR)$(INCLUDEDIR)/reds/async $(DESTDIR)$(INCLUDEDIR)/reds $(DESTDIR)$(CMAKEDIR) \
	  2>/dev/null || true

# The shared library exports the public API and nothing else (no reds__*),
# under its SONAME.
check-exports: lib
	@tests/exports.sh $(SHLIB_REAL) $(LIB) $(SONAME)

# Install into a temporary prefix (and a DESTDIR), then build
# tests/outside/, an application outside the tree, with pkg-config, CMake
# and plain cc -lreds, each as C11 and C++17, and run each against a
# throwaway server.
test-install: lib $(WITH_REDIS)
	@$(WITH_REDIS) tests/outside/run.sh "$(MAKE)" "$(BUILDDIR)" $(VERSION)

demo: deps
	@$(MAKE) --no-print-directory generate
	@$(MAKE) --no-print-directory -j2 $(BUILD)/examples/quickstart $(WITH_REDIS)
	$(WITH_REDIS) $(BUILD)/examples/quickstart

bench: deps
	@$(MAKE) --no-print-directory -j2 $(BUILD)/bench/bench $(WITH_REDIS)
	$(WITH_REDIS) bench/run.sh $(BUILD)/bench/bench

$(BUILD)/bench/bench: bench/bench.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $< $(LIB) $(LDLIBS) $(LOOP_LDLIBS) -o $@

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
	  examples/*.c examples/extension/*.c bench/*.c tools/*.c fuzz/*.c

clean:
	rm -rf $(BUILDDIR)
