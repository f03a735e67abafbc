# tcptune build. `make run` and `make test` are the two commands of the README's
# quick start; both install missing Debian packages first (see `deps`).

PREFIX  ?= /usr/local
DESTDIR ?=
CC      ?= cc
VERSION := 0.1.0

DEB_PACKAGES := libyaml-dev libcap-dev libcmocka-dev libmnl-dev libjansson-dev \
                pkg-config iproute2 util-linux jq curl strace prometheus-node-exporter scdoc man-db ansible-core \
                clang libclang-rt-14-dev valgrind cppcheck clang-tidy
PKGS := yaml-0.1 libcap libmnl jansson

B := build
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lm
CMOCKA_LIBS = $(shell pkg-config --libs cmocka 2>/dev/null)

WARN    := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wstrict-prototypes -Wmissing-prototypes
CFLAGS  ?= -O2 -g
CPPFLAGS += -D_GNU_SOURCE -DTCPTUNE_VERSION='"$(VERSION)"' -DTCPTUNE_DATADIR='"$(PREFIX)/share/tcptune"' \
            -Iadvisor -Ibackup
ALL_CFLAGS = -std=c11 $(WARN) $(CFLAGS) $(CPPFLAGS) $(PKG_CFLAGS)
SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
LDWRAP_test_fsutil := -Wl,--wrap=fsync,--wrap=renameat,--wrap=write,--wrap=fchmod,--wrap=openat
LDWRAP_test_yaml_load := -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc
LDWRAP_test_txn := -Wl,--wrap=fsync,--wrap=rename,--wrap=renameat,--wrap=write,--wrap=openat
LDWRAP_test_rollback := -Wl,--wrap=fsync,--wrap=rename,--wrap=renameat,--wrap=write,--wrap=openat
LDWRAP_test_recover := -Wl,--wrap=fsync,--wrap=rename,--wrap=renameat,--wrap=write,--wrap=openat
LDWRAP_test_history := -Wl,--wrap=fsync,--wrap=rename,--wrap=renameat,--wrap=write,--wrap=openat
LDWRAP_test_sysctl_write := -Wl,--wrap=open,--wrap=write

