/*
 * arch/host/context.S: the context switch and the first-run trampoline of the hosted
 * platform (contract: arch/include/arch/context.h; layout: <arch/context_impl.h>).
 *
 * The host is x86-64 and this is arch/x86_64/context.S itself, included below with
 * the host's <arch/context_impl.h> (the same offsets) and two differences for the
 * sanitizer builds:
 *
 *   - the register switch is named host_context_swap, and arch_context_switch is a C
 *     function around it (context.c) that tells AddressSanitizer and
 *     ThreadSanitizer about the switch; in the plain build the register switch is
 *     arch_context_switch itself, so a suspended context's pc names its switcher
 *     exactly as on bare metal (with the wrapper, pc is in arch_context_switch and
 *     the switcher is the next frame);
 *   - in those builds the trampoline first calls host_context_first_run, the
 *     arriving half of the wrapper (ASan's __sanitizer_finish_switch_fiber, the
 *     TSan build's signal mask), on the new stack before entry runs.
 *
 * GCC defines __SANITIZE_ADDRESS__ / __SANITIZE_THREAD__ for preprocessed assembly
 * too, from the same -fsanitize flags host.mk gives every file of a variant.
 */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define CONTEXT_SWAP host_context_swap
#define CONTEXT_FIRST_RUN callq host_context_first_run	/* rbx, r12 survive: callee-saved */
#endif

#include "../x86_64/context.S"
