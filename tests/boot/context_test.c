/*
 * tests/boot/context_test.c: the context switch of arch/context.h (tests=context),
 * on x86-64, aarch64 and the hosted platform; and its cost (tests=ctxbench).
 *
 *   pingpong        100000 switches between two contexts, exact counters on both sides
 *   callee_saved    every callee-saved register (x86-64: rbx rbp r12-r15; aarch64:
 *                   x19-x29 and d8-d15), set to known values by assembly right
 *                   before the switch and read right after it, while the other side
 *                   ran with different values in all of them; and the FP control
 *                   state (MXCSR and x87 control word / FPCR), checked by value and by
 *                   the rounding of 1/3 it really gives
 *   fp_control      the same with pairs of FP control states that differ in one
 *                   part only (MXCSR, FTZ, x87 control word / FPCR's FZ, DN, RMode)
 *   fp_values       two sides computing with eight doubles live across every switch
 *                   (on aarch64 the compiler keeps them in d8-d15) match the same
 *                   computation without switches, bit for bit
 *   own_stack       entry runs on the given stack: its locals, its frame (16-byte
 *                   aligned, chained to the terminating record at top - 16), its arg;
 *                   the suspended context's sp/fp/pc agree with what entry saw
 *   fresh           a context never run: pc = arch_context_start, fp = 0, sp = top
 *   round_robin     8 contexts passing control around a ring 1000 times, in order
 *   self_switch     from == to returns at once, registers and FP control intact,
 *                   from the boot flow and from inside a started context
 *   walk_inside     a frame-pointer walk from inside entry names entry, then
 *                   arch_context_start, and ends on the {0, 0} record
 *   walk_suspended  the walk of a suspended context (pc, then the chain from its fp)
 *                   names the function that switched, entry, arch_context_start
 *
 * TEST_EXPLICIT(context_ret, entry_returns) ends the boot: an entry function that
 * returns must trap in arch_context_entry_returned (a panic naming it).
 * TEST_EXPLICIT(ctxbench, switch) prints "BENCH context_switch_ns <median> ns": the
 * median over 301 samples of 1000 switches (500 round trips) each, per switch.
 *
 * Stacks are 64 KiB runs of the page allocator (direct map), so the kernel's own
 * backtraces can read them too. On the ASan build a stack is unpoisoned before its
 * pages go back: a context left suspended keeps its frames' redzones in the shadow.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arch/context.h>
#include <arch/memlayout.h>
#include <arch/noscan.h>
#include <kernel/clock.h>
#include <kernel/console.h>
#include <kernel/ksyms.h>
#include <kernel/pmm.h>
#include <kernel/test.h>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#endif

/* Every function whose name a test looks up is global and noipa: no clone renames
 * it (.constprop, .isra), no inlining or tail call removes its frame. */
#define NAMED __attribute__((noipa))
#define KEEP_FRAME() __asm__ volatile("" ::: "memory")

/* ---- stacks --------------------------------------------------------------------- */

#define TSTACK_PAGES 16

struct tstack {
	uint64_t pa;
	uintptr_t lo, top;
};

static bool tstack_alloc(struct tstack *s)
{
	s->pa = pmm_alloc_contig(&kernel_pmm, TSTACK_PAGES, 1);
	if (!s->pa)
		return false;
	s->lo = (uintptr_t)phys_to_virt(s->pa);
	s->top = s->lo + TSTACK_PAGES * PAGE_SIZE;
	return true;
}

static void tstack_free(struct tstack *s)
{
#if defined(__SANITIZE_ADDRESS__)
	__asan_unpoison_memory_region((void *)s->lo, s->top - s->lo);
#endif
	for (unsigned i = 0; i < TSTACK_PAGES; i++)
		page_free(s->pa + i * PAGE_SIZE);
}

static bool in_stack(const struct tstack *s, uintptr_t a)
{
	return a >= s->lo && a < s->top;
}

/* ---- the FP control state, as one comparable number ------------------------------ */

#if defined(__x86_64__)
/* MXCSR without its status flags (bits 0-5) | x87 control word << 32 */
#define FPCTL_DEFAULT	(0x1f80ull | 0x037full << 32)
#define FPCTL_MAIN	(0x5f80ull | 0x077full << 32)	/* round up; x87 round down */
#define FPCTL_OTHER	(0x3f80ull | 0x0f7full << 32)	/* round down; x87 toward zero */