ADVISOR_SRC := $(filter-out advisor/main.c,$(wildcard advisor/*.c))
BACKUP_SRC  := $(wildcard backup/*.c)
DATA_FILES  := $(sort $(wildcard rules/*.yaml profiles/*.yaml))
GEN_SRC     := $(B)/gen/builtin_data.c
LIB_SRC     := $(ADVISOR_SRC) $(BACKUP_SRC)
LIB_OBJ     := $(LIB_SRC:%.c=$(B)/obj/%.o) $(B)/obj/gen/builtin_data.o
SAN_OBJ     := $(LIB_SRC:%.c=$(B)/san/%.o) $(B)/san/gen/builtin_data.o
UNIT_SRC    := $(wildcard tests/unit/test_*.c)
UNIT_BIN    := $(UNIT_SRC:tests/unit/%.c=$(B)/unit/%)
TOOL_SRC    := $(wildcard tests/tools/*.c)
TOOL_BIN    := $(TOOL_SRC:tests/tools/%.c=$(B)/tools/%)
DEPS_STAMP  := $(B)/.deps-ok

FUZZ_SECONDS ?= 20
FUZZ_TIMEOUT ?= 10
FUZZ_CC      ?= clang
FUZZ_TARGETS := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BIN     := $(FUZZ_TARGETS:%=$(B)/fuzz/fuzz_%)
FUZZ_CFLAGS  := -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all -g -O1 -std=c11 -D_GNU_SOURCE \
                -DTCPTUNE_VERSION='"fuzz"' -Iadvisor -Ibackup
FUZZ_OBJ     := $(LIB_SRC:%.c=$(B)/fuzz/obj/%.o) $(B)/fuzz/obj/gen/builtin_data.o

.PHONY: all deps run test unit integration install man clean fuzz lint FORCE
# Keep the sanitizer objects: they are shared by every unit-test binary.
.SECONDARY:
all: $(B)/tcptune

# Install the Debian packages the build and tests need, only those missing.
# As root this runs apt-get; otherwise it prints the exact command and fails.
deps: $(DEPS_STAMP)
$(DEPS_STAMP): Makefile
	@missing=""; for p in $(DEB_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing:$$missing"; \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing >/dev/null || \
	    { DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null && \
	      DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing >/dev/null; } || exit 1; \
	  else \
	    echo "tcptune: missing packages; run: sudo apt-get install -y$$missing" >&2; exit 1; \
	  fi; \
	fi
	@mkdir -p $(B) && touch $@

# The shipped YAML, compiled in (SPEC §7 search path, last resort).
# Regenerate when a data file is added or removed, not only changed.
$(B)/gen/files.list: FORCE
	@mkdir -p $(dir $@)
	@echo "$(DATA_FILES)" > $@.tmp; cmp -s $@.tmp $@ && rm -f $@.tmp || mv $@.tmp $@

$(GEN_SRC): advisor/gen_builtin.sh $(DATA_FILES) $(B)/gen/files.list
	@mkdir -p $(dir $@)
	@echo "  GEN     $@"
	@sh advisor/gen_builtin.sh $(DATA_FILES) > $@.tmp && mv $@.tmp $@

$(B)/obj/gen/%.o: $(B)/gen/%.c | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	@$(CC) $(ALL_CFLAGS) -c $< -o $@

$(B)/san/gen/%.o: $(B)/gen/%.c | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	@$(CC) $(ALL_CFLAGS) $(SAN_FLAGS) -O1 -c $< -o $@

$(B)/obj/%.o: %.c | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

$(B)/san/%.o: %.c | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	@echo "  CC/SAN  $<"
	@$(CC) $(ALL_CFLAGS) $(SAN_FLAGS) -O1 -DTCPTUNE_TEST -MMD -MP -c $< -o $@

$(B)/tcptune: $(B)/obj/advisor/main.o $(LIB_OBJ)
	@echo "  LD      $@"
	@$(CC) $(CFLAGS) -o $@ $^ $(PKG_LIBS)

# The program under ASan+UBSan, for integration tests that feed it bad input.
$(B)/tcptune-asan: $(B)/san/advisor/main.o $(SAN_OBJ)
	@echo "  LD      $@"
	@$(CC) $(SAN_FLAGS) -o $@ $^ $(PKG_LIBS)

# Each unit test is its own binary, linked against every module under ASan+UBSan.
$(B)/unit/%: tests/unit/%.c $(SAN_OBJ) | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	@echo "  TEST    $@"
	@$(CC) $(ALL_CFLAGS) $(SAN_FLAGS) -O1 -DTCPTUNE_TEST -DFIXTURES='"$(CURDIR)/tests/fixtures"' \
	  -o $@ $< $(SAN_OBJ) $(PKG_LIBS) $(CMOCKA_LIBS) $(LDWRAP_$*)

# Shared fixtures of the transaction tests.
$(addprefix $(B)/unit/test_,txn rollback recover history store change fsutil): tests/unit/txn_testlib.h
$(addprefix $(B)/unit/test_snap_,reappliers sysctld): tests/unit/sysctld_testlib.h

$(B)/tools/%: tests/tools/%.c | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	@echo "  TOOL    $@"
	@$(CC) -std=c11 $(WARN) -O2 -g -D_GNU_SOURCE -o $@ $<

# check exits 1 or 2 for warning or critical findings: still a successful run.
run: $(B)/tcptune
	@./$(B)/tcptune check; rc=$$?; [ $$rc -le 2 ] || exit $$rc

unit: $(UNIT_BIN)
	@tests/run-unit $(UNIT_BIN)

integration: $(B)/tcptune $(B)/tcptune-asan $(TOOL_BIN)
	@tests/run-integration

# make test: lint, unit tests under ASan+UBSan, the integration scenarios, the
# valgrind pass over them, and a short pass of every fuzzer (FUZZ_SECONDS).
test: $(B)/tcptune $(B)/tcptune-asan $(UNIT_BIN) $(TOOL_BIN) $(FUZZ_BIN)
	@FUZZ_SECONDS=$(FUZZ_SECONDS) tests/run-all $(UNIT_BIN)

# Static analysis: cppcheck and clang-tidy over the program's sources, with
# the checks and their reasons in .clang-tidy and tests/run-lint.
lint: | $(DEPS_STAMP)
	@tests/run-lint

# The man page, from scdoc (a Debian package that `deps` installs).
man: $(B)/tcptune.8
$(B)/tcptune.8: docs/tcptune.8.scd | $(DEPS_STAMP)
	@command -v scdoc >/dev/null || { echo "tcptune: scdoc is missing; run: apt-get install -y scdoc" >&2; exit 1; }
	@echo "  SCDOC   $@"
	@scdoc < $< > $@.tmp && mv $@.tmp $@

install: $(B)/tcptune $(B)/tcptune.8
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/share/tcptune/rules $(DESTDIR)$(PREFIX)/share/tcptune/profiles \
	  $(DESTDIR)$(PREFIX)/share/man/man8 $(DESTDIR)$(PREFIX)/share/bash-completion/completions
	install -m 0755 $(B)/tcptune $(DESTDIR)$(PREFIX)/sbin/tcptune
	for f in rules/*.yaml profiles/*.yaml; do [ -e "$$f" ] || continue; \
	  install -m 0644 "$$f" $(DESTDIR)$(PREFIX)/share/tcptune/$$f; done
	install -m 0644 $(B)/tcptune.8 $(DESTDIR)$(PREFIX)/share/man/man8/tcptune.8
	install -m 0644 contrib/bash-completion/tcptune $(DESTDIR)$(PREFIX)/share/bash-completion/completions/tcptune

# libFuzzer targets, one per parser (tests/fuzz/fuzz_<name>.c; clang and
# libclang-rt-14-dev).  `make fuzz` runs each for FUZZ_SECONDS (tests/run-fuzz:
# seeds from tests/fuzz/corpus and tests/fuzz/crashes, new inputs and crash
# inputs under build/fuzz/); `make test` runs the same short pass.
$(B)/fuzz/obj/gen/%.o: $(B)/gen/%.c | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	@$(FUZZ_CC) $(FUZZ_CFLAGS) $(PKG_CFLAGS) -c $< -o $@

$(B)/fuzz/obj/%.o: %.c | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	@echo "  CC/FUZZ $<"
	@$(FUZZ_CC) $(FUZZ_CFLAGS) $(PKG_CFLAGS) -MMD -MP -c $< -o $@

$(B)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_OBJ)
	@echo "  FUZZ-LD $@"
	@$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer $(PKG_CFLAGS) -o $@ $< $(FUZZ_OBJ) $(PKG_LIBS)

fuzz: $(FUZZ_BIN)
	@FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_TIMEOUT=$(FUZZ_TIMEOUT) tests/run-fuzz

clean:
	rm -rf $(B)

-include $(shell find $(B) -name '*.d' 2>/dev/null)
