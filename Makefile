# tcptune build. `make run` and `make test` are the two commands of the README's
# quick start: `make run` installs what building and running need (`deps`),
# `make test` adds the test toolchain (`test-deps`).  docs/ARCHITECTURE.md
# explains the layers that the include paths below enforce.

PREFIX  ?= /usr/local
DESTDIR ?=
CC      ?= cc
VERSION := 0.1.0

# Building and running: a compiler, the five libraries and pkg-config; clang,
# bpftool and libbpf-dev's skel_internal.h build the BPF iterator of the
# CLOSE_WAIT owners into the binary (advisor/snapshot/bpf/, below; nothing of
# libbpf is linked).
DEB_PACKAGES := gcc make libc6-dev pkg-config libyaml-dev libcap-dev libmnl-dev libjansson-dev zlib1g-dev \
                clang bpftool libbpf-dev
# The test toolchain on top: cmocka, the Debian package tools (make deb and
# its test), promtool (prometheus: contrib/prometheus), the peer programs the
# integration tests compare with or drive (ss, ip, unshare, systemd-sysctl,
# sysctl, strace, node_exporter, ansible), the man page tools, and clang,
# valgrind, cppcheck and clang-tidy.  build-aux/install-deps leaves no service of these running
# or enabled.
TEST_DEB_PACKAGES := libcmocka-dev dpkg-dev build-essential debhelper fakeroot lintian debootstrap prometheus iproute2 util-linux procps systemd python3 jq curl strace prometheus-node-exporter nginx-light wrk apache2-utils nftables \
                scdoc man-db ansible-core clang libclang-rt-14-dev valgrind cppcheck clang-tidy tmux
PKGS := yaml-0.1 libcap libmnl jansson zlib

B := build
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lm
CMOCKA_LIBS = $(shell pkg-config --libs cmocka 2>/dev/null)

WARN    := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wstrict-prototypes -Wmissing-prototypes
CFLAGS  ?= -O2 -g
CPPFLAGS += -D_GNU_SOURCE -DTCPTUNE_VERSION='"$(VERSION)"' -DTCPTUNE_DATADIR='"$(PREFIX)/share/tcptune"'
LDFLAGS ?=
ALL_CFLAGS = -std=c11 $(WARN) $(CFLAGS) $(CPPFLAGS) $(PKG_CFLAGS)

# The layers (docs/ARCHITECTURE.md), top first.  Each folder compiles with
# the include paths of itself and of the layers it may use, nothing else, so
# an include that runs back up does not compile.
LAYER_cli      := cli report engine snapshot sysctld data backup model base
LAYER_report   := report engine snapshot sysctld data backup model base
LAYER_engine   := engine snapshot sysctld data backup model base
LAYER_snapshot := snapshot sysctld backup model base
LAYER_sysctld  := sysctld model base
LAYER_data     := data base
LAYER_backup   := backup model base
LAYER_model    := model base
LAYER_base     := base
LAYERS := $(LAYER_cli)
layer_dir = $(if $(filter backup,$1),backup,advisor/$1)
# The layer of a source file: advisor/LAYER/x.c, backup/x.c; the generated
# built-in data belongs to data/.
layer_of  = $(if $(filter backup/%,$1),backup,$(if $(filter advisor/%,$1),$(word 2,$(subst /, ,$1)),data))
# The BPF owners' loader (owners_bpf.c) also sees its record's header and the
# light skeleton generated from the BPF program (below).
BPF_INC   := -I$(B)/gen -Iadvisor/snapshot/bpf
LAYER_INC = $(foreach l,$(LAYER_$(call layer_of,$1)),-I$(call layer_dir,$l)) \
            $(if $(filter advisor/snapshot/owners_bpf.c,$1),$(BPF_INC))