static uint64_t fpctl_get(void)
{
	uint32_t mxcsr;
	uint16_t fcw;
	__asm__ volatile("stmxcsr %0; fnstcw %1" : "=m"(mxcsr), "=m"(fcw));
	return (mxcsr & ~0x3fu) | (uint64_t)fcw << 32;
}

static void fpctl_set(uint64_t v)
{
	uint32_t mxcsr = (uint32_t)v;
	uint16_t fcw = (uint16_t)(v >> 32);
	__asm__ volatile("ldmxcsr %0; fldcw %1" : : "m"(mxcsr), "m"(fcw) : "memory");
}
#elif defined(__aarch64__)
/* FPCR: RMode in bits 23:22, FZ bit 24, DN bit 25 */
#define FPCTL_DEFAULT	0ull
#define FPCTL_MAIN	(1ull << 22)			/* round toward +inf */
#define FPCTL_OTHER	((2ull << 22) | (1ull << 24))	/* toward -inf, flush to zero */

static uint64_t fpctl_get(void)
{
	uint64_t v;
	__asm__ volatile("mrs %0, fpcr" : "=r"(v));
	return v;
}

static void fpctl_set(uint64_t v)
{
	__asm__ volatile("msr fpcr, %0" : : "r"(v) : "memory");
}
#endif

/* The bits of x / 3 in the current rounding mode: 1/3 rounded up ends in ...556,
 * to nearest (or down) in ...555; -1/3 rounded down is -...556. */
static uint64_t third_bits(double x)
{
	volatile double n = x, d = 3.0;
	double q = n / d;
	uint64_t b;
	memcpy(&b, &q, sizeof(b));
	return b;
}

#define THIRD_NEAREST	0x3fd5555555555555ull
#define THIRD_UP	0x3fd5555555555556ull
#define MINUS_THIRD_DOWN 0xbfd5555555555556ull

/* ---- every callee-saved register, by assembly ------------------------------------- */

/*
 * ctxt_regs_switch(from, to, out, in): load the callee-saved registers from in[],
 * call arch_context_switch(from, to), store the registers into out[] when it returns,
 * and give the caller its own registers back. in/out order:
 *   x86-64:  rbx r12 r13 r14 r15 rbp
 *   aarch64: x19 .. x28, x29, d8 .. d15
 * The frame pointer holds a pattern across the switch too, so no frame-pointer walk of
 * this flow is meaningful while it is suspended in here (none is taken).
 */
void ctxt_regs_switch(struct arch_context *from, struct arch_context *to, uint64_t *out,
		      const uint64_t *in);

#if defined(__x86_64__)
#define NREGS 6
__asm__(
	"	.text\n"
	"	.globl ctxt_regs_switch\n"
	"	.type ctxt_regs_switch, @function\n"
	"ctxt_regs_switch:\n"
	"	pushq %rbp\n"
	"	movq %rsp, %rbp\n"
	"	pushq %rbx\n"
	"	pushq %r12\n"
	"	pushq %r13\n"
	"	pushq %r14\n"
	"	pushq %r15\n"
	"	pushq %rdx\n"			/* out; rsp is 16-byte aligned again */
	"	movq 0(%rcx), %rbx\n"
	"	movq 8(%rcx), %r12\n"
	"	movq 16(%rcx), %r13\n"
	"	movq 24(%rcx), %r14\n"
	"	movq 32(%rcx), %r15\n"
	"	movq 40(%rcx), %rbp\n"
	"	call arch_context_switch\n"
	"	movq (%rsp), %rdx\n"
	"	movq %rbx, 0(%rdx)\n"
	"	movq %r12, 8(%rdx)\n"
	"	movq %r13, 16(%rdx)\n"
	"	movq %r14, 24(%rdx)\n"
	"	movq %r15, 32(%rdx)\n"
	"	movq %rbp, 40(%rdx)\n"
	"	popq %rdx\n"
	"	popq %r15\n"
	"	popq %r14\n"
	"	popq %r13\n"
	"	popq %r12\n"
	"	popq %rbx\n"
	"	popq %rbp\n"
	"	ret\n"
	"	.size ctxt_regs_switch, . - ctxt_regs_switch\n");
