# boot/efi/efi.mk: the UEFI loader, built against GNU-EFI (included by the Makefile).
# x86-64 uses the system gnu-efi package; aarch64 the arm64 package's files unpacked
# into build/gnuefi-aarch64 by tools/gnuefi-aarch64.sh (they clash with the amd64
# package system-wide).

EFI_LOADER_SRC := boot/efi/loader.c

ifeq ($(ARCH),x86_64)
EFI_ROOT := /usr
EFI_LIB  := /usr/lib
EFI_CFLAGS := -mno-red-zone -maccumulate-outgoing-args -DGNU_EFI_USE_MS_ABI
EFI_LDS  := $(EFI_LIB)/elf_x86_64_efi.lds
EFI_CRT0 := $(EFI_LIB)/crt0-efi-x86_64.o
EFI_LDEXTRA :=
EFI_OBJCOPY := --target efi-app-x86_64 --subsystem=10
EFI_OUT  := $(O)/BOOTX64.EFI
else
EFI_ROOT := $(BUILD)/gnuefi-aarch64/usr
EFI_LIB  := $(EFI_ROOT)/lib
EFI_CFLAGS := -mstrict-align -mgeneral-regs-only
EFI_LDS  := $(EFI_LIB)/elf_aarch64_efi.lds
EFI_CRT0 := $(EFI_LIB)/crt0-efi-aarch64.o
# gnu-efi's arm64 crt0 hand-builds the PE header: the subsystem must be given here.
EFI_LDEXTRA := --defsym=EFI_SUBSYSTEM=0xa
EFI_OBJCOPY := -O binary
EFI_OUT  := $(O)/BOOTAA64.EFI
endif

$(EFI_LDS):
	@tools/gnuefi-aarch64.sh $(BUILD)/gnuefi-aarch64

$(O)/efi/loader.o: $(EFI_LOADER_SRC) boot/include/boot/bootinfo.h $(EFI_LDS)
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O2 -g -fpic -ffreestanding -fno-stack-protector -fno-stack-check \
		-fshort-wchar $(EFI_CFLAGS) -Wall -Wextra -Werror -Wno-unused-parameter \
		-Wno-pointer-sign -I$(EFI_ROOT)/include/efi -I$(EFI_ROOT)/include/efi/$(ARCH) \
		-Iboot/include -c $< -o $@

$(O)/efi/loader.so: $(O)/efi/loader.o
	$(LD) -shared -Bsymbolic --no-undefined -nostdlib -znocombreloc -T $(EFI_LDS) \
		$(EFI_CRT0) $< -o $@ -L$(EFI_LIB) -lefi -lgnuefi $(EFI_LDEXTRA) \
		$(shell $(CC) -print-libgcc-file-name)

$(EFI_OUT): $(O)/efi/loader.so
	$(OBJCOPY) -j .text -j .sdata -j .data -j .dynamic -j .dynsym -j .rel -j .rela \
		-j '.rel.*' -j '.rela.*' -j .reloc $(EFI_OBJCOPY) $< $@
