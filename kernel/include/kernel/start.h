/*
 * kernel/start.h: how the layer above the kernel gets the machine.
 *
 * rt/ (the goroutine scheduler) registers its start function with KERNEL_START(fn);
 * the kernel finds it in the .kernel_start section (linker.ld) without naming it,
 * and calls it last in kernel_main with the first goroutine's function and its
 * argument (the test suites), or with NULL and a struct program_args: then the layer
 * above runs the image's program, main(argc, argv) (rt/program.c), with the
 * arguments the command line gave after "--"; and the power-off to call when that
 * returns. An image without rt/ has none, and kernel_main powers off after its own
 * work.
 *
 * The program's name, argv[0], is image_program_name: the build defines it for
 * each image (the Makefile's program.c), the kernel has a weak "gort".
 *
 * The other CPUs reach the layer above through smp_set_idle_hook (kernel/smp.h).
 */
#ifndef KERNEL_START_H
#define KERNEL_START_H

struct kernel_start {
	/* never returns; exit_fn must not return either */
	void (*start)(int (*main_fn)(void *), void *arg, void (*exit_fn)(int));
};

#define KERNEL_START(fn)                                                              \
	static const struct kernel_start kernel_start_##fn                            \
		__attribute__((used, section(".kernel_start"), aligned(8))) = { fn }

struct program_args {
	int argc;
	char **argv;		/* argv[argc] == NULL; argv[0] is image_program_name */
};

extern const char image_program_name[];
extern const struct kernel_start __kernel_start_begin[], __kernel_start_end[];

#endif