#elif defined(__aarch64__)
#define NREGS 19
__asm__(
	"	.text\n"
	"	.globl ctxt_regs_switch\n"
	"	.type ctxt_regs_switch, %function\n"
	"	.p2align 2\n"
	"ctxt_regs_switch:\n"
	"	stp x29, x30, [sp, #-176]!\n"
	"	mov x29, sp\n"
	"	stp x19, x20, [sp, #16]\n"
	"	stp x21, x22, [sp, #32]\n"
	"	stp x23, x24, [sp, #48]\n"
	"	stp x25, x26, [sp, #64]\n"
	"	stp x27, x28, [sp, #80]\n"
	"	stp d8, d9, [sp, #96]\n"
	"	stp d10, d11, [sp, #112]\n"
	"	stp d12, d13, [sp, #128]\n"
	"	stp d14, d15, [sp, #144]\n"
	"	str x2, [sp, #160]\n"		/* out */
	"	ldp x19, x20, [x3, #0]\n"
	"	ldp x21, x22, [x3, #16]\n"
	"	ldp x23, x24, [x3, #32]\n"
	"	ldp x25, x26, [x3, #48]\n"
	"	ldp x27, x28, [x3, #64]\n"
	"	ldr x29, [x3, #80]\n"
	"	ldp d8, d9, [x3, #88]\n"
	"	ldp d10, d11, [x3, #104]\n"
	"	ldp d12, d13, [x3, #120]\n"
	"	ldp d14, d15, [x3, #136]\n"
	"	bl arch_context_switch\n"
	"	ldr x2, [sp, #160]\n"
	"	stp x19, x20, [x2, #0]\n"
	"	stp x21, x22, [x2, #16]\n"
	"	stp x23, x24, [x2, #32]\n"
	"	stp x25, x26, [x2, #48]\n"
	"	stp x27, x28, [x2, #64]\n"
	"	str x29, [x2, #80]\n"
	"	stp d8, d9, [x2, #88]\n"
	"	stp d10, d11, [x2, #104]\n"
	"	stp d12, d13, [x2, #120]\n"
	"	stp d14, d15, [x2, #136]\n"
	"	ldp x19, x20, [sp, #16]\n"
	"	ldp x21, x22, [sp, #32]\n"
	"	ldp x23, x24, [sp, #48]\n"
	"	ldp x25, x26, [sp, #64]\n"
	"	ldp x27, x28, [sp, #80]\n"
	"	ldp d8, d9, [sp, #96]\n"
	"	ldp d10, d11, [sp, #112]\n"
	"	ldp d12, d13, [sp, #128]\n"
	"	ldp d14, d15, [sp, #144]\n"
	"	ldp x29, x30, [sp], #176\n"
	"	ret\n"
	"	.size ctxt_regs_switch, . - ctxt_regs_switch\n");
#endif

static void fill_pattern(uint64_t *v, uint64_t seed)
{
	for (int i = 0; i < NREGS; i++)
		v[i] = (seed ^ (0x0101010101010101ull * (uint64_t)(i + 1))) * 0x9e3779b97f4a7c15ull;
}

static int count_diff(const uint64_t *a, const uint64_t *b)
{
	int n = 0;
	for (int i = 0; i < NREGS; i++)
		n += a[i] != b[i];
	return n;
}

/* ---- frame-pointer walks --------------------------------------------------------------- */

#define WALK_MAX 16

struct walk {
	const char *name[WALK_MAX];
	int n;
	bool clean;		/* ended on the terminating record {0, 0} */
};

/* As kernel/panic.c walks: pc first (if any), then each record's return address
 * minus one, upwards, within [s->lo, s->top). */
static void walk_from(uint64_t pc, uint64_t fp, const struct tstack *s, struct walk *w)
{
	uint64_t off;
	w->n = 0;
	w->clean = false;
	if (pc) {
		const char *nm = ksyms_lookup(pc, &off);
		w->name[w->n++] = nm ? nm : "?";
	}
	while (w->n < WALK_MAX && !(fp & 7) && fp >= s->lo && fp + 16 <= s->top) {
		const uint64_t *r = (const uint64_t *)(uintptr_t)fp;
		if (r[1] == 0) {
			w->clean = r[0] == 0;
			return;
		}
		const char *nm = ksyms_lookup(r[1] - 1, &off);
		w->name[w->n++] = nm ? nm : "?";
		if (r[0] <= fp)
			return;
		fp = r[0];
	}
}

