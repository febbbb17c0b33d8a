# The gort image: one Makefile, two knobs.
#
#   make run [ARCH=x86_64|aarch64] [BOOT=uefi|direct] [SMP=n] [CMDLINE="tests=all"]
#            [APP=dir [ARGS="..."] [APP_CFLAGS=...]]
#                         build the image and boot it in QEMU, console on this terminal:
#                         your program (APP: a folder of C files with main), or the demo
#   make run-host [APP=dir] [SAN=asan|tsan] [SMP=n] [ARGS=...]
#                         the same program on the hosted platform (arch/host/host.mk)
#   make test             every test: host unit tests, fuzzers (bounded), boot tests of
#                         both arches on both boot paths; one "N passed, M failed" line
#   make bench            BENCH lines: boot times of every arch and boot path, the
#                         SMP primitives' costs at 2, 4, 8 cores (medians of 3 runs),
#                         goroutines against Go and pthreads (tools/gobench.py), the
#                         collector against Go, Boehm and malloc (tools/gcbench.py)
#   make soak [ARCH=...] [SOAK_MIN=10] [SOAK_SMP=4], make soak-host
#                         everything at once on every core for SOAK_MIN minutes, with
#                         exact accounting (tests/apps/soak)
#   make debug [APP=dir]  boot under QEMU stopped for gdb, gdb-multiarch attached with the
#                         kernel's symbols and `info goroutines`, `goroutine N bt`
#   make fuzz             every parser fuzzer to FUZZ_RUNS executions (10 million), what
#                         gained coverage merged into its corpus in tests/fuzz/corpus
#   make image [APP=dir]  just build build/$(ARCH)/{kernel.elf,esp.img[,Image]}, or with
#                         APP build/$(ARCH)/app/<name>/ (name: the folder's)
#   make apps             every example of tests/apps/ for both arches and the host
#   make disk [APP=dir] [ARGS=...] [CMDLINE=...]
#                         build/$(ARCH)/disk.img (or app/<name>/disk.img): a GPT disk with
#                         one EFI system partition (FAT32) holding the loader, the kernel
#                         (and on aarch64 its Image) and cmdline.txt, for dd to a USB
#                         stick or an SD card
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
FUZZ_SECONDS ?= 10
# The builds that run, test and bench start compile on every core, unless make was
# given -j itself (its jobserver then reaches them through MAKEFLAGS). Serially, the
# builds of a fresh make test took 3 minutes of its 20.
NPROC   := $(shell nproc 2>/dev/null || echo 1)
SUBJOBS  = $(if $(findstring jobserver,$(MAKEFLAGS)),,-j$(NPROC))

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

