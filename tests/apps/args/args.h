/*
 * args.h: the program's own header (its folder is on the include path, as every
 * program's is): the statuses it accepts, and what make apps' APP_CFLAGS gives it.
 */
#ifndef ARGS_H
#define ARGS_H

#define ARGS_STATUS_MAX	127	/* the largest status -return and -exit take */
#define ARGS_USAGE	64	/* the status of a bad number (EX_USAGE) */

/*
 * make apps builds every example with APP_CFLAGS=-DAPPS_BUILD_FLAG=1; args says so,
 * and the boot tests check the line: extra flags reach the program's objects.
 */
#ifdef APPS_BUILD_FLAG
#define ARGS_FLAG_LINE	"args: built with APPS_BUILD_FLAG=%d\n", APPS_BUILD_FLAG
#endif

#endif