static bool walk_is(const struct walk *w, int from, const char *const *names, int n)
{
	if (w->n - from != n)
		return false;
	for (int i = 0; i < n; i++)
		if (strcmp(w->name[from + i], names[i]) != 0)
			return false;
	return true;
}

static void walk_report(const char *what, const struct walk *w)
{
	char buf[256];
	int len = 0;
	for (int i = 0; i < w->n && len < (int)sizeof(buf) - 1; i++)
		len += snprintf(buf + len, sizeof(buf) - len, "%s%s", i ? " <- " : "", w->name[i]);
	buf[len < (int)sizeof(buf) ? len : (int)sizeof(buf) - 1] = '\0';
	test_fail(__FILE__, __LINE__, "%s: walk %s%s", what, buf, w->clean ? " (clean end)" : " (no {0,0} end)");
}

/* ---- pingpong ---------------------------------------------------------------------- */

#define PP_ROUNDS 100000

static struct arch_context pp_main, pp_a;
static volatile uint64_t pp_count, pp_bad;

static void pp_entry(void *arg)
{
	uint64_t mine = 0;	/* lives on this context's stack or in a callee-saved register */
	(void)arg;
	for (;;) {
		mine++;
		pp_count++;
		if (mine != pp_count)
			pp_bad++;
		arch_context_switch(&pp_a, &pp_main);
	}
}

TEST(context, pingpong)
{
	struct tstack s;
	uint64_t wrong = 0;

	ASSERT_TRUE(tstack_alloc(&s));
	pp_count = pp_bad = 0;
	arch_context_init(&pp_a, s.top, pp_entry, NULL);
	for (uint64_t i = 0; i < PP_ROUNDS; i++) {
		arch_context_switch(&pp_main, &pp_a);
		if (pp_count != i + 1)
			wrong++;
	}
	EXPECT_EQ(pp_count, PP_ROUNDS);
	EXPECT_EQ(wrong, 0);
	EXPECT_EQ(pp_bad, 0);
	tstack_free(&s);
}

/* ---- callee-saved registers and FP control ------------------------------------------- */

static struct arch_context rs_main, rs_a;
static uint64_t rs_junk1[NREGS], rs_junk2[NREGS], rs_a_out[NREGS];
static uint64_t rs_a_fpctl_start, rs_a_fpctl_resumed, rs_a_third;

static void rs_entry(void *arg)
{
	uint64_t scratch[NREGS];
	(void)arg;
	rs_a_fpctl_start = fpctl_get();
	fpctl_set(FPCTL_OTHER);
	ctxt_regs_switch(&rs_a, &rs_main, rs_a_out, rs_junk1);
	rs_a_fpctl_resumed = fpctl_get();
	rs_a_third = third_bits(-1.0);
	ctxt_regs_switch(&rs_a, &rs_main, scratch, rs_junk2);
	for (;;)
		arch_context_switch(&rs_a, &rs_main);
}

TEST(context, callee_saved)
{
	struct tstack s;
	uint64_t pat1[NREGS], pat2[NREGS], out1[NREGS], out2[NREGS];
	uint64_t fp1, fp2, third1;

	ASSERT_TRUE(tstack_alloc(&s));
	fill_pattern(pat1, 0x1111);
	fill_pattern(pat2, 0x2222);
	fill_pattern(rs_junk1, 0xaaaa);
	fill_pattern(rs_junk2, 0xbbbb);
	memset(rs_a_out, 0, sizeof(rs_a_out));
	arch_context_init(&rs_a, s.top, rs_entry, NULL);

	fpctl_set(FPCTL_MAIN);
	ctxt_regs_switch(&rs_main, &rs_a, out1, pat1);	/* a starts, switches back */
	fp1 = fpctl_get();
	third1 = third_bits(1.0);
	ctxt_regs_switch(&rs_main, &rs_a, out2, pat2);	/* a resumes, switches back */
	fp2 = fpctl_get();
	fpctl_set(FPCTL_DEFAULT);

	EXPECT_EQ(count_diff(out1, pat1), 0);
	EXPECT_EQ(count_diff(out2, pat2), 0);
	EXPECT_EQ(count_diff(rs_a_out, rs_junk1), 0);
	EXPECT_EQ(fp1, FPCTL_MAIN);
	EXPECT_EQ(fp2, FPCTL_MAIN);
	EXPECT_EQ(third1, THIRD_UP);
	EXPECT_EQ(rs_a_fpctl_start, FPCTL_DEFAULT);	/* a new context: the ABI defaults */
	EXPECT_EQ(rs_a_fpctl_resumed, FPCTL_OTHER);
	EXPECT_EQ(rs_a_third, MINUS_THIRD_DOWN);
	EXPECT_EQ(third_bits(1.0), THIRD_NEAREST);
	tstack_free(&s);
}

