# The gort image: one Makefile, two knobs.
#
#   make run [ARCH=x86_64|aarch64] [BOOT=uefi|direct] [SMP=n] [CMDLINE="tests=all"]
#                         build the image and boot it in QEMU, console on this terminal
#   make test             every test: host unit tests, fuzzers (bounded), boot tests of
#                         both arches on both boot paths; one "N passed, M failed" line
#   make bench            BENCH lines: boot times of every arch and boot path, the
#                         SMP primitives' costs at 2, 4, 8 cores (medians of 3 runs),
#                         goroutines against Go and pthreads (tools/gobench.py), the
#                         collector against Go, Boehm and malloc (tools/gcbench.py)
#   make fuzz             the parser fuzzers for longer (FUZZ_SECONDS each)
#   make image            just build build/$(ARCH)/{kernel.elf,esp.img[,Image]}
#
# Both run and test first install what is missing (tools/deps.sh: Debian packages;
# tools/newlib.sh: newlib from Debian's newlib-source, cached in build/newlib;
# tools/gnuefi-aarch64.sh: the arm64 GNU-EFI files, unpacked into build/).

ARCH    ?= x86_64
BOOT    ?= uefi
CMDLINE ?=
SMP     ?= 2
BUILD   ?= build
O       := $(BUILD)/$(ARCH)
NEWLIB  := $(BUILD)/newlib/$(ARCH)
FUZZ_SECONDS ?= 20

ifeq ($(ARCH),x86_64)
CROSS   :=
ARCHFLAGS := -mno-red-zone -mcmodel=kernel
EFI_ARCH := x64
else ifeq ($(ARCH),aarch64)
CROSS   := aarch64-linux-gnu-
ARCHFLAGS := -mstrict-align -mno-outline-atomics
EFI_ARCH := aa64
else
$(error ARCH must be x86_64 or aarch64, not '$(ARCH)')
endif

CC      := $(CROSS)gcc
LD      := $(CROSS)ld
OBJCOPY := $(CROSS)objcopy
NM      := $(CROSS)nm

# Frame pointers everywhere: tracebacks and, later, the collector walk them.
FPFLAGS := -fno-omit-frame-pointer -mno-omit-leaf-frame-pointer
WARN    := -Wall -Wextra -Werror -Wno-unused-parameter
CFLAGS  := -std=gnu11 -O2 -g -ffreestanding -fno-pic -fno-pie -fno-stack-protector \
	   -fno-strict-aliasing -fno-common $(FPFLAGS) $(ARCHFLAGS) $(WARN) \
	   -nostdinc -isystem $(shell $(CC) -print-file-name=include) -isystem $(NEWLIB)/include \
	   -Iarch/include -Iarch/$(ARCH)/include -Ikernel/include -Iboot/include -Irt/include \
	   -MMD -MP
ASFLAGS := -D__ASSEMBLER__ -g -Iarch/include -Iarch/$(ARCH)/include
LDFLAGS := -nostdlib -static -z max-page-size=4096 -z noexecstack --no-dynamic-linker \
	   --build-id=none
LIBS    := $(NEWLIB)/lib/libc.a $(NEWLIB)/lib/libm.a $(shell $(CC) -print-libgcc-file-name)

