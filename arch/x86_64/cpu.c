/*
 * arch/x86_64/cpu.c: the boot CPU's descriptor tables and identity.
 *
 * GDT: null, kernel code 0x08, kernel data 0x10, TSS 0x18 (16 bytes).
 * TSS: IST1 = a dedicated exception stack, so that every CPU exception (a page fault
 *      on a guard page, a double fault) runs on known-good memory, whatever %rsp was.
 * IDT: the 32 exception vectors, interrupt gates (interrupts off in the handler), IST1.
 * Per-CPU copies of all three come with SMP bring-up.
 */
#include <stdint.h>
#include <string.h>
#include <arch/ops.h>

struct __attribute__((packed)) tss64 {
	uint32_t reserved0;
	uint64_t rsp[3];
	uint64_t reserved1;
	uint64_t ist[7];
	uint64_t reserved2;
	uint16_t reserved3;
	uint16_t iomap_base;
};

struct __attribute__((packed)) idt_gate {
	uint16_t off_lo;
	uint16_t sel;
	uint8_t ist;
	uint8_t type;
	uint16_t off_mid;
	uint32_t off_hi;
	uint32_t zero;
};

struct __attribute__((packed)) desc_ptr {
	uint16_t limit;
	uint64_t base;
};

#define EXC_STACK_SIZE 16384

static uint64_t gdt[5] __attribute__((aligned(16)));
static struct tss64 tss __attribute__((aligned(16)));
static struct idt_gate idt[256] __attribute__((aligned(16)));
static uint8_t exc_stack[EXC_STACK_SIZE] __attribute__((aligned(16)));

extern const uint64_t x86_trap_stubs[32];

static void gdt_load(void)
{
	uint64_t base = (uint64_t)&tss, limit = sizeof(tss) - 1;

	gdt[0] = 0;
	gdt[1] = 0x00af9a000000ffffull;		/* code: L, P, DPL0, exec/read */
	gdt[2] = 0x00cf92000000ffffull;		/* data: P, DPL0, read/write */
	gdt[3] = (limit & 0xffff) | ((base & 0xffffff) << 16) | (0x89ull << 40) |
		 (((limit >> 16) & 0xf) << 48) | (((base >> 24) & 0xff) << 56);
	gdt[4] = base >> 32;

	struct desc_ptr p = { sizeof(gdt) - 1, (uint64_t)gdt };
	__asm__ volatile(
		"lgdt %0\n"
		"pushq $0x08\n"
		"leaq 1f(%%rip), %%rax\n"
		"pushq %%rax\n"
		"lretq\n"
		"1:\n"
		"movl $0x10, %%eax\n"
		"movl %%eax, %%ds\n"
		"movl %%eax, %%es\n"
		"movl %%eax, %%ss\n"
		"xorl %%eax, %%eax\n"
		"movl %%eax, %%fs\n"
		"movl %%eax, %%gs\n"
		"movw $0x18, %%ax\n"
		"ltr %%ax\n"
		: : "m"(p) : "rax", "memory");
}

static void idt_load(void)
{
	for (int v = 0; v < 32; v++) {
		uint64_t off = x86_trap_stubs[v];
		idt[v] = (struct idt_gate){
			.off_lo = off & 0xffff, .sel = 0x08, .ist = 1, .type = 0x8e,
			.off_mid = (off >> 16) & 0xffff, .off_hi = off >> 32,
		};
	}
	struct desc_ptr p = { sizeof(idt) - 1, (uint64_t)idt };
	__asm__ volatile("lidt %0" : : "m"(p));
}

void arch_cpu_init(void)
{
	memset(&tss, 0, sizeof(tss));
	tss.ist[0] = (uint64_t)(exc_stack + EXC_STACK_SIZE);
	tss.iomap_base = sizeof(tss);
	gdt_load();
	idt_load();
}

static void cpuid(uint32_t leaf, uint32_t *a, uint32_t *b, uint32_t *c, uint32_t *d)
{
	__asm__ volatile("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d) : "a"(leaf), "c"(0));
}

void arch_cpu_describe(char *buf, unsigned long len)
{
	uint32_t r[12], max_ext, a, b, c, d;

	cpuid(0x80000000, &max_ext, &b, &c, &d);
	if (max_ext >= 0x80000004) {
		for (uint32_t i = 0; i < 3; i++)
			cpuid(0x80000002 + i, &r[i * 4], &r[i * 4 + 1], &r[i * 4 + 2], &r[i * 4 + 3]);
		char brand[49];
		memcpy(brand, r, 48);
		brand[48] = '\0';
		const char *s = brand;
		while (*s == ' ')
			s++;
		strncpy(buf, s, len - 1);
		buf[len - 1] = '\0';
		return;
	}
	cpuid(0, &a, &r[0], &r[2], &r[1]);
	memcpy(buf, r, len > 13 ? 12 : len - 1);
	buf[len > 13 ? 12 : len - 1] = '\0';
}