/*
 * Pairs of FP control states for the two sides of a switch, each pair differing in
 * one part only, so that a switch that compared or loaded only part of the state
 * would be caught (it skips the reload when the control bits are equal).
 */
static const uint64_t fc_pairs[][2] = {
	{ FPCTL_MAIN, FPCTL_OTHER },
#if defined(__x86_64__)
	{ 0x5f80ull | 0x037full << 32, 0x3f80ull | 0x037full << 32 },	/* MXCSR only */
	{ 0x9f80ull | 0x037full << 32, 0x1f80ull | 0x037full << 32 },	/* FTZ only */
	{ 0x1f80ull | 0x077full << 32, 0x1f80ull | 0x0f7full << 32 },	/* x87 CW only */
	{ 0x1f80ull | 0x027full << 32, 0x1f80ull | 0x037full << 32 },	/* x87 precision */
#elif defined(__aarch64__)
	{ 1ull << 24, 0 },						/* FZ only */
	{ 0, 1ull << 25 },						/* DN only */
	{ 3ull << 22, 2ull << 22 },					/* RMode only */
#endif
};

static struct arch_context fc_main, fc_a;
static uint64_t fc_a_mode, fc_a_seen;

static void fc_entry(void *arg)
{
	(void)arg;
	for (;;) {
		fpctl_set(fc_a_mode);
		arch_context_switch(&fc_a, &fc_main);
		fc_a_seen = fpctl_get();
		arch_context_switch(&fc_a, &fc_main);
	}
}

TEST(context, fp_control)
{
	struct tstack s;
	ASSERT_TRUE(tstack_alloc(&s));
	arch_context_init(&fc_a, s.top, fc_entry, NULL);
	for (unsigned i = 0; i < sizeof(fc_pairs) / sizeof(fc_pairs[0]); i++) {
		fc_a_mode = fc_pairs[i][1];
		fc_a_seen = ~0ull;
		fpctl_set(fc_pairs[i][0]);
		arch_context_switch(&fc_main, &fc_a);		/* a sets its mode */
		uint64_t m1 = fpctl_get();
		arch_context_switch(&fc_main, &fc_a);		/* a reads it back */
		uint64_t m2 = fpctl_get();
		fpctl_set(FPCTL_DEFAULT);
		if (m1 != fc_pairs[i][0] || m2 != fc_pairs[i][0] || fc_a_seen != fc_pairs[i][1])
			test_fail(__FILE__, __LINE__, "pair %u: main %llx/%llx (want %llx), other %llx (want %llx)",
				  i, (unsigned long long)m1, (unsigned long long)m2,
				  (unsigned long long)fc_pairs[i][0], (unsigned long long)fc_a_seen,
				  (unsigned long long)fc_pairs[i][1]);
	}
	tstack_free(&s);
}

/* ---- FP values live across switches ------------------------------------------------- */

#define FV_ROUNDS 200

static struct arch_context fv_main, fv_a;
static double fv_a_result;

/* Eight doubles live across every switch; self == NULL: no switches (reference). */
NAMED double ctxt_fp_work(int side, struct arch_context *self, struct arch_context *other)
{
	double a = 1.0 + side, b = 0.5, c = 0.25 * side, d = 3.0;
	double e = -1.0, f = 7.0 + side, g = 0.125, h = 2.0;
	for (int i = 0; i < FV_ROUNDS; i++) {
		a = a * 1.0000001 + b;
		b = b * 0.999 + c;
		c = c + d * 1e-3;
		d = d * 1.001 - e * 1e-4;
		e = e * 0.5 + f * 1e-3;
		f = f - g;
		g = g * 1.01;
		h = h + a * 1e-6;
		if (self)
			arch_context_switch(self, other);
	}
	return a + b * 3 + c * 5 + d * 7 + e * 11 + f * 13 + g * 17 + h * 19;
}