# The kernel image: boot entries, arch, kernel, in-image tests.
KSRC := $(wildcard boot/*.c boot/$(ARCH)/*.c boot/$(ARCH)/*.S) \
	$(wildcard arch/$(ARCH)/*.c arch/$(ARCH)/*.S) \
	$(wildcard kernel/*.c) \
	$(wildcard rt/*.c rt/gc/*.c) \
	$(wildcard tests/boot/*.c) \
	$(wildcard tests/boehm/*.c)
KOBJ := $(patsubst %,$(O)/obj/%.o,$(KSRC))

.PHONY: all image run test bench fuzz deps newlib host-tests boot-tests tool-tests clean FORCE
all: image

image: $(O)/kernel.elf $(O)/esp.img $(if $(filter aarch64,$(ARCH)),$(O)/Image)

# ---- set-up -----------------------------------------------------------------
deps:
	@tools/deps.sh
	@tools/newlib.sh x86_64 $(BUILD)/newlib/x86_64
	@tools/newlib.sh aarch64 $(BUILD)/newlib/aarch64
	@tools/gnuefi-aarch64.sh $(BUILD)/gnuefi-aarch64

$(NEWLIB)/.stamp: tools/newlib.sh
	@tools/newlib.sh $(ARCH) $(NEWLIB)

# ---- kernel -------------------------------------------------------------------
# The Boehm-style programs of tests/boehm/ (and, hosted, the Boehm benchmark programs
# of tests/bench/boehm/) are built unchanged but for the name of their main
# (tests/boot/boehm_test.c runs them).
BOEHM_MAIN = $(if $(filter tests/boehm/% tests/bench/boehm/%,$<),-Dmain=boehm_$(basename $(notdir $<))_main)

$(O)/obj/%.c.o: %.c $(NEWLIB)/.stamp Makefile
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(CFLAGS) $(BOEHM_MAIN) -c $< -o $@

$(O)/obj/%.S.o: %.S Makefile
	@mkdir -p $(dir $@)
	@echo "  AS      $<"
	@$(CC) $(ASFLAGS) -c $< -o $@

$(O)/kernel.ld: linker.ld
	@mkdir -p $(O)
	$(CC) -E -P -x c -DARCH_$(ARCH) $< -o $@

# Two links: the first with an empty symbol table, whose symbols make the table of
# the second. .ksyms sits after .text, so text addresses are the same in both; the
# check below proves it on every build.
$(O)/ksyms0.S:
	@mkdir -p $(O)
	: > $(O)/empty.nm && tools/ksyms.py $(O)/empty.nm $@

# The set of objects itself: relink when a source file appears or disappears.
$(O)/objs.list: FORCE
	@mkdir -p $(O)
	@echo $(KOBJ) | cmp -s - $@ || echo $(KOBJ) > $@
FORCE:

$(O)/kernel0.elf: $(KOBJ) $(O)/ksyms0.S $(O)/kernel.ld $(O)/objs.list
	$(CC) $(ASFLAGS) -c $(O)/ksyms0.S -o $(O)/ksyms0.o
	$(LD) $(LDFLAGS) -T $(O)/kernel.ld -o $@ $(KOBJ) $(O)/ksyms0.o --start-group $(LIBS) --end-group

$(O)/kernel.elf: $(O)/kernel0.elf
	$(NM) -n --defined-only $< > $(O)/kernel0.nm
	tools/ksyms.py $(O)/kernel0.nm $(O)/ksyms.S
	$(CC) $(ASFLAGS) -c $(O)/ksyms.S -o $(O)/ksyms.o
	$(LD) $(LDFLAGS) -T $(O)/kernel.ld -o $@ $(KOBJ) $(O)/ksyms.o --start-group $(LIBS) --end-group
	$(NM) -n --defined-only $@ | grep -i ' [tw] ' > $(O)/kernel.nm.text
	grep -i ' [tw] ' $(O)/kernel0.nm | cmp -s - $(O)/kernel.nm.text || \
		{ echo "ksyms: text moved between the two links"; rm -f $@; exit 1; }

$(O)/Image: $(O)/kernel.elf
	$(OBJCOPY) -O binary $< $@

# ---- UEFI loader and the EFI system partition -----------------------------------
include boot/efi/efi.mk

$(O)/esp.img: $(O)/BOOT$(shell echo $(EFI_ARCH) | tr a-z A-Z).EFI $(O)/kernel.elf
	rm -f $@.tmp
	mkfs.fat -C -F 16 -n GORT $@.tmp 16384 >/dev/null
	mmd -i $@.tmp ::/EFI ::/EFI/BOOT
	mcopy -i $@.tmp $< ::/EFI/BOOT/
	mcopy -i $@.tmp $(O)/kernel.elf ::/kernel.elf
	printf '%s\n' "$(CMDLINE)" > $(O)/cmdline.txt
	mcopy -i $@.tmp $(O)/cmdline.txt ::/cmdline.txt
	mv $@.tmp $@

# ---- running --------------------------------------------------------------------
run: deps
	$(MAKE) --no-print-directory ARCH=$(ARCH) image
	tools/run.py $(ARCH) --build $(BUILD) --path $(BOOT) --smp $(SMP) --cmdline "$(CMDLINE)"

# ---- tests ----------------------------------------------------------------------
RESULTS := $(BUILD)/results

test: deps
	@rm -rf $(RESULTS) && mkdir -p $(RESULTS)
	$(MAKE) --no-print-directory ARCH=x86_64 image
	$(MAKE) --no-print-directory ARCH=aarch64 image
	-$(MAKE) --no-print-directory tool-tests
	-$(MAKE) --no-print-directory host-tests
	-$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=$(FUZZ_SECONDS)
	$(MAKE) --no-print-directory host-sys
	-tools/boehmprogs.py --build $(BUILD) --results $(RESULTS)/boehm.txt
	-tools/boottest.py --build $(BUILD) --results $(RESULTS)/boot.txt
	@tools/summary.py $(RESULTS)/tools.txt $(RESULTS)/host.txt $(RESULTS)/fuzz.txt $(RESULTS)/boehm.txt \
		$(RESULTS)/boot.txt

# The goroutine benchmarks against Go and pthreads (tools/gobench.py): runs of each side.
GOBENCH_RUNS ?= 5

bench: deps
	@tools/deps.sh bench
	$(MAKE) --no-print-directory ARCH=x86_64 image
	$(MAKE) --no-print-directory ARCH=aarch64 image
	$(MAKE) --no-print-directory host-sys
	tools/boottest.py --build $(BUILD) --matrix tests/boot/bench.txt --bench-runs 3 --jobs 1
	tools/gobench.py --build $(BUILD) --runs $(GOBENCH_RUNS)
	tools/gcbench.py --build $(BUILD) --runs $(GOBENCH_RUNS)

tool-tests:
	@mkdir -p $(RESULTS)
	python3 tools/test_tools.py --results $(RESULTS)/tools.txt

include tests/host/host.mk
include arch/host/host.mk

clean:
	rm -rf $(BUILD)/x86_64 $(BUILD)/aarch64 $(BUILD)/host $(BUILD)/host-sys $(BUILD)/results $(BUILD)/logs

-include $(KOBJ:.o=.d)