# Every image: boot entries, arch, kernel, the runtime.
CORE_SRC := $(wildcard boot/*.c boot/$(ARCH)/*.c boot/$(ARCH)/*.S) \
	$(wildcard arch/$(ARCH)/*.c arch/$(ARCH)/*.S) \
	$(wildcard kernel/*.c) \
	$(wildcard rt/*.c rt/gc/*.c)
CORE_OBJ := $(patsubst %,$(O)/obj/%.o,$(CORE_SRC))

# The default image (make run, make test) adds the in-image tests and the demo program.
DEMO := tests/apps/sieve
KSRC := $(CORE_SRC) $(wildcard tests/boot/*.c) $(wildcard tests/boehm/*.c) $(wildcard $(DEMO)/*.c)
KOBJ := $(patsubst %,$(O)/obj/%.o,$(KSRC)) $(O)/program.o

# A program's image: CORE_OBJ and the folder's objects, compiled with -I of the folder
# and APP_CFLAGS, in $(O)/app/<name>/. Its sources are the folder's *.c and *.S.
APP        ?=
APP_CFLAGS ?=
ARGS       ?=
ifneq ($(strip $(APP)),)
APP_DIR  := $(abspath $(APP))
APP_NAME := $(notdir $(APP_DIR))
APP_SRC  := $(wildcard $(APP_DIR)/*.c $(APP_DIR)/*.S)
ifeq ($(APP_SRC),)
$(error APP=$(APP): no .c or .S files in $(APP_DIR))
endif
ifneq ($(words $(APP_DIR)),1)
$(error APP=$(APP): the folder's path must not contain spaces)
endif
endif

.PHONY: all image run test bench fuzz fuzz-short soak soak-host deps newlib host-tests boot-tests tool-tests apps disk debug clean FORCE
all: image

IMAGE_DIR := $(if $(strip $(APP)),$(O)/app/$(APP_NAME),$(O))
image: $(IMAGE_DIR)/kernel.elf $(IMAGE_DIR)/esp.img $(if $(filter aarch64,$(ARCH)),$(IMAGE_DIR)/Image)

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

# The program's name (argv[0], kernel/start.h), one small object per image; rewritten
# only when the name changes.
$(O)/program.c: FORCE
	@mkdir -p $(dir $@)
	@echo 'const char image_program_name[] = "$(notdir $(DEMO))";' | cmp -s - $@ || \
		echo 'const char image_program_name[] = "$(notdir $(DEMO))";' > $@

$(O)/program.o: $(O)/program.c
	@$(CC) $(CFLAGS) -c $< -o $@

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

# The second link, with the symbol table of the first: $(1) the output directory,
# $(2) the objects.
define KSYMS_LINK
	$(NM) -n --defined-only $< > $(1)/kernel0.nm
	tools/ksyms.py $(1)/kernel0.nm $(1)/ksyms.S
	$(CC) $(ASFLAGS) -c $(1)/ksyms.S -o $(1)/ksyms.o
	$(LD) $(LDFLAGS) -T $(O)/kernel.ld -o $@ $(2) $(1)/ksyms.o --start-group $(LIBS) --end-group
	$(NM) -n --defined-only $@ | grep -i ' [tw] ' > $(1)/kernel.nm.text
	grep -i ' [tw] ' $(1)/kernel0.nm | cmp -s - $(1)/kernel.nm.text || \
		{ echo "ksyms: text moved between the two links"; rm -f $@; exit 1; }
endef

$(O)/kernel.elf: $(O)/kernel0.elf
	$(call KSYMS_LINK,$(O),$(KOBJ))

$(O)/Image: $(O)/kernel.elf
	$(OBJCOPY) -O binary $< $@

# ---- a program's image ------------------------------------------------------------
ifneq ($(strip $(APP)),)
APPO     := $(O)/app/$(APP_NAME)
APP_OBJ  := $(patsubst $(APP_DIR)/%,$(APPO)/obj/%.o,$(APP_SRC))
APP_KOBJ := $(CORE_OBJ) $(APP_OBJ) $(APPO)/program.o

# The flags are part of the objects: a change of APP_CFLAGS rebuilds them.
$(APPO)/cflags: FORCE
	@mkdir -p $(APPO)
	@echo '$(APP_CFLAGS)' | cmp -s - $@ || echo '$(APP_CFLAGS)' > $@

$(APPO)/obj/%.c.o: $(APP_DIR)/%.c $(NEWLIB)/.stamp $(APPO)/cflags Makefile
	@mkdir -p $(dir $@)
	@echo "  CC      $< ($(APP_NAME))"
	@$(CC) $(CFLAGS) -I$(APP_DIR) $(APP_CFLAGS) -c $< -o $@

$(APPO)/obj/%.S.o: $(APP_DIR)/%.S $(APPO)/cflags Makefile
	@mkdir -p $(dir $@)
	@echo "  AS      $< ($(APP_NAME))"
	@$(CC) $(ASFLAGS) -I$(APP_DIR) $(APP_CFLAGS) -c $< -o $@

$(APPO)/program.c: FORCE
	@mkdir -p $(APPO)
	@echo 'const char image_program_name[] = "$(APP_NAME)";' | cmp -s - $@ || \
		echo 'const char image_program_name[] = "$(APP_NAME)";' > $@

$(APPO)/program.o: $(APPO)/program.c
	@$(CC) $(CFLAGS) -c $< -o $@

$(APPO)/objs.list: FORCE
	@mkdir -p $(APPO)
	@echo $(APP_KOBJ) | cmp -s - $@ || echo $(APP_KOBJ) > $@

$(APPO)/kernel0.elf: $(APP_KOBJ) $(O)/ksyms0.S $(O)/kernel.ld $(APPO)/objs.list
	$(CC) $(ASFLAGS) -c $(O)/ksyms0.S -o $(APPO)/ksyms0.o
	$(LD) $(LDFLAGS) -T $(O)/kernel.ld -o $@ $(APP_KOBJ) $(APPO)/ksyms0.o --start-group $(LIBS) --end-group

$(APPO)/kernel.elf: $(APPO)/kernel0.elf
	$(call KSYMS_LINK,$(APPO),$(APP_KOBJ))

$(APPO)/Image: $(APPO)/kernel.elf
	$(OBJCOPY) -O binary $< $@

-include $(APP_OBJ:.o=.d)
endif

# ---- UEFI loader and the EFI system partition -----------------------------------
include boot/efi/efi.mk

# The EFI system partition of the image in $(1): the loader, the kernel, cmdline.txt.
define ESP_IMG
	rm -f $@.tmp
	mkfs.fat -C -F 16 -n GORT $@.tmp 16384 >/dev/null
	mmd -i $@.tmp ::/EFI ::/EFI/BOOT
	mcopy -i $@.tmp $(EFI_OUT) ::/EFI/BOOT/
	mcopy -i $@.tmp $(1)/kernel.elf ::/kernel.elf
	printf '%s\n' "$(CMDLINE)" > $(1)/cmdline.txt
	mcopy -i $@.tmp $(1)/cmdline.txt ::/cmdline.txt
	mv $@.tmp $@
endef

$(O)/esp.img: $(EFI_OUT) $(O)/kernel.elf
	$(call ESP_IMG,$(O))

ifneq ($(strip $(APP)),)
$(APPO)/esp.img: $(EFI_OUT) $(APPO)/kernel.elf
	$(call ESP_IMG,$(APPO))
endif

# ---- a disk to flash ------------------------------------------------------------------
# The partition: FAT32 of DISK_MIB MiB (what firmware expects of an EFI system partition;
# the ESP image above is FAT16, enough for QEMU); its command line is CMDLINE with the
# program's ARGS after "--". tools/mkdisk.py wraps it in a GPT disk.
DISK_MIB     ?= 64
DISK_CMDLINE  = $(strip $(CMDLINE) $(if $(strip $(ARGS)),-- $(ARGS)))

$(IMAGE_DIR)/disk.img: $(EFI_OUT) $(IMAGE_DIR)/kernel.elf $(if $(filter aarch64,$(ARCH)),$(IMAGE_DIR)/Image) \
		tools/mkdisk.py FORCE
	rm -f $@.part
	mkfs.fat -C -F 32 -n GORT $@.part $$(( $(DISK_MIB) * 1024 )) >/dev/null
	mmd -i $@.part ::/EFI ::/EFI/BOOT
	mcopy -i $@.part $(EFI_OUT) ::/EFI/BOOT/
	mcopy -i $@.part $(IMAGE_DIR)/kernel.elf ::/kernel.elf
	$(if $(filter aarch64,$(ARCH)),mcopy -i $@.part $(IMAGE_DIR)/Image ::/Image)
	printf '%s\n' '$(DISK_CMDLINE)' > $(IMAGE_DIR)/disk-cmdline.txt
	mcopy -i $@.part $(IMAGE_DIR)/disk-cmdline.txt ::/cmdline.txt
	tools/mkdisk.py $@.part $@
	rm -f $@.part

disk: deps
	$(MAKE) --no-print-directory $(SUBJOBS) ARCH=$(ARCH) image
	$(MAKE) --no-print-directory $(SUBJOBS) ARCH=$(ARCH) $(IMAGE_DIR)/disk.img
	@echo "disk: $(IMAGE_DIR)/disk.img (write it with: dd if=$(IMAGE_DIR)/disk.img of=/dev/sdX bs=1M conv=fsync)"

# ---- running --------------------------------------------------------------------
# Without APP, the demo shows the boot report first (the kernel's option verbose).
# ARGS go after "--": the program's, never parsed by the kernel.
RUN_CMDLINE = $(strip $(if $(strip $(APP)),,verbose) $(CMDLINE) $(if $(strip $(ARGS)),-- $(ARGS)))

run: deps
	$(MAKE) --no-print-directory $(SUBJOBS) ARCH=$(ARCH) image
	tools/run.py $(ARCH) --build $(BUILD) --path $(BOOT) --smp $(SMP) --cmdline '$(RUN_CMDLINE)' \
		$(if $(strip $(APP)),--app $(APP_NAME))

# QEMU waiting for gdb, and gdb-multiarch attached with the symbols and the goroutine
# commands (tools/debug.py, tools/gdb_gort.py); direct boot unless BOOT says otherwise.
debug: deps
	$(MAKE) --no-print-directory $(SUBJOBS) ARCH=$(ARCH) image
	tools/debug.py $(ARCH) --build $(BUILD) --path $(if $(filter command line,$(origin BOOT)),$(BOOT),direct) \
		--smp $(SMP) --cmdline '$(RUN_CMDLINE)' $(if $(strip $(APP)),--app $(APP_NAME))

# The soak (tests/apps/soak): every core, SOAK_MIN minutes, a short time slice and
# checkmark on; its last line has the totals, its status is 0 only when nothing was
# lost. make test runs a 20-second version per arch and hosted (tests/boot/matrix.txt).
SOAK_MIN ?= 10
SOAK_SMP ?= 4
SOAK_CMDLINE = slice_ms=1 gccheckmark=1 -- $$(( $(SOAK_MIN) * 60 ))

soak: deps
	$(MAKE) --no-print-directory $(SUBJOBS) ARCH=$(ARCH) APP=tests/apps/soak image
	tools/run.py $(ARCH) --build $(BUILD) --path direct --smp $(SOAK_SMP) --app soak \
		--cmdline "$(SOAK_CMDLINE)" </dev/null

soak-host:
	$(MAKE) --no-print-directory $(SUBJOBS) APP=tests/apps/soak host-app
	$(BUILD)/host-sys/app/soak/soak -smp $(SOAK_SMP) -- $(SOAK_CMDLINE) </dev/null

# Every example program of tests/apps/ (make test boots them): both arches, the host.
APPS := $(patsubst %/,%,$(sort $(dir $(wildcard tests/apps/*/*.c))))

