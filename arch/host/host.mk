# arch/host/host.mk: the hosted platform, the kernel as a Linux program (included by
# the Makefile; every name here starts with HSYS_ or host-sys).
#
#   make host-sys        build the three variants below
#   make run-host [SMP=N] [CMDLINE="tests=all"] [APP=dir [ARGS="..."]] [SAN=asan|tsan]
#                        run a build on this terminal: the demo's, or APP's
#   make host-app APP=dir   build APP's three variants
#
#   build/host-sys/gort        -O2
#   build/host-sys/gort-asan   -O1, AddressSanitizer + UndefinedBehaviorSanitizer
#   build/host-sys/gort-tsan   -O1, ThreadSanitizer
#   build/host-sys/app/<name>/<name>[-asan|-tsan]   APP's program in the same three
#
# A program's main is renamed gort_app_main in its objects (objcopy): the process's
# main is arch/host/main.c's, and rt/program.c calls the program's by that name.
#
# Sources: kernel/ (not kernel/libc.c: the newlib hooks would replace glibc's write,
# sbrk, ...), arch/host/, and the in-image suites of tests/boot/ (not the temporary
# x86-64-only tests/boot/x86smp_test.c, which pokes the LAPIC). Not boot/: its entry
# code is bare-metal, and arch/host/main.c is the hosted platform's boot path.
# System gcc and glibc, frame pointers on (tracebacks), -Wno-format-truncation (with a
# hosted libc GCC checks snprintf, and the kernel and tests truncate on purpose; the
# freestanding image build never sees the warning), not PIE (ksyms addresses are
# link-time addresses; ThreadSanitizer's memory map wants the binary low), linked
# with the default linker script plus arch/host/host.ld, twice, like the image: the
# second link carries the symbol table made from the first (tools/ksyms.py), and the
# text symbols must not move (glibc's weak data_start is in .data, which does move).
# Results of running them come from the boot-test matrix (arch "host", tools/qemu.py).

