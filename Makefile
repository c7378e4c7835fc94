# wfguard — one entry point: deps, all, test, bench, demo, vmtest, install.
#
#   make deps      install missing Debian packages (root, apt-get)
#   make           build everything into build/
#   make test      build and run every test suite; non-zero on any failure
#   make bench     run the performance benchmarks (bench/perf)
#   make demo      the main job (see README.md)
#
# Knobs: CLANG=clang-16 to build BPF objects with another clang; V=1 for full
# command lines.

CLANG    ?= clang
CC       ?= gcc
BPFTOOL  ?= bpftool
BUILD    ?= build
PREFIX   ?= /usr/local
DESTDIR  ?=

ifeq ($(V),1)
Q :=
msg = @true
else
Q := @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

ARCH_INC  := /usr/include/$(shell $(CC) -dumpmachine)
USER_CFLAGS := -O2 -g -std=gnu11 -Wall -Wextra -Werror -Iinclude -Iuser/lib -I$(BUILD)
USER_LDLIBS := -lxdp -lbpf -lelf -lz -lm -lyaml -ljansson
BPF_CFLAGS  := -O2 -g -target bpf -Wall -Werror -Iinclude -Ibpf -I$(ARCH_INC)

# Missing packages trigger `make deps` before anything else is built.
DEPS_MISSING := $(shell scripts/deps.sh --check >/dev/null 2>&1 || echo yes)

.PHONY: all deps test test-unit test-strict test-bpf bench demo clean install vmtest
.DEFAULT_GOAL := all

deps:
	$(Q)scripts/deps.sh

ifeq ($(DEPS_MISSING),yes)
DEPS_FIRST := deps
# Some choices are made while this file is read (Open MPI for wfbench, below): install
# the missing packages first and let make read the file again. An included file that
# make remakes restarts it; MAKE_RESTARTS keeps a failed install from looping.
ifeq ($(MAKE_RESTARTS),)
-include $(BUILD)/.deps-installed
$(BUILD)/.deps-installed: .FORCE
	$(Q)scripts/deps.sh && mkdir -p $(@D) && touch $@
endif
endif

# ---------------------------------------------------------------- sources
USERLIB_SRCS := $(wildcard user/lib/*.c user/lib/*/*.c)
USERLIB_OBJS := $(USERLIB_SRCS:%.c=$(BUILD)/%.o)
USERLIB_ASAN_OBJS := $(USERLIB_SRCS:%.c=$(BUILD)/asan/%.o)
USERLIB      := $(BUILD)/libwfguard.a
USERLIB_ASAN := $(BUILD)/asan/libwfguard.a