static void fv_entry(void *arg)
{
	(void)arg;
	fv_a_result = ctxt_fp_work(1, &fv_a, &fv_main);
	for (;;)
		arch_context_switch(&fv_a, &fv_main);
}

TEST(context, fp_values)
{
	struct tstack s;
	ASSERT_TRUE(tstack_alloc(&s));
	fv_a_result = 0;
	arch_context_init(&fv_a, s.top, fv_entry, NULL);
	double m = ctxt_fp_work(0, &fv_main, &fv_a);
	arch_context_switch(&fv_main, &fv_a);		/* a's last round: it returns its sum */
	double ref_m = ctxt_fp_work(0, NULL, NULL), ref_a = ctxt_fp_work(1, NULL, NULL);
	EXPECT_TRUE(m == ref_m);
	EXPECT_TRUE(fv_a_result == ref_a);
	EXPECT_TRUE(ref_m != ref_a);
	tstack_free(&s);
}

/* ---- the context's own stack ----------------------------------------------------------- */

static struct arch_context os_main, os_a;
static uintptr_t os_local, os_frame, os_frame_next;
static void *os_arg;

NAMED void ctxt_stack_entry(void *arg)
{
	volatile int local = 1;
	os_local = (uintptr_t)&local;
	os_frame = (uintptr_t)__builtin_frame_address(0);
	os_frame_next = *(const uintptr_t *)os_frame;	/* the record entry pushed */
	os_arg = arg;
	for (;;) {
		arch_context_switch(&os_a, &os_main);
		KEEP_FRAME();
	}
}

TEST(context, own_stack)
{
	struct tstack s;
	static int token;
	uint64_t off;

	ASSERT_TRUE(tstack_alloc(&s));
	os_local = os_frame = os_frame_next = 0;
	os_arg = NULL;
	arch_context_init(&os_a, s.top, ctxt_stack_entry, &token);
	arch_context_switch(&os_main, &os_a);

	EXPECT_TRUE(os_arg == &token);
	EXPECT_TRUE(in_stack(&s, os_local));
	EXPECT_TRUE(in_stack(&s, os_frame));
	EXPECT_EQ(os_frame & 15, 0);			/* the ABI's alignment at the call */
	EXPECT_EQ(os_frame_next, s.top - 16);		/* entry's record -> the {0, 0} one */
	EXPECT_EQ(((const uint64_t *)(s.top - 16))[0], 0);
	EXPECT_EQ(((const uint64_t *)(s.top - 16))[1], 0);
	/* suspended where entry called the switch: sp below entry's frame, fp = that frame */
	uintptr_t sp = arch_context_sp(&os_a);
	EXPECT_TRUE(in_stack(&s, sp));
	EXPECT_TRUE(sp <= os_frame);
	const char *pcname = ksyms_lookup(arch_context_pc(&os_a), &off);
	EXPECT_TRUE(pcname != NULL);
	/* The plain switch resumes in entry itself, with entry's fp; the host's sanitizer
	 * builds inside their C arch_context_switch (arch/host/context.c), whose frame
	 * record leads to entry's. */
	bool wrapped = pcname && strcmp(pcname, "arch_context_switch") == 0;
	if (pcname && !wrapped && strcmp(pcname, "ctxt_stack_entry") != 0)
		test_fail(__FILE__, __LINE__, "suspended pc in %s", pcname);
	uintptr_t fp = arch_context_fp(&os_a);
	EXPECT_TRUE(in_stack(&s, fp));
	if (wrapped && in_stack(&s, fp))
		fp = *(const uintptr_t *)fp;
	EXPECT_EQ(fp, os_frame);
	/* a second switch in and out keeps to the same stack and frame */
	uint64_t first_sp = sp;
	arch_context_switch(&os_main, &os_a);
	EXPECT_EQ(arch_context_sp(&os_a), first_sp);
	tstack_free(&s);
}

TEST(context, fresh)
{
	struct arch_context c;
	static int token;
	struct tstack s;

	ASSERT_TRUE(tstack_alloc(&s));
	memset(&c, 0x5a, sizeof(c));	/* init must not depend on what was there */
	arch_context_init(&c, s.top, ctxt_stack_entry, &token);
	EXPECT_EQ(arch_context_sp(&c), s.top);
	EXPECT_EQ(arch_context_fp(&c), 0);
	EXPECT_EQ(arch_context_pc(&c), (uintptr_t)arch_context_start);
	uint64_t off;
	const char *nm = ksyms_lookup(arch_context_pc(&c), &off);
	EXPECT_TRUE(nm && strcmp(nm, "arch_context_start") == 0 && off == 0);
	nm = ksyms_lookup((uintptr_t)arch_context_entry_returned, &off);
	EXPECT_TRUE(nm && strcmp(nm, "arch_context_entry_returned") == 0 && off == 0);
	tstack_free(&s);
}

