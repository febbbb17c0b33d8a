/*
 * arch/host/sanitizer.c: the sanitizers' default options, built into the binary.
 *
 * Each runtime calls its __<name>_default_options() hook at start-up; options from
 * ASAN_OPTIONS / UBSAN_OPTIONS / TSAN_OPTIONS in the environment still win. In the
 * plain build nothing calls these.
 *
 * All of them:
 *   handle_segv=0 handle_sigbus=0 handle_sigill=0 handle_sigfpe=0
 *       CPU exceptions are the kernel's (arch/host/trap.c): its panic, with the
 *       register dump and the frame-pointer backtrace, is the report, and
 *       arch_probe_read's fixup must see the fault at all.
 *   allow_user_segv_handler=1
 *       keep our sigaction for those signals.
 *   halt_on_error=1, exitcode=3
 *       the first report ends the run with status 3, which no kernel power-off uses
 *       (0 pass, 1 fail, 2 panic), so a report can never pass for a result. Reports
 *       are printed when found: nothing waits for exit (power-off is _exit).
 * AddressSanitizer:
 *   use_sigaltstack=0        the signal stacks are the CPUs' own (cpu.c): ASan must not
 *                            install one, nor unmap "its" one when a thread exits
 *   detect_stack_use_after_return=0
 *                            frames must stay on the real stack for the kernel's
 *                            frame-pointer walks (the fake stack is heap memory)
 *   detect_leaks=0           power-off is _exit; LeakSanitizer would never run, say so
 * ThreadSanitizer:
 *   report_signal_unsafe=1 (default) stays on: an interrupt handler that allocates is
 *   a bug here as on the hardware.
 */
#define HOST_SAN_COMMON "handle_segv=0:handle_sigbus=0:handle_sigill=0:handle_sigfpe=0:" \
	"allow_user_segv_handler=1:halt_on_error=1:exitcode=3"

const char *__asan_default_options(void);
const char *__ubsan_default_options(void);
const char *__tsan_default_options(void);

__attribute__((used, no_sanitize_address)) const char *__asan_default_options(void)
{
	return HOST_SAN_COMMON ":use_sigaltstack=0:detect_stack_use_after_return=0:detect_leaks=0";
}

__attribute__((used)) const char *__ubsan_default_options(void)
{
	return HOST_SAN_COMMON ":print_stacktrace=1";
}

__attribute__((used)) const char *__tsan_default_options(void)
{
	return HOST_SAN_COMMON;
}
