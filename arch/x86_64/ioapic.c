/*
 * arch/x86_64/ioapic.c: the chips that route device interrupts, all masked for now.
 *
 * IOAPIC: two registers in its MMIO page, IOREGSEL (+0x00) selects, IOWIN (+0x10)
 * reads or writes. Register 1 (version) bits 23:16 = number of entries - 1; entry i is
 * registers 0x10 + 2i (low: vector, delivery mode, polarity, trigger, mask) and
 * 0x11 + 2i (high: destination APIC id in bits 31:24). Each entry is written masked,
 * with its vector preset to VEC_DEVICE + GSI (x86.h) where the GSI has one, physical
 * destination 0. arch_irq_line_enable then routes one to this CPU and unmasks it, with
 * the polarity and trigger the kernel read from the MADT's source overrides (the
 * console's COM1, ISA IRQ 4). The select/window pair is not atomic: only the boot CPU
 * touches it, at boot, with interrupts off around each pair.
 *
 * 8259 PIC pair: reprogrammed so its vectors are VEC_PIC..VEC_PIC+15 instead of the
 * BIOS default 0x08..0x0f (CPU exception vectors: a stray IRQ 7 would look like a
 * device-not-available fault), then every line masked. Its ExtINT path (LINT0) is
 * masked in the LAPIC too; the writes are harmless where no 8259 exists.
 */
#include <stdio.h>
#include <arch/irq.h>
#include <arch/ops.h>
#include "x86.h"

#define IOREGSEL	0x00
#define IOWIN		0x10
#define IOAPIC_VER	0x01
#define IOAPIC_REDTBL	0x10

static uint32_t ioapic_read(uintptr_t base, uint32_t reg)
{
	*(volatile uint32_t *)(base + IOREGSEL) = reg;
	return *(volatile uint32_t *)(base + IOWIN);
}

static void ioapic_write(uintptr_t base, uint32_t reg, uint32_t v)
{
	*(volatile uint32_t *)(base + IOREGSEL) = reg;
	*(volatile uint32_t *)(base + IOWIN) = v;
}

#define RTE_ACTIVE_LOW	(1u << 13)
#define RTE_LEVEL	(1u << 15)

/* What arch_irq_line_enable needs to find a GSI's IOAPIC: set by ioapic_init. */
static struct {
	uintptr_t base;
	uint32_t gsi_base, entries;
} ioapics[8];
static unsigned nioapics;

/* Mask every entry of IOAPIC n (at base, first GSI gsi_base). */
int ioapic_init(uintptr_t base, uint32_t gsi_base, unsigned n, char *err, size_t errlen)
{
	uint32_t ver = ioapic_read(base, IOAPIC_VER);
	unsigned entries = ((ver >> 16) & 0xff) + 1;
	if (ver == 0xffffffffu || entries > 240) {
		snprintf(err, errlen, "interrupts: IOAPIC %u (GSI base %u): version register reads 0x%x",
			 n, gsi_base, ver);
		return -1;
	}
	for (unsigned i = 0; i < entries; i++) {
		uint64_t gsi = (uint64_t)gsi_base + i;
		uint32_t lo = LVT_MASKED;
		if (gsi < VEC_DEVICE_END - VEC_DEVICE)
			lo |= VEC_DEVICE + (uint32_t)gsi;
		ioapic_write(base, IOAPIC_REDTBL + 2 * i, lo);
		ioapic_write(base, IOAPIC_REDTBL + 2 * i + 1, 0);
	}
	if (nioapics < sizeof(ioapics) / sizeof(ioapics[0]))
		ioapics[nioapics++] = (typeof(ioapics[0])){ base, gsi_base, entries };
	return 0;
}

/* The GSI's entry: vector VEC_DEVICE + GSI, fixed delivery, physical destination this
 * CPU's APIC id, the line's polarity and trigger, unmasked (the high half first). */
int arch_irq_line_enable(const struct arch_irq_line *l, char *err, size_t errlen)
{
	if (l->num >= VEC_DEVICE_END - VEC_DEVICE) {
		snprintf(err, errlen, "IOAPIC: GSI %u has no interrupt vector (at most %u)",
			 (unsigned)l->num, (unsigned)(VEC_DEVICE_END - VEC_DEVICE - 1));
		return -1;
	}
	for (unsigned i = 0; i < nioapics; i++) {
		if (l->num < ioapics[i].gsi_base || l->num - ioapics[i].gsi_base >= ioapics[i].entries)
			continue;
		uint32_t pin = l->num - ioapics[i].gsi_base, apic_id = (uint32_t)arch_cpu_hwid();
		if (apic_id > 0xff) {
			snprintf(err, errlen, "IOAPIC: APIC id %u does not fit a physical destination",
				 (unsigned)apic_id);
			return -1;
		}
		uint32_t lo = VEC_DEVICE + l->num;
		if (l->active_low)
			lo |= RTE_ACTIVE_LOW;
		if (l->level)
			lo |= RTE_LEVEL;
		unsigned long irq = arch_irq_save();
		ioapic_write(ioapics[i].base, IOAPIC_REDTBL + 2 * pin, LVT_MASKED | lo);
		ioapic_write(ioapics[i].base, IOAPIC_REDTBL + 2 * pin + 1, apic_id << 24);
		ioapic_write(ioapics[i].base, IOAPIC_REDTBL + 2 * pin, lo);
		arch_irq_restore(irq);
		return 0;
	}
	snprintf(err, errlen, "IOAPIC: no IOAPIC serves GSI %u", (unsigned)l->num);
	return -1;
}

/* The ISA "delay": a write to the POST port, which nothing decodes. */
static void io_wait(void)
{
	outb(0x80, 0);
}

void pic_disable(void)
{
	static const struct {
		uint16_t cmd, data;
		uint8_t vec, icw3;
	} pic[2] = { { 0x20, 0x21, VEC_PIC, 0x04 }, { 0xa0, 0xa1, VEC_PIC + 8, 0x02 } };

	for (int i = 0; i < 2; i++) {
		outb(pic[i].cmd, 0x11);		/* ICW1: initialise, ICW4 follows */
		io_wait();
		outb(pic[i].data, pic[i].vec);	/* ICW2: vector base */
		io_wait();
		outb(pic[i].data, pic[i].icw3);	/* ICW3: cascade on IRQ 2 */
		io_wait();
		outb(pic[i].data, 0x01);	/* ICW4: 8086 mode */
		io_wait();
	}
	outb(0x21, 0xff);
	outb(0xa1, 0xff);
}