# The disk of one of them for each arch, for the boot tests of make disk's output.
# Every one is built with APPS_CFLAGS as its APP_CFLAGS (args prints what it gave).
APPS_CFLAGS := -DAPPS_BUILD_FLAG=1

apps:
	@for a in $(APPS); do \
		$(MAKE) --no-print-directory $(SUBJOBS) ARCH=x86_64 APP=$$a APP_CFLAGS="$(APPS_CFLAGS)" image || exit 1; \
		$(MAKE) --no-print-directory $(SUBJOBS) ARCH=aarch64 APP=$$a APP_CFLAGS="$(APPS_CFLAGS)" image || exit 1; \
		$(MAKE) --no-print-directory $(SUBJOBS) APP=$$a APP_CFLAGS="$(APPS_CFLAGS)" host-app || exit 1; \
	done
	@$(MAKE) --no-print-directory $(SUBJOBS) ARCH=x86_64 APP=tests/apps/args APP_CFLAGS="$(APPS_CFLAGS)" \
		$(BUILD)/x86_64/app/args/disk.img
	@$(MAKE) --no-print-directory $(SUBJOBS) ARCH=aarch64 APP=tests/apps/args APP_CFLAGS="$(APPS_CFLAGS)" \
		$(BUILD)/aarch64/app/args/disk.img

