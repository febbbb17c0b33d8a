# tests/host/host.mk: host unit tests and parser fuzzers (included by the Makefile).
#
# Each tests/host/test_<name>.c is one binary, linked with the kernel file it tests
# (HOST_UNDER_<name>) and the harness, built with AddressSanitizer and
# UndefinedBehaviorSanitizer for Linux. Results go to build/results/host.txt as
# PASS/FAIL lines for tools/summary.py; a binary that dies (a sanitizer report) is a
# failure even if it printed no [FAIL] line.

# Prerequisites below name the file under test per target ($$(HOST_UNDER_$$*)).
.SECONDEXPANSION:

HOST_CC     := gcc
HOST_CFLAGS := -std=gnu11 -O1 -g -Wall -Wextra -Werror -Wno-unused-parameter \
	       -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all \
	       -Ikernel/include -Iboot/include -Iarch/include -Itests/host
HOST_OUT    := $(BUILD)/host

HOST_UNDER_acpi    := kernel/acpi.c
HOST_UNDER_fdt     := kernel/fdt.c kernel/fdt_walk.c
HOST_UNDER_cmdline := kernel/cmdline.c
HOST_UNDER_pmm     := kernel/pmm.c

HOST_TESTS := $(patsubst tests/host/test_%.c,%,$(wildcard tests/host/test_*.c))
HOST_BINS  := $(patsubst %,$(HOST_OUT)/test_%,$(HOST_TESTS))

$(HOST_OUT)/test_%: tests/host/test_%.c tests/host/hosttest_main.c tests/host/*.h $$(HOST_UNDER_$$*) \
		kernel/include/kernel/*.h boot/include/boot/*.h
	@mkdir -p $(dir $@)
	$(HOST_CC) $(HOST_CFLAGS) $< tests/host/hosttest_main.c $(HOST_UNDER_$*) -o $@

host-tests: $(HOST_BINS)
	@mkdir -p $(RESULTS); : > $(RESULTS)/host.txt; rc=0; \
	for t in $(HOST_TESTS); do \
		HOSTTEST_DATA=tests/host/data $(HOST_OUT)/test_$$t > $(HOST_OUT)/test_$$t.log 2>&1; st=$$?; \
		grep -E '^\[(FAIL| OK )\]' $(HOST_OUT)/test_$$t.log | grep -v '^\[ OK \]' ; \
		grep -E '^\[ OK \]' $(HOST_OUT)/test_$$t.log | sed 's/^\[ OK \] /PASS /' >> $(RESULTS)/host.txt; \
		grep -E '^\[FAIL\]' $(HOST_OUT)/test_$$t.log | sed 's/^\[FAIL\] \([^:]*\).*/FAIL \1/' >> $(RESULTS)/host.txt; \
		if [ $$st -ne 0 ] && ! grep -q '^\[FAIL\]' $(HOST_OUT)/test_$$t.log; then \
			echo "[FAIL] host/$$t: exited with status $$st"; tail -20 $(HOST_OUT)/test_$$t.log; \
			echo "FAIL host/$$t" >> $(RESULTS)/host.txt; fi; \
		[ $$st -eq 0 ] || rc=1; \
		echo "host/$$t: $$(tail -1 $(HOST_OUT)/test_$$t.log)"; \
	done; exit $$rc

# ---- fuzzers (libFuzzer): each runs FUZZ_SECONDS from its seed corpus ----------------
FUZZ_CC     := clang
FUZZ_CFLAGS := -std=gnu11 -O1 -g -Wall -Wextra -Werror -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	       -Ikernel/include -Iboot/include -Iarch/include
FUZZ_UNDER_acpi    := kernel/acpi.c
FUZZ_UNDER_fdt     := kernel/fdt.c kernel/fdt_walk.c
FUZZ_UNDER_cmdline := kernel/cmdline.c
FUZZERS := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))

$(HOST_OUT)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz_common.h $$(FUZZ_UNDER_$$*) kernel/include/kernel/*.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $< $(FUZZ_UNDER_$*) -o $@

# Each fuzzer from its corpus (tests/fuzz/corpus/<name>, kept in the tree, and what the
# runs found in build/host/corpus/<name>), stopped by $(1): -max_total_time=S (make test's
# bounded runs) or -runs=N (make fuzz). PASS/FAIL lines in $(RESULTS)/fuzz.txt.
define FUZZ_RUN
	@mkdir -p $(RESULTS); : > $(RESULTS)/fuzz.txt; rc=0; \
	for f in $(FUZZERS); do \
		mkdir -p $(HOST_OUT)/corpus/$$f; \
		if $(HOST_OUT)/fuzz_$$f $(1) -rss_limit_mb=2048 -timeout=10 \
			-artifact_prefix=$(HOST_OUT)/crash-$$f- \
			$(HOST_OUT)/corpus/$$f tests/fuzz/corpus/$$f > $(HOST_OUT)/fuzz_$$f.log 2>&1; then \
			echo "[ OK ] fuzz/$$f: $$(grep -Eo '#[0-9]+[[:space:]]+DONE.*' $(HOST_OUT)/fuzz_$$f.log | tail -1)"; \
			echo "PASS fuzz/$$f" >> $(RESULTS)/fuzz.txt; \
		else \
			echo "[FAIL] fuzz/$$f: crash, see $(HOST_OUT)/fuzz_$$f.log"; tail -30 $(HOST_OUT)/fuzz_$$f.log; \
			echo "FAIL fuzz/$$f" >> $(RESULTS)/fuzz.txt; rc=1; \
		fi; \
	done; exit $$rc
endef

FUZZ_RUNS ?= 10000000

# make test's bounded runs: FUZZ_SECONDS each.
fuzz-short: $(patsubst %,$(HOST_OUT)/fuzz_%,$(FUZZERS))
	$(call FUZZ_RUN,-max_total_time=$(FUZZ_SECONDS))

# make fuzz: FUZZ_RUNS executions each, then what added coverage is merged into the
# corpus in the tree (libFuzzer's -merge=1: only inputs with new features), to commit.
fuzz: $(patsubst %,$(HOST_OUT)/fuzz_%,$(FUZZERS))
	$(call FUZZ_RUN,-runs=$(FUZZ_RUNS))
	@for f in $(FUZZERS); do \
		before=$$(ls tests/fuzz/corpus/$$f | wc -l); \
		$(HOST_OUT)/fuzz_$$f -merge=1 -rss_limit_mb=2048 tests/fuzz/corpus/$$f $(HOST_OUT)/corpus/$$f \
			> $(HOST_OUT)/fuzz_$$f.merge.log 2>&1 || { echo "fuzz/$$f: merge failed"; exit 1; }; \
		echo "fuzz/$$f: corpus $$before -> $$(ls tests/fuzz/corpus/$$f | wc -l) inputs (tests/fuzz/corpus/$$f)"; \
	done