/* ---- round robin ------------------------------------------------------------------------- */

#define RR_N 8
#define RR_ROUNDS 1000

static struct arch_context rr_main, rr_ctx[RR_N];
static uint8_t rr_log[RR_N * RR_ROUNDS + 1];
NOSCAN(rr_log);
static unsigned rr_pos;

static void rr_entry(void *arg)
{
	unsigned id = (unsigned)(uintptr_t)arg, rounds = 0;
	for (;;) {
		if (rr_pos < sizeof(rr_log))
			rr_log[rr_pos] = (uint8_t)id;
		rr_pos++;
		if ((id == RR_N - 1 && ++rounds == RR_ROUNDS) || rr_pos > RR_N * RR_ROUNDS)
			arch_context_switch(&rr_ctx[id], &rr_main);
		else
			arch_context_switch(&rr_ctx[id], &rr_ctx[(id + 1) % RR_N]);
	}
}

TEST(context, round_robin)
{
	struct tstack s[RR_N];
	unsigned got = 0, wrong = 0;

	for (; got < RR_N; got++)
		if (!tstack_alloc(&s[got]))
			break;
	if (got < RR_N) {
		test_fail(__FILE__, __LINE__, "no memory for %d stacks", RR_N);
		goto out;
	}
	rr_pos = 0;
	for (unsigned i = 0; i < RR_N; i++)
		arch_context_init(&rr_ctx[i], s[i].top, rr_entry, (void *)(uintptr_t)i);
	arch_context_switch(&rr_main, &rr_ctx[0]);
	EXPECT_EQ(rr_pos, RR_N * RR_ROUNDS);
	for (unsigned k = 0; k < RR_N * RR_ROUNDS && k < rr_pos; k++)
		wrong += rr_log[k] != k % RR_N;
	EXPECT_EQ(wrong, 0);
out:
	while (got)
		tstack_free(&s[--got]);
}

/* ---- from == to ----------------------------------------------------------------------------- */

static struct arch_context ss_main, ss_a;
static unsigned ss_a_selfs;
static int ss_a_regs_bad;

static void ss_entry(void *arg)
{
	uint64_t pat[NREGS], out[NREGS];
	(void)arg;
	fill_pattern(pat, 0x5e1f);
	for (int i = 0; i < 100; i++) {
		arch_context_switch(&ss_a, &ss_a);
		ss_a_selfs++;
	}
	ctxt_regs_switch(&ss_a, &ss_a, out, pat);
	ss_a_regs_bad = count_diff(out, pat);
	for (;;)
		arch_context_switch(&ss_a, &ss_main);
}

TEST(context, self_switch)
{
	struct arch_context self;
	uint64_t pat[NREGS], out[NREGS];
	struct tstack s;
	unsigned n = 0;

	for (int i = 0; i < 1000; i++) {
		arch_context_switch(&self, &self);
		n++;
	}
	EXPECT_EQ(n, 1000);
	fill_pattern(pat, 0x5e1f5e1f);
	fpctl_set(FPCTL_MAIN);
	ctxt_regs_switch(&self, &self, out, pat);
	uint64_t fp = fpctl_get();
	fpctl_set(FPCTL_DEFAULT);
	EXPECT_EQ(count_diff(out, pat), 0);
	EXPECT_EQ(fp, FPCTL_MAIN);

	ASSERT_TRUE(tstack_alloc(&s));
	ss_a_selfs = 0;
	ss_a_regs_bad = -1;
	arch_context_init(&ss_a, s.top, ss_entry, NULL);
	arch_context_switch(&ss_main, &ss_a);
	EXPECT_EQ(ss_a_selfs, 100);
	EXPECT_EQ(ss_a_regs_bad, 0);
	tstack_free(&s);
}

/* ---- frame-pointer walks ------------------------------------------------------------------- */

static struct arch_context wk_main, wk_a;
static const struct tstack *wk_stack;
static struct walk wk_inside;