# Tests and fuzzers see every layer.
ALL_INC   := $(foreach l,$(LAYERS),-I$(call layer_dir,$l)) $(BPF_INC)
SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
LDWRAP_test_fsutil := -Wl,--wrap=fsync,--wrap=renameat,--wrap=write,--wrap=fchmod,--wrap=openat
LDWRAP_test_yaml_load := -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc
LDWRAP_test_txn := -Wl,--wrap=fsync,--wrap=rename,--wrap=renameat,--wrap=write,--wrap=openat
LDWRAP_test_rollback := -Wl,--wrap=fsync,--wrap=rename,--wrap=renameat,--wrap=write,--wrap=openat
LDWRAP_test_recover := -Wl,--wrap=fsync,--wrap=rename,--wrap=renameat,--wrap=write,--wrap=openat
LDWRAP_test_history := -Wl,--wrap=fsync,--wrap=rename,--wrap=renameat,--wrap=write,--wrap=openat
LDWRAP_test_sysctl_write := -Wl,--wrap=open,--wrap=write
LDWRAP_test_snap_owners := -Wl,--wrap=owners_bpf_find,--wrap=owners_bpf_ahead

ADVISOR_SRC := $(filter-out advisor/cli/main.c,$(wildcard advisor/*/*.c))
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
TEST_DEPS_STAMP := $(B)/.test-deps-ok
HEADERS     := $(wildcard advisor/*/*.h backup/*.h)

FUZZ_SECONDS ?= 20
FUZZ_TIMEOUT ?= 10
FUZZ_CC      ?= clang
FUZZ_TARGETS := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BIN     := $(FUZZ_TARGETS:%=$(B)/fuzz/fuzz_%)
FUZZ_CFLAGS  := -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all -g -O1 -std=c11 -D_GNU_SOURCE \
                -DTCPTUNE_VERSION='"fuzz"' $(ALL_INC)
FUZZ_OBJ     := $(LIB_SRC:%.c=$(B)/fuzz/obj/%.o) $(B)/fuzz/obj/gen/builtin_data.o

.PHONY: all deps test-deps run test unit integration install man clean fuzz lint layers headers FORCE
# Keep the sanitizer objects: they are shared by every unit-test binary.
.SECONDARY:
all: $(B)/tcptune

# Install the missing Debian packages (as root; otherwise print the command).
# `deps`: building and running; `test-deps`: the test toolchain on top.
deps: $(DEPS_STAMP)
$(DEPS_STAMP): Makefile build-aux/install-deps
	@build-aux/install-deps $(DEB_PACKAGES)
	@mkdir -p $(B) && touch $@

test-deps: $(TEST_DEPS_STAMP)
$(TEST_DEPS_STAMP): Makefile build-aux/install-deps | $(DEPS_STAMP)
	@build-aux/install-deps $(TEST_DEB_PACKAGES)
	@mkdir -p $(B) && touch $@

# The shipped YAML, compiled in (the data search path, last resort: docs/ARCHITECTURE.md §2).
# Regenerate when a data file is added or removed, not only changed.
$(B)/gen/files.list: FORCE
	@mkdir -p $(dir $@)
	@echo "$(DATA_FILES)" > $@.tmp; cmp -s $@.tmp $@ && rm -f $@.tmp || mv $@.tmp $@

$(GEN_SRC): advisor/data/gen_builtin.sh $(DATA_FILES) $(B)/gen/files.list
	@mkdir -p $(dir $@)
	@echo "  GEN     $@"
	@sh advisor/data/gen_builtin.sh $(DATA_FILES) > $@.tmp && mv $@.tmp $@

# The BPF program of the CLOSE_WAIT owners (docs/KERNEL.md §18.5), compiled
# for the BPF target with its BTF (-g: the kernel relocates its field
# accesses against its own layout), and the light skeleton bpftool makes of
# it: a header holding the program and a loader program, used by
# owners_bpf.c through libbpf-dev's skel_internal.h (system calls only).
BPFTOOL  ?= $(or $(shell command -v bpftool 2>/dev/null),/usr/sbin/bpftool)
BPF_CC   ?= clang
MULTIARCH := $(shell $(CC) -print-multiarch 2>/dev/null)
OWNERS_LSKEL := $(B)/gen/owners.lskel.h
$(B)/bpf/owners.bpf.o: advisor/snapshot/bpf/owners.bpf.c advisor/snapshot/bpf/owners_rec.h | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	@echo "  BPF     $<"
	@$(BPF_CC) -g -O2 -target bpf -Wall -Wextra -Werror $(if $(MULTIARCH),-I/usr/include/$(MULTIARCH)) \
	  -Iadvisor/snapshot/bpf -c $< -o $@

$(OWNERS_LSKEL): $(B)/bpf/owners.bpf.o
	@mkdir -p $(dir $@)
	@echo "  LSKEL   $@"
	@$(BPFTOOL) gen skeleton -L $< name owners > $@.tmp && mv $@.tmp $@

$(addsuffix owners_bpf.o,$(addprefix $(B)/,obj/advisor/snapshot/ san/advisor/snapshot/ static/obj/advisor/snapshot/ \
  fuzz/obj/advisor/snapshot/)) $(B)/layers/advisor/snapshot/owners_bpf.ok: $(OWNERS_LSKEL)

$(B)/obj/gen/%.o: $(B)/gen/%.c | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	@$(CC) $(ALL_CFLAGS) $(call LAYER_INC,$<) -c $< -o $@

$(B)/san/gen/%.o: $(B)/gen/%.c | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	@$(CC) $(ALL_CFLAGS) $(call LAYER_INC,$<) $(SAN_FLAGS) -O1 -c $< -o $@

$(B)/obj/%.o: %.c | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(ALL_CFLAGS) $(call LAYER_INC,$<) -MMD -MP -c $< -o $@

$(B)/san/%.o: %.c | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	@echo "  CC/SAN  $<"
	@$(CC) $(ALL_CFLAGS) $(call LAYER_INC,$<) $(SAN_FLAGS) -O1 -DTCPTUNE_TEST -MMD -MP -c $< -o $@

$(B)/tcptune: $(B)/obj/advisor/cli/main.o $(LIB_OBJ)
	@echo "  LD      $@"
	@$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

# The program under ASan+UBSan, for integration tests that feed it bad input.
$(B)/tcptune-asan: $(B)/san/advisor/cli/main.o $(SAN_OBJ)
	@echo "  LD      $@"
	@$(CC) $(SAN_FLAGS) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

# The static binary (README.md, "Static binary"): build/tcptune-static, no
# shared library at all, for a rescue shell or a host without the four
# libraries.  Its objects are compiled again with TCPTUNE_STATIC (base/userdb.c
# then reads /etc/passwd instead of NSS, which glibc cannot link statically).
# libyaml.a, libcap.a and libjansson.a come with their -dev packages; libmnl.a
# is the system's where it has one (Debian trixie and later), else
# build-aux/static-libmnl fetches trixie's libmnl-dev, checks it against the
# sha256 pinned here, and extracts only libmnl.a into build/static/.
STATIC_MNL_DEB    := http://deb.debian.org/debian/pool/main/libm/libmnl/libmnl-dev_1.0.5-3_amd64.deb
STATIC_MNL_SHA256 := 7f9a7c3f470ec400171981816df189ec86b11083c3f8d391d0800ed09a87bfc3
STATIC_SYS_MNL    := $(wildcard $(shell pkg-config --variable=libdir libmnl 2>/dev/null)/libmnl.a)
STATIC_MNL        := $(or $(STATIC_SYS_MNL),$(B)/static/libmnl.a)
STATIC_OBJ        := $(LIB_SRC:%.c=$(B)/static/obj/%.o) $(B)/static/obj/gen/builtin_data.o
.PHONY: static
static: $(B)/tcptune-static

$(B)/static/libmnl.a: build-aux/static-libmnl Makefile
	@[ "$$(dpkg --print-architecture 2>/dev/null)" = amd64 ] || \
	  { echo "tcptune: make static: no pinned libmnl.a for $$(dpkg --print-architecture 2>/dev/null || uname -m); install a libmnl-dev that ships libmnl.a (Debian trixie or later)" >&2; exit 1; }
	@build-aux/static-libmnl $@ $(STATIC_MNL_DEB) $(STATIC_MNL_SHA256)

$(B)/static/obj/gen/%.o: $(B)/gen/%.c | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	@$(CC) $(ALL_CFLAGS) -DTCPTUNE_STATIC $(call LAYER_INC,$<) -c $< -o $@

$(B)/static/obj/%.o: %.c | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	@echo "  CC/STATIC $<"
	@$(CC) $(ALL_CFLAGS) -DTCPTUNE_STATIC $(call LAYER_INC,$<) -MMD -MP -c $< -o $@

# -Werror covers the link too: a glibc function that wants shared libraries at
# run time (NSS, iconv, dlopen) makes ld warn, and that fails the build.
$(B)/tcptune-static: $(B)/static/obj/advisor/cli/main.o $(STATIC_OBJ) $(STATIC_MNL)
	@echo "  LD      $@"
	@$(CC) $(CFLAGS) $(LDFLAGS) -static -Wl,--fatal-warnings -o $@ $(filter %.o,$^) \
	  -L$(dir $(STATIC_MNL)) $(shell pkg-config --static --libs $(PKGS) 2>/dev/null) -lm

# The layer check: every source compiled (syntax only) with its layer's
# include paths, and every header compiled on its own the same way.  The
# build does the first already; `make lint` runs both before the analysers.
LAYER_OK  := $(LIB_SRC:%.c=$(B)/layers/%.ok) $(B)/layers/advisor/cli/main.ok
HEADER_OK := $(HEADERS:%.h=$(B)/layers/%.h.ok)
layers: $(LAYER_OK) $(HEADER_OK)
$(B)/layers/%.ok: %.c | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	@$(CC) $(ALL_CFLAGS) $(call LAYER_INC,$<) -fsyntax-only $< || \
	  { echo "layers: $< does not compile with the include paths of its layer, $(call layer_of,$<)/ (docs/ARCHITECTURE.md)" >&2; exit 1; }
	@touch $@
$(B)/layers/%.h.ok: %.h | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	@$(CC) $(ALL_CFLAGS) $(call LAYER_INC,$<) -fsyntax-only -x c $< || \
	  { echo "layers: header $< does not compile on its own with the include paths of $(call layer_of,$<)/" >&2; exit 1; }
	@touch $@

# Each unit test is its own binary, linked against every module under ASan+UBSan.
$(B)/unit/%: tests/unit/%.c $(SAN_OBJ) | $(TEST_DEPS_STAMP)
	@mkdir -p $(dir $@)
	@echo "  TEST    $@"
	@$(CC) $(ALL_CFLAGS) $(ALL_INC) $(SAN_FLAGS) -O1 -DTCPTUNE_TEST -DFIXTURES='"$(CURDIR)/tests/fixtures"' \
	  -o $@ $< $(SAN_OBJ) $(LDFLAGS) $(PKG_LIBS) $(CMOCKA_LIBS) $(LDWRAP_$*)

# Shared fixtures of the transaction tests.
$(addprefix $(B)/unit/test_,txn rollback recover history store change fsutil): tests/unit/txn_testlib.h
$(addprefix $(B)/unit/test_,reappliers sysctld): tests/unit/sysctld_testlib.h

$(B)/tools/%: tests/tools/%.c | $(TEST_DEPS_STAMP)
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

# The boot differential test with more layouts: make difftest CASES=2000 [SEED=S].
CASES ?= 2000
SEED ?= 13
.PHONY: difftest
difftest: $(B)/tcptune
	@TT_BOOT_CASES=$(CASES) TT_BOOT_SEED=$(SEED) bash tests/integration/boot_differential.sh

# The SIGKILL sweep of apply_crash_recovery over every kill point (`make
# test` runs a fixed sample of them; tests/integration/apply_crash_recovery.sh
# says which).  Its three parts run side by side.
.PHONY: crash-sweep
crash-sweep: $(B)/tcptune
	@TT_FULL=1 TT_JOBS=$(or $(TT_JOBS),3) tests/run-integration apply_crash_recovery

# make test: lint, unit tests under ASan+UBSan, the integration scenarios, the
# valgrind pass over them, and a short pass of every fuzzer (FUZZ_SECONDS).
# What it runs is built first, with one job per CPU unless make was given -j
# (`make test` alone would build the ~40 test binaries one at a time).
NPROC := $(shell nproc 2>/dev/null || echo 1)
TEST_BUILD := $(B)/tcptune $(B)/tcptune-asan $(UNIT_BIN) $(TOOL_BIN) $(FUZZ_BIN)
.PHONY: test-build
test-build: $(TEST_BUILD)
test: | $(TEST_DEPS_STAMP)
	@case " $$MAKEFLAGS " in *" -j"*) j= ;; *) j=-j$(NPROC) ;; esac; \
	  $(MAKE) --no-print-directory $$j test-build
	@FUZZ_SECONDS=$(FUZZ_SECONDS) tests/run-all $(UNIT_BIN)

# Static analysis: the layer check above first, then cppcheck and clang-tidy
# over the program's sources, with the checks and their reasons in
# .clang-tidy and tests/run-lint.
lint: | $(TEST_DEPS_STAMP)
	@tests/run-lint

# The man page, from scdoc (a Debian package that `deps` installs).
man: $(B)/tcptune.8
$(B)/tcptune.8: docs/tcptune.8.scd | $(TEST_DEPS_STAMP)
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

# The Debian package (debian/; README.md, "The Debian package"): built by
# dpkg-buildpackage from a copy of the tree in build/deb/src (the .deb files
# land in build/deb/), then lintian (its report in build/deb/lintian.log),
# which must report no error or warning.  Built again only when a file that
# goes into it changed (tests/integration/package_deb.sh runs `make deb`).
DEB_TOOLS  := dpkg-dev debhelper fakeroot lintian scdoc
DEB_INPUTS := Makefile $(shell find debian advisor backup rules profiles build-aux -type f 2>/dev/null) \
              docs/tcptune.8.scd contrib/bash-completion/tcptune
.PHONY: deb
deb: $(B)/deb/stamp
$(B)/deb/stamp: $(DEB_INPUTS) | $(DEPS_STAMP)
	@build-aux/install-deps $(DEB_TOOLS)
	@rm -rf $(B)/deb && mkdir -p $(B)/deb/src
	@touch $(B)/deb/stamp.tmp	# the time of the copy: an edit during the build makes the next make deb build again
	@tar --exclude=./build --exclude=./.git -cf - . | tar -C $(B)/deb/src -xf -
	@echo "  DEB     $(B)/deb (dpkg-buildpackage -us -uc -b; log: $(B)/deb/build.log)"
	@cd $(B)/deb/src && dpkg-buildpackage -us -uc -b >../build.log 2>&1 || { tail -n 30 ../build.log >&2; exit 1; }
	@ls $(B)/deb/*.deb
	@echo "  LINTIAN $(B)/deb/*.changes"
	@lintian --fail-on error,warning --info $(B)/deb/*.changes >$(B)/deb/lintian.log 2>&1; rc=$$?; \
	  grep -v '^running with root privileges' $(B)/deb/lintian.log; [ $$rc = 0 ] || exit $$rc
	@echo "lintian: no errors, no warnings" | tee -a $(B)/deb/lintian.log
	@mv $(B)/deb/stamp.tmp $@

# libFuzzer targets, one per parser (tests/fuzz/fuzz_<name>.c; clang and
# libclang-rt-14-dev).  `make fuzz` runs each for FUZZ_SECONDS (tests/run-fuzz:
# seeds from tests/fuzz/corpus and tests/fuzz/crashes, new inputs and crash
# inputs under build/fuzz/); `make test` runs the same short pass.
$(B)/fuzz/obj/gen/%.o: $(B)/gen/%.c | $(TEST_DEPS_STAMP)
	@mkdir -p $(dir $@)
	@$(FUZZ_CC) $(FUZZ_CFLAGS) $(PKG_CFLAGS) -c $< -o $@

$(B)/fuzz/obj/%.o: %.c | $(TEST_DEPS_STAMP)
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

# (not the package build's copy of the tree, build/deb/src)
-include $(shell find $(B) -path $(B)/deb -prune -o -name '*.d' -type f -print 2>/dev/null)