HSYS_OUT := $(BUILD)/host-sys
HSYS_CC  := gcc
HSYS_CORE_SRC := $(filter-out kernel/libc.c kernel/newlib_lock.c,$(wildcard kernel/*.c)) \
	    $(wildcard arch/host/*.c arch/host/*.S) $(wildcard rt/*.c rt/gc/*.c)
HSYS_SRC := $(HSYS_CORE_SRC) \
	    $(filter-out tests/boot/x86smp_test.c,$(wildcard tests/boot/*.c)) \
	    $(wildcard tests/boehm/*.c) $(wildcard tests/bench/boehm/*.c) $(wildcard $(DEMO)/*.c)
# the program's main, renamed in the object just built ($(1)), when it has one
HSYS_RENAME_MAIN = objcopy --redefine-sym main=gort_app_main $(1)
HSYS_CFLAGS := -std=gnu11 -g -DGORT_HOSTED -fno-pie -fno-strict-aliasing -fno-common \
	       -fno-omit-frame-pointer -mno-omit-leaf-frame-pointer -fcf-protection=none \
	       -pthread -Wall -Wextra -Werror -Wno-unused-parameter -Wno-format-truncation \
	       -Iarch/include -Iarch/host/include -Ikernel/include -Iboot/include -Irt/include \
	       -MMD -MP
HSYS_LDFLAGS := -no-pie -pthread -Wl,-T,arch/host/host.ld -Wl,-z,noexecstack

HSYS_VARIANTS := gort gort-asan gort-tsan
HSYS_FLAGS_gort      := -O2
HSYS_FLAGS_gort-asan := -O1 -fsanitize=address,undefined -fno-sanitize-recover=all
HSYS_FLAGS_gort-tsan := -O1 -fsanitize=thread
# The plain variant is linked statically, as Go's binaries are: 0.6 to 0.9 MB off
# GCBench's peak RSS (a shared glibc and its loader are resident whole pages of code
# the program never runs). The preemption of a running goroutine must not land inside
# libc (libc's locks, malloc's among them, belong to the OS thread, and its string
# functions use vector registers the trampoline does not save: before this fence a
# static gort saw gc_stress.alloc_every_cpu_exact's memcmp compare a word that a
# preemption inside glibc's memcmp_evex had clobbered), so host.ld gathers libc's
# code into a section of its own, which arch_frame_inject_call refuses as it refuses
# a shared libc's. The sanitizers' runtimes need the dynamic link.
HSYS_LDFLAGS_gort := -static

.PHONY: host-sys run-host host-app
host-sys: $(patsubst %,$(HSYS_OUT)/%,$(HSYS_VARIANTS))

SAN ?=
ifneq ($(filter-out asan tsan,$(SAN)),)
$(error SAN=$(SAN): want asan, tsan or nothing)
endif
HSYS_RUN_BIN = $(if $(strip $(APP)),$(HSYS_OUT)/app/$(APP_NAME)/$(APP_NAME),$(HSYS_OUT)/gort)$(if $(SAN),-$(SAN))

run-host: $(HSYS_RUN_BIN)
	$(HSYS_RUN_BIN) $(if $(SMP),-smp $(SMP)) -- $(RUN_CMDLINE)

$(HSYS_OUT)/ksyms0.S:
	@mkdir -p $(HSYS_OUT)
	: > $(HSYS_OUT)/empty.nm && tools/ksyms.py $(HSYS_OUT)/empty.nm $@

# Two links as for the image: $(1) the binary, $(2) its objects, $(3) the variant.
define HSYS_LINK
$(1)0: $(2) $(HSYS_OUT)/ksyms0.S arch/host/host.ld
	$(HSYS_CC) -c $(HSYS_OUT)/ksyms0.S -o $(1).ksyms0.o
	$(HSYS_CC) $(HSYS_FLAGS_$(3)) $(HSYS_LDFLAGS) $(HSYS_LDFLAGS_$(3)) -o $$@ $(2) $(1).ksyms0.o

$(1): $(1)0
	nm -n --defined-only $$< > $(1)0.nm
	tools/ksyms.py $(1)0.nm $(1).ksyms.S
	$(HSYS_CC) -c $(1).ksyms.S -o $(1).ksyms.o
	$(HSYS_CC) $(HSYS_FLAGS_$(3)) $(HSYS_LDFLAGS) $(HSYS_LDFLAGS_$(3)) -o $$@ $(2) $(1).ksyms.o
	nm -n --defined-only $$@ | grep -i ' [tw] ' | grep -v ' data_start$$$$' > $(1).nm.text
	grep -i ' [tw] ' $(1)0.nm | grep -v ' data_start$$$$' | cmp -s - $(1).nm.text || \
		{ echo "ksyms: text moved between the two links of $$@"; rm -f $$@; exit 1; }
endef

# $(1): variant. Objects in $(HSYS_OUT)/$(1).obj/, then two links as for the image.
define HSYS_VARIANT
HSYS_OBJ_$(1) := $$(patsubst %,$(HSYS_OUT)/$(1).obj/%.o,$(HSYS_SRC)) $(HSYS_OUT)/$(1).program.o
HSYS_CORE_OBJ_$(1) := $$(patsubst %,$(HSYS_OUT)/$(1).obj/%.o,$(HSYS_CORE_SRC))

$(HSYS_OUT)/$(1).obj/%.c.o: %.c
	@mkdir -p $$(dir $$@)
	@echo "  CC      $$< ($(1))"
	@$(HSYS_CC) $(HSYS_CFLAGS) $(HSYS_FLAGS_$(1)) $$(BOEHM_MAIN) -c $$< -o $$@
	@$$(if $$(filter tests/apps/%,$$<),$$(call HSYS_RENAME_MAIN,$$@))

$(HSYS_OUT)/$(1).program.o: $(O)/program.c
	@$(HSYS_CC) $(HSYS_CFLAGS) $(HSYS_FLAGS_$(1)) -c $$< -o $$@

$(HSYS_OUT)/$(1).obj/%.S.o: %.S
	@mkdir -p $$(dir $$@)
	@echo "  AS      $$< ($(1))"
	@$(HSYS_CC) $(HSYS_CFLAGS) $(HSYS_FLAGS_$(1)) -c $$< -o $$@

$$(eval $$(call HSYS_LINK,$(HSYS_OUT)/$(1),$$(HSYS_OBJ_$(1)),$(1)))

-include $$(HSYS_OBJ_$(1):.o=.d)
endef

$(foreach v,$(HSYS_VARIANTS),$(eval $(call HSYS_VARIANT,$(v))))

# A program's three variants (APP): the runtime's objects of each variant and the
# program's own, compiled with -I of its folder and APP_CFLAGS.
ifneq ($(strip $(APP)),)
HSYS_APPO := $(HSYS_OUT)/app/$(APP_NAME)
host-app: $(patsubst gort%,$(HSYS_APPO)/$(APP_NAME)%,$(HSYS_VARIANTS))

# $(1): variant (gort, gort-asan, gort-tsan)
define HSYS_APP_VARIANT
HSYS_APP_OBJ_$(1) := $$(patsubst $(APP_DIR)/%,$(HSYS_APPO)/$(1).obj/%.o,$(APP_SRC))

$(HSYS_APPO)/$(1).obj/%.c.o: $(APP_DIR)/%.c $(APPO)/cflags
	@mkdir -p $$(dir $$@)
	@echo "  CC      $$< ($(APP_NAME), $(1))"
	@$(HSYS_CC) $(HSYS_CFLAGS) $(HSYS_FLAGS_$(1)) -I$(APP_DIR) $(APP_CFLAGS) -c $$< -o $$@
	@$$(call HSYS_RENAME_MAIN,$$@)

$(HSYS_APPO)/$(1).obj/%.S.o: $(APP_DIR)/%.S $(APPO)/cflags
	@mkdir -p $$(dir $$@)
	@echo "  AS      $$< ($(APP_NAME), $(1))"
	@$(HSYS_CC) $(HSYS_CFLAGS) $(HSYS_FLAGS_$(1)) -I$(APP_DIR) $(APP_CFLAGS) -c $$< -o $$@

$(HSYS_APPO)/$(1).program.o: $(APPO)/program.c
	@mkdir -p $$(dir $$@)
	@$(HSYS_CC) $(HSYS_CFLAGS) $(HSYS_FLAGS_$(1)) -c $$< -o $$@

$$(eval $$(call HSYS_LINK,$(HSYS_APPO)/$(patsubst gort%,$(APP_NAME)%,$(1)),$$(HSYS_CORE_OBJ_$(1)) $$(HSYS_APP_OBJ_$(1)) $(HSYS_APPO)/$(1).program.o,$(1)))

-include $$(HSYS_APP_OBJ_$(1):.o=.d)
endef

$(foreach v,$(HSYS_VARIANTS),$(eval $(call HSYS_APP_VARIANT,$(v))))
endif