# ---- tests ----------------------------------------------------------------------
RESULTS := $(BUILD)/results

test: deps
	@rm -rf $(RESULTS) && mkdir -p $(RESULTS)
	$(MAKE) --no-print-directory $(SUBJOBS) ARCH=x86_64 image
	$(MAKE) --no-print-directory $(SUBJOBS) ARCH=aarch64 image
	-$(MAKE) --no-print-directory $(SUBJOBS) tool-tests
	-$(MAKE) --no-print-directory $(SUBJOBS) host-tests
	-$(MAKE) --no-print-directory $(SUBJOBS) fuzz-short FUZZ_SECONDS=$(FUZZ_SECONDS)
	$(MAKE) --no-print-directory $(SUBJOBS) host-sys
	$(MAKE) --no-print-directory $(SUBJOBS) apps
	-tools/boehmprogs.py --build $(BUILD) --results $(RESULTS)/boehm.txt
	-tools/boottest.py --build $(BUILD) --results $(RESULTS)/boot.txt
	-tools/gdbtest.py --build $(BUILD) --results $(RESULTS)/gdb.txt
	@tools/summary.py $(RESULTS)/tools.txt $(RESULTS)/host.txt $(RESULTS)/fuzz.txt $(RESULTS)/boehm.txt \
		$(RESULTS)/boot.txt $(RESULTS)/gdb.txt

# The goroutine benchmarks against Go and pthreads (tools/gobench.py): runs of each side.
GOBENCH_RUNS ?= 5

bench: deps
	@tools/deps.sh bench
	$(MAKE) --no-print-directory $(SUBJOBS) ARCH=x86_64 image
	$(MAKE) --no-print-directory $(SUBJOBS) ARCH=aarch64 image
	$(MAKE) --no-print-directory $(SUBJOBS) host-sys
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