NAMED void ctxt_walk_here(struct walk *w)
{
	walk_from(0, (uint64_t)(uintptr_t)__builtin_frame_address(0), wk_stack, w);
	KEEP_FRAME();
}

NAMED void ctxt_walk_entry(void *arg)
{
	(void)arg;
	ctxt_walk_here(&wk_inside);
	KEEP_FRAME();
	for (;;) {
		arch_context_switch(&wk_a, &wk_main);
		KEEP_FRAME();
	}
}

TEST(context, walk_inside)
{
	static const char *const want[] = { "ctxt_walk_entry", "arch_context_start" };
	struct tstack s;

	ASSERT_TRUE(tstack_alloc(&s));
	wk_stack = &s;
	memset(&wk_inside, 0, sizeof(wk_inside));
	arch_context_init(&wk_a, s.top, ctxt_walk_entry, NULL);
	arch_context_switch(&wk_main, &wk_a);
	if (!walk_is(&wk_inside, 0, want, 2) || !wk_inside.clean)
		walk_report("from inside entry", &wk_inside);
	tstack_free(&s);
}

NAMED void ctxt_switcher(struct arch_context *self, struct arch_context *to)
{
	arch_context_switch(self, to);
	KEEP_FRAME();
}

NAMED void ctxt_suspend_entry(void *arg)
{
	(void)arg;
	for (;;) {
		ctxt_switcher(&wk_a, &wk_main);
		KEEP_FRAME();
	}
}

TEST(context, walk_suspended)
{
	static const char *const want[] = { "ctxt_switcher", "ctxt_suspend_entry", "arch_context_start" };
	struct tstack s;
	struct walk w;

	ASSERT_TRUE(tstack_alloc(&s));
	arch_context_init(&wk_a, s.top, ctxt_suspend_entry, NULL);
	for (int round = 0; round < 2; round++) {	/* after the first switch and a resume */
		arch_context_switch(&wk_main, &wk_a);
		walk_from(arch_context_pc(&wk_a), arch_context_fp(&wk_a), &s, &w);
		/* the host's sanitizer builds suspend inside their C arch_context_switch */
		int from = w.n > 0 && strcmp(w.name[0], "arch_context_switch") == 0;
		if (!walk_is(&w, from, want, 3) || !w.clean)
			walk_report("suspended", &w);
	}
	tstack_free(&s);
}

/* ---- an entry that returns (explicit: ends the boot) --------------------------------------- */

static struct arch_context er_main, er_a;

NAMED void ctxt_returning_entry(void *arg)
{
	(void)arg;
}

TEST_EXPLICIT(context_ret, entry_returns)
{
	struct tstack s;
	ASSERT_TRUE(tstack_alloc(&s));
	arch_context_init(&er_a, s.top, ctxt_returning_entry, NULL);
	arch_context_switch(&er_main, &er_a);
	test_fail(__FILE__, __LINE__, "a context whose entry returned came back");
}

/* ---- benchmark ---------------------------------------------------------------------------- */

#define BENCH_SAMPLES 301
#define BENCH_ROUNDTRIPS 500		/* 1000 switches per sample */

static struct arch_context bn_main, bn_b;
static uint64_t bn_samples[BENCH_SAMPLES];

static void bn_entry(void *arg)
{
	(void)arg;
	for (;;)
		arch_context_switch(&bn_b, &bn_main);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

TEST_EXPLICIT(ctxbench, switch)
{
	struct tstack s;
	ASSERT_TRUE(tstack_alloc(&s));
	arch_context_init(&bn_b, s.top, bn_entry, NULL);
	for (int i = 0; i < BENCH_ROUNDTRIPS; i++)	/* warm up */
		arch_context_switch(&bn_main, &bn_b);
	for (int k = 0; k < BENCH_SAMPLES; k++) {
		uint64_t t0 = clock_ns();
		for (int i = 0; i < BENCH_ROUNDTRIPS; i++)
			arch_context_switch(&bn_main, &bn_b);
		bn_samples[k] = clock_ns() - t0;
	}
	qsort(bn_samples, BENCH_SAMPLES, sizeof(bn_samples[0]), cmp_u64);
	kprintf("BENCH context_switch_ns %.1f ns\n",
		(double)bn_samples[BENCH_SAMPLES / 2] / (2.0 * BENCH_ROUNDTRIPS));
	tstack_free(&s);
}