# The product's BPF object (bpf/), and the test and benchmark programs that live
# with their suites (tests/progs/, bench/perf/progs/). Every object gets a skeleton
# in $(BUILD)/NAME.skel.h.
BPF_SRCS  := $(wildcard bpf/*.bpf.c)
BPF_TEST_SRCS := $(wildcard tests/progs/*.bpf.c bench/perf/progs/*.bpf.c)
BPF_OBJS  := $(BPF_SRCS:%.bpf.c=$(BUILD)/%.bpf.o) $(BPF_TEST_SRCS:%.bpf.c=$(BUILD)/%.bpf.o)
BPF_SKELS := $(foreach s,$(BPF_SRCS) $(BPF_TEST_SRCS),$(BUILD)/$(notdir $(s:.bpf.c=.skel.h)))

UNIT_SRCS  := $(wildcard tests/unit/test_*.c)
UNIT_BINS  := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/unit/%)
UNIT_ASAN  := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/asan/tests/unit/%)
BPFT_SRCS  := $(wildcard tests/bpf/test_*.c)
BPFT_BINS  := $(BPFT_SRCS:tests/bpf/%.c=$(BUILD)/tests/bpf/%)
NET_SRCS   := $(wildcard tests/net/test_*.c)
NET_BINS   := $(NET_SRCS:tests/net/%.c=$(BUILD)/tests/net/%)
STRICT_SRCS := $(wildcard tests/compile/*.c)
STRICT_OBJS := $(STRICT_SRCS:tests/compile/%.c=$(BUILD)/tests/compile/%.o)
PERF_SRCS  := $(wildcard bench/perf/*.c)
PERF_BINS  := $(PERF_SRCS:bench/perf/%.c=$(BUILD)/bench/perf/%)

# Header dependencies come from the compiler (-MMD -MP, the .d files beside each
# object); only generated headers (skeletons) are named by hand.
DEPFLAGS = -MMD -MP

# Test binaries find the shared fixtures (tests/lib) and the test programs' headers,
# and link libwfgtest.a. TEST_CFLAGS stands before the source on the link lines, where
# an archive would be searched too early: it is taken whole instead.
# The benchmarks use only tests/lib's header-only fixtures (packets, zoo, test runs):
# no test framework, no archive, nothing of the suites.
TEST_CFLAGS := -Itests/lib -Itests/progs -Wl,--whole-archive $(BUILD)/libwfgtest.a -Wl,--no-whole-archive
PERF_CFLAGS := -Itests/lib -Itests/progs

DEMO    := $(BUILD)/wfguard-core-demo
WFGUARD := $(BUILD)/wfguard

all: $(DEPS_FIRST) $(DEMO) $(WFGUARD) $(USERLIB) $(BPF_OBJS) $(BPF_SKELS) $(UNIT_BINS) $(BPFT_BINS) $(NET_BINS) $(PERF_BINS)

# ---------------------------------------------------------------- rules
$(BUILD)/%.o: %.c | $(DEPS_FIRST)
	@mkdir -p $(@D)
	$(call msg,CC,$@)
	$(Q)$(CC) $(USER_CFLAGS) $(DEPFLAGS) -c $< -o $@

# The loader embeds the data path object through its skeleton.
$(BUILD)/user/lib/loader.o $(BUILD)/asan/user/lib/loader.o: $(BUILD)/wfguard.skel.h

$(USERLIB): $(USERLIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/%.bpf.o: %.bpf.c | $(DEPS_FIRST)
	@mkdir -p $(@D)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -I$(<D) $(DEPFLAGS) -c $< -o $@

define skel_rule
$(BUILD)/$(notdir $(1:.bpf.c=.skel.h)): $(BUILD)/$(1:.bpf.c=.bpf.o)
	$$(call msg,SKEL,$$@)
	$$(Q)$$(BPFTOOL) gen skeleton $$< > $$@.tmp && mv $$@.tmp $$@
endef
$(foreach s,$(BPF_SRCS) $(BPF_TEST_SRCS),$(eval $(call skel_rule,$(s))))

$(BUILD)/tests/unit/%: tests/unit/%.c $(USERLIB)
	@mkdir -p $(@D)
	$(call msg,TEST,$@)
	$(Q)$(CC) $(USER_CFLAGS) $(UNIT_CFLAGS) $(TEST_CFLAGS) $(DEPFLAGS) $< $(UNIT_LIBS) $(USERLIB) -o $@ -lcriterion $(UNIT_LDLIBS) $(USER_LDLIBS)

# The same unit tests, built by clang with AddressSanitizer and UBSan.
ASAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
$(BUILD)/asan/%.o: %.c | $(DEPS_FIRST)
	@mkdir -p $(@D)
	$(call msg,ASAN,$@)
	$(Q)$(CLANG) $(USER_CFLAGS) $(ASAN_FLAGS) $(DEPFLAGS) -c $< -o $@

$(USERLIB_ASAN): $(USERLIB_ASAN_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/asan/tests/unit/%: tests/unit/%.c $(USERLIB_ASAN)
	@mkdir -p $(@D)
	$(call msg,ASAN,$@)
	$(Q)$(CLANG) $(USER_CFLAGS) $(ASAN_FLAGS) $(UNIT_CFLAGS) $(TEST_CFLAGS) $(DEPFLAGS) $< $(UNIT_ASAN_LIBS) $(USERLIB_ASAN) -o $@ -lcriterion $(UNIT_LDLIBS) $(USER_LDLIBS)

# The core under gcc's strictest useful warnings (it is also compiled for BPF).
$(BUILD)/tests/compile/%.o: tests/compile/%.c | $(DEPS_FIRST)
	@mkdir -p $(@D)
	$(call msg,STRICT,$@)
	$(Q)$(CC) -O2 -std=gnu11 -Wall -Wextra -Wconversion -Wshadow -Werror -Iinclude $(DEPFLAGS) -c $< -o $@

# The suites' fixtures that need code (tests/lib/*.c), linked into every test binary.
TESTLIB_SRCS := $(wildcard tests/lib/*.c)
$(BUILD)/libwfgtest.a: $(TESTLIB_SRCS:%.c=$(BUILD)/%.o)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^
$(UNIT_BINS) $(UNIT_ASAN) $(BPFT_BINS) $(NET_BINS) $(BUILD)/vmtest/test_edt: $(BUILD)/libwfgtest.a

# BPF test runs and namespace tests (tests/bpf, tests/net): real objects via their
# skeletons. (Unit tests have their own, more specific rule above.)
$(BUILD)/tests/%: tests/%.c $(BPF_SKELS) $(USERLIB)
	@mkdir -p $(@D)
	$(call msg,TEST,$@)
	$(Q)$(CC) $(USER_CFLAGS) $(TEST_CFLAGS) $(BENCH_CFLAGS) $(DEPFLAGS) $< $(BENCHLIB) $(USERLIB) -o $@ -lcriterion $(BENCH_LDLIBS) $(USER_LDLIBS)

$(BUILD)/bench/perf/%: bench/perf/%.c $(USERLIB) $(BPF_SKELS)
	@mkdir -p $(@D)
	$(call msg,BENCH,$@)
	$(Q)$(CC) $(USER_CFLAGS) -O3 $(PERF_CFLAGS) $(BENCH_CFLAGS) $(DEPFLAGS) $< $(BENCHLIB) $(USERLIB) -o $@ $(BENCH_LDLIBS) $(USER_LDLIBS)

$(DEMO): user/demo_core.c $(USERLIB)
	$(call msg,CC,$@)
	$(Q)$(CC) $(USER_CFLAGS) $(DEPFLAGS) $< $(USERLIB) -o $@ $(USER_LDLIBS)

# `wfguard version`: the version, and the commit when built from a git checkout.
WFG_VERSION    := 0.1.0
WFG_GIT_COMMIT := $(shell git describe --always --dirty --abbrev=12 2>/dev/null)
$(BUILD)/wfguard: user/wfguard.c $(USERLIB)
	$(call msg,CC,$@)
	$(Q)$(CC) $(USER_CFLAGS) -DWFG_VERSION='"$(WFG_VERSION)"' -DWFG_GIT_COMMIT='"$(WFG_GIT_COMMIT)"' $(DEPFLAGS) $< $(USERLIB) -o $@ $(USER_LDLIBS)

# The main job (README): page loads over real UDP between namespaces, undefended and
# defended by wfguard, what an observer saw; then the harness's evaluation.
demo: $(DEPS_FIRST) $(WFGUARD) $(BUILD)/wfbench
	$(Q)scripts/demo.sh $(BUILD)

# ---------------------------------------------------------------- test
# Each suite runs even if an earlier one failed; the summary decides the exit.
# vmtest (defined below) boots Debian's 6.1 kernel and runs the kernel-facing suites
# there; its self-test proves a broken object makes that run fail. VMTEST=0 leaves both out.
# The demo, shortened, checking its own claims (scripts/demo.sh --quick --check).
TEST_DEMO = demo:"!scripts/demo.sh $(BUILD) --quick --check"
VMTEST ?= 1
ifeq ($(VMTEST),1)
TEST_VM = vmtest:"!$(VMTEST_IN_TEST)" vmself:"!$(VMTEST_SELFTEST)"
endif
test: $(DEPS_FIRST) all $(UNIT_ASAN) $(STRICT_OBJS)
	$(Q)scripts/run-tests.sh $(BUILD) unit:"$(UNIT_BINS)" asan:"$(UNIT_ASAN)" bpf:"$(BPFT_BINS)" \
		net:"$(NET_BINS)" tunnel:"!tests/net/tunnel.sh $(BUILD)" tunfwd:"!tests/net/tunnel_forward.sh $(BUILD)" \
		quic:"!tests/net/quic_shim.sh $(BUILD)" realdata:"!tests/cli/wfbench_real_data.sh $(BUILD)" \
		fuzz:"!tests/fuzz/run.sh $(BUILD) 4" live:"!tests/net/live.sh $(BUILD)" \
		livequic:"!tests/net/live_quic.sh $(BUILD)" cluster:"!tests/cluster/mpi.sh $(BUILD)" \
		deepmodel:"!tests/bench/deep_model.sh $(BUILD)" \
		install:"!scripts/test-install.sh $(BUILD)" format:"!$(MAKE) -s format-check" \
		$(TEST_DEMO) $(TEST_VM)

# The deep attacks on the 10 x 60 synthetic world, undefended and under FRONT (hours on
# 2 cores; figures in docs/attacks/deep-measured.md). Not part of `make test`.
.PHONY: test-long
test-long: all
	$(Q)tests/bench/deep_world.sh $(BUILD)

bench: all
	$(Q)for b in $(PERF_BINS); do echo "== $$b"; $$b || exit 1; done
	$(Q)echo "== bench/perf/tunnel_iperf.sh"; bench/perf/tunnel_iperf.sh $(BUILD)

# clang-format 14 and the repo's .clang-format over every tracked C file. (Files
# with deliberate alignment keep it in /* clang-format off */ blocks.)
CLANG_FORMAT ?= clang-format-14
FORMAT_SRCS = $(wildcard $(shell git ls-files '*.c' '*.h'))
.PHONY: format format-check
format-check:
	$(Q)$(CLANG_FORMAT) --dry-run --Werror $(FORMAT_SRCS)
	$(Q)echo "$(words $(FORMAT_SRCS)) files match .clang-format"

