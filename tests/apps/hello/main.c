/* hello/main.c: a goroutine per argument, each answering on one channel */
#include <stdio.h>
#include <rt/chan.h>
#include <rt/go.h>

static void greet(void *c) { uint64_t id = go_id(); chan_send(c, &id); }

int main(int argc, char **argv)
{
	struct chan *c = chan_make(sizeof(uint64_t), 0);
	for (int i = 1; i < argc; i++)
		go(greet, c);
	for (int i = 1; i < argc; i++) {
		uint64_t id;
		chan_recv(c, &id);
		printf("hello %s from goroutine %llu on CPU %u\n", argv[i], (unsigned long long)id, go_cpu());
	}
	return 0;
}