format:
	$(Q)$(CLANG_FORMAT) -i $(FORMAT_SRCS)

clean:
	rm -rf $(BUILD)

# ---------------------------------------------------------------- install
# make install [PREFIX=/usr/local] [DESTDIR=]: both tools, the BPF objects (the tools
# embed them; installed for bpftool and inspection), man pages generated from --help,
# example policies, docs and the systemd unit (its paths follow PREFIX).
SYSTEMD_DIR ?= /lib/systemd/system
MAN_PAGES := $(BUILD)/man/wfguard.8 $(BUILD)/man/wfbench.1

$(BUILD)/man/wfguard.8: $(WFGUARD) scripts/gen-man.sh contrib/man/wfguard.8.tail
	@mkdir -p $(@D)
	$(call msg,MAN,$@)
	$(Q)scripts/gen-man.sh $< wfguard 8 "website-fingerprinting defence on the Linux data path" > $@

$(BUILD)/man/wfbench.1: $(BUILD)/wfbench scripts/gen-man.sh contrib/man/wfbench.1.tail
	@mkdir -p $(@D)
	$(call msg,MAN,$@)
	$(Q)scripts/gen-man.sh $< wfbench 1 "website-fingerprinting trace-replay harness" > $@

install: all $(MAN_PAGES)
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/bin \
		$(DESTDIR)$(PREFIX)/lib/wfguard $(DESTDIR)$(PREFIX)/share/man/man8 \
		$(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/wfguard/policies \
		$(DESTDIR)$(PREFIX)/share/doc/wfguard $(DESTDIR)$(SYSTEMD_DIR) \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions
	install -m 0755 $(WFGUARD) $(DESTDIR)$(PREFIX)/sbin/wfguard
	install -m 0644 contrib/wfguard.bash $(DESTDIR)$(PREFIX)/share/bash-completion/completions/wfguard
	install -m 0755 $(BUILD)/wfbench $(DESTDIR)$(PREFIX)/bin/wfbench
	install -m 0644 $(BUILD)/bpf/wfguard.bpf.o $(DESTDIR)$(PREFIX)/lib/wfguard/
	install -m 0644 $(BUILD)/man/wfguard.8 $(DESTDIR)$(PREFIX)/share/man/man8/
	install -m 0644 $(BUILD)/man/wfbench.1 $(DESTDIR)$(PREFIX)/share/man/man1/
	install -m 0644 examples/policies/*.yaml $(DESTDIR)$(PREFIX)/share/wfguard/policies/
	install -m 0644 README.md docs/*.md $(DESTDIR)$(PREFIX)/share/doc/wfguard/
	sed 's|/usr/local/|$(PREFIX)/|g' contrib/wfguard@.service > $(DESTDIR)$(SYSTEMD_DIR)/wfguard@.service
	chmod 0644 $(DESTDIR)$(SYSTEMD_DIR)/wfguard@.service

# ---- wfbench (harness)
# build/wfbench from bench/*.c (not bench/perf/). The harness's library part (every
# bench/*.c but the CLI) is also an archive, so that unit tests can link it.
# BENCH_DIRS: the harness's source folders (bench/perf/ is the benchmarks, apart).
BENCH_DIRS      := bench bench/trace bench/attacks bench/attacks/nn bench/eval bench/live
BENCH_CFLAGS    := $(addprefix -I,$(BENCH_DIRS))
BENCHLIB_SRCS   := $(filter-out bench/wfbench.c,$(foreach d,$(BENCH_DIRS),$(wildcard $(d)/*.c)))
BENCHLIB        := $(BUILD)/libwfbench.a
BENCHLIB_ASAN   := $(BUILD)/asan/libwfbench.a
BENCH_LDLIBS    := -lpcap -lsvm -lopenblas -lpthread
# Unit tests that include a harness header get the harness (its folders, its
# archive, libpcap and libsvm); the others see the product's library only, so a
# harness header in one of them does not even compile.
space := $(subst ,, )
HARNESS_HDRS    := $(notdir $(foreach d,$(BENCH_DIRS),$(wildcard $(d)/*.h)))
UNIT_HARNESS_SRCS := $(shell grep -lE '^\#include "($(subst $(space),|,$(HARNESS_HDRS)))"' $(UNIT_SRCS))
UNIT_HARNESS    := $(UNIT_HARNESS_SRCS:tests/unit/%.c=$(BUILD)/tests/unit/%)
UNIT_HARNESS_ASAN := $(UNIT_HARNESS_SRCS:tests/unit/%.c=$(BUILD)/asan/tests/unit/%)
$(UNIT_HARNESS) $(UNIT_HARNESS_ASAN): UNIT_CFLAGS := $(BENCH_CFLAGS)
$(UNIT_HARNESS): UNIT_LIBS := $(BENCHLIB)
$(UNIT_HARNESS_ASAN): UNIT_ASAN_LIBS := $(BENCHLIB_ASAN)
$(UNIT_HARNESS) $(UNIT_HARNESS_ASAN): UNIT_LDLIBS := $(BENCH_LDLIBS)

all: $(BUILD)/wfbench

$(BENCHLIB_SRCS:%.c=$(BUILD)/%.o) $(BENCHLIB_SRCS:%.c=$(BUILD)/asan/%.o) \
	$(BUILD)/bench/wfbench.o: USER_CFLAGS += $(BENCH_CFLAGS)

$(BENCHLIB): $(BENCHLIB_SRCS:%.c=$(BUILD)/%.o)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BENCHLIB_ASAN): $(BENCHLIB_SRCS:%.c=$(BUILD)/asan/%.o)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

# wfbench records its version and commit in what it writes (docs/evaluation.md):
# the header is rewritten only when they change, and wfbench.o follows it.
$(BUILD)/bench/wfb_version.h: .FORCE
	@mkdir -p $(@D)
	@printf '#define WFB_VERSION "wfbench %s (commit %s)"\n' '$(WFG_VERSION)' '$(or $(WFG_GIT_COMMIT),unknown)' > $@.tmp
	@cmp -s $@.tmp $@ && rm -f $@.tmp || mv $@.tmp $@
$(BUILD)/bench/wfbench.o: $(BUILD)/bench/wfb_version.h
$(BUILD)/bench/wfbench.o: USER_CFLAGS += -I$(BUILD)/bench
.PHONY: .FORCE


# MPI (docs/cluster.md): linked into wfbench alone, through bench/cluster/mpi.c, when
# Open MPI's headers are installed (libopenmpi-dev); else bench/cluster/none.c. WFB_MPI=0
# builds without it anyway. `wfbench help` says which.
WFB_MPI ?= $(shell pkg-config --exists ompi-c 2>/dev/null && echo 1 || echo 0)
ifeq ($(WFB_MPI),1)
CLUSTER_SRC  := bench/cluster/mpi.c
CLUSTER_LIBS := $(shell pkg-config --libs ompi-c)
$(BUILD)/bench/cluster/mpi.o: USER_CFLAGS += $(shell pkg-config --cflags ompi-c)
else
CLUSTER_SRC  := bench/cluster/none.c
endif
CLUSTER_OBJ := $(CLUSTER_SRC:%.c=$(BUILD)/%.o)
$(BUILD)/bench/cluster/mpi.o $(BUILD)/bench/cluster/none.o: USER_CFLAGS += $(BENCH_CFLAGS)

$(BUILD)/wfbench: $(BUILD)/bench/wfbench.o $(CLUSTER_OBJ) $(BENCHLIB) $(USERLIB)
	$(call msg,LD,$@)
	$(Q)$(CC) $(USER_CFLAGS) $< $(CLUSTER_OBJ) $(BENCHLIB) $(USERLIB) -o $@ $(BENCH_LDLIBS) $(USER_LDLIBS) $(CLUSTER_LIBS)

$(UNIT_HARNESS): $(BENCHLIB)
$(PERF_BINS) $(BPFT_BINS) $(NET_BINS): $(BENCHLIB)
$(UNIT_HARNESS_ASAN): $(BENCHLIB_ASAN)

# ---- vmtest (vmtest/, docs/vmtest.md)
# The kernel-facing suites (tests/bpf, tests/net) and the EDT timing tests that need
# a real sch_fq (vmtest/guest) inside qemu (TCG) on Debian's cloud kernel.
#   make vmtest                         run them; SKIP (exit 0) without qemu or the kernel
#   make vmtest VMTEST_KERNEL=<pkg>     another Debian kernel package (name or meta package)
#   make vmtest-selftest                the harness must report a broken object as failure
# VMTEST_IN_TEST / VMTEST_DEPS are for wiring into `make test`.
VMTEST_KERNEL  ?= linux-image-cloud-amd64
VMTEST_TIMEOUT ?= 1800
VMTEST_GUEST   := $(BUILD)/vmtest/test_edt
VMTEST_BROKEN  := $(BUILD)/vmtest/test_broken
VMTEST_DEPS    := $(VMTEST_GUEST) $(BPFT_BINS) $(NET_BINS) $(WFGUARD)
VMTEST_ARGS    := --build $(BUILD) --kernel $(VMTEST_KERNEL) --timeout $(VMTEST_TIMEOUT)
VMTEST_IN_TEST := vmtest/run.sh $(VMTEST_ARGS) bpf:'$(BPFT_BINS)' net:'$(NET_BINS)' \
	edt:'$(VMTEST_GUEST)' tunnel:'vmtest/guest/tunnel.sh'
VMTEST_SELFTEST := vmtest/selftest.sh $(VMTEST_ARGS) selftest:'$(VMTEST_BROKEN)'

.PHONY: vmtest vmtest-selftest
# `make test` builds what vmtest needs, so that VMTEST_IN_TEST can run in its recipe.
ifeq ($(VMTEST),1)
test: $(VMTEST_DEPS) $(VMTEST_BROKEN)
endif

vmtest: $(DEPS_FIRST) $(VMTEST_DEPS)
	$(Q)$(VMTEST_IN_TEST)

vmtest-selftest: $(DEPS_FIRST) $(VMTEST_BROKEN)
	$(Q)$(VMTEST_SELFTEST)

$(VMTEST_GUEST): vmtest/guest/test_edt.c $(BPF_SKELS) $(USERLIB)
	@mkdir -p $(@D)
	$(call msg,TEST,$@)
	$(Q)$(CC) $(USER_CFLAGS) $(TEST_CFLAGS) $(DEPFLAGS) $< $(USERLIB) -o $@ -lcriterion $(USER_LDLIBS)

# A test-only object that 6.1's verifier rejects (vmtest/broken/); never in `all`.
$(BUILD)/vmtest/broken.bpf.o: vmtest/broken/broken.bpf.c | $(DEPS_FIRST)
	@mkdir -p $(@D)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/vmtest/broken.skel.h: $(BUILD)/vmtest/broken.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< > $@.tmp && mv $@.tmp $@

$(VMTEST_BROKEN): vmtest/broken/test_broken.c $(BUILD)/vmtest/broken.skel.h $(BUILD)/libwfgtest.a
	@mkdir -p $(@D)
	$(call msg,TEST,$@)
	$(Q)$(CC) $(USER_CFLAGS) -I$(BUILD)/vmtest $(TEST_CFLAGS) $(DEPFLAGS) $< -o $@ -lcriterion $(USER_LDLIBS)
# ---- end vmtest

# ---- fuzz (tests/fuzz, docs/fuzzing.md)
# libFuzzer targets under ASan+UBSan (clang-14; libFuzzer is libclang-rt-14-dev's):
# the policy compiler, the Maybenot decoder and each trace reader.
#   make fuzz                              build them into $(BUILD)/fuzz/
#   tests/fuzz/run.sh $(BUILD) [SECONDS]   run each from its seeds (make test: the short run)
FUZZ_CC      ?= clang-14
FUZZ_SAN     := address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_TRACES  := native wang maybenot pcap
FUZZ_BINS    := $(BUILD)/fuzz/fuzz_policy $(BUILD)/fuzz/fuzz_maybenot \
	$(FUZZ_TRACES:%=$(BUILD)/fuzz/fuzz_trace_%)
FUZZ_SRCS    := $(USERLIB_SRCS) $(wildcard bench/trace/*.c)
FUZZ_LIB     := $(BUILD)/fuzz/libfuzzed.a
FUZZ_CFLAGS   = $(USER_CFLAGS) -Ibench/trace -Itests/fuzz -fsanitize=fuzzer-no-link,$(FUZZ_SAN)
FUZZ_LDFLAGS := -fsanitize=fuzzer,$(FUZZ_SAN)
.PHONY: fuzz
fuzz: $(FUZZ_BINS)
# (here, not on the test: line above: a prerequisite list is expanded where it is read)
test: $(FUZZ_BINS)

$(BUILD)/fuzz/obj/%.o: %.c | $(DEPS_FIRST)
	@mkdir -p $(@D)
	$(call msg,FUZZCC,$@)
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) $(DEPFLAGS) -c $< -o $@
$(BUILD)/fuzz/obj/user/lib/loader.o: $(BUILD)/wfguard.skel.h

$(FUZZ_LIB): $(FUZZ_SRCS:%.c=$(BUILD)/fuzz/obj/%.o)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

# Static pattern rules: only these targets (the .d files beside them must not match).
$(FUZZ_TRACES:%=$(BUILD)/fuzz/fuzz_trace_%): $(BUILD)/fuzz/fuzz_trace_%: tests/fuzz/fuzz_trace.c $(FUZZ_LIB)
	$(call msg,FUZZ,$@)
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_LDFLAGS) -DFUZZ_FORMAT='"$*"' $(DEPFLAGS) -MF $@.d $< $(FUZZ_LIB) -o $@ -lpcap $(USER_LDLIBS)

$(BUILD)/fuzz/fuzz_policy $(BUILD)/fuzz/fuzz_maybenot: $(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_LIB)
	$(call msg,FUZZ,$@)
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_LDFLAGS) $(DEPFLAGS) -MF $@.d $< $(FUZZ_LIB) -o $@ $(USER_LDLIBS)
# ---- end fuzz

# The compiler's header dependencies (DEPFLAGS) of everything built so far.
-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
