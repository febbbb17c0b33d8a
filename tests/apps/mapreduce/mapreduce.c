/*
 * mapreduce: a parallel word count over every CPU.
 *
 *   mapreduce [words]    the text's length in words (default 200000, at most 10^7)
 *
 * The text is generated (a fixed pseudo-random sequence over a small vocabulary),
 * cut at spaces into chunks, four per CPU, and each chunk is mapped by its own
 * goroutine into a hash table of word counts: typed objects on the collector's heap
 * whose keys point into the text itself (interior pointers keep it alive). The
 * tables come back on a channel of pointers; main reduces them into one and checks
 * the total and every count against a serial pass over the whole text. It prints
 * the most frequent words.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <rt/chan.h>
#include <rt/gc.h>
#include <rt/go.h>

#define BUCKETS 256

static const char *const vocab[] = {
	"goroutine", "channel", "select", "stack", "collector", "barrier", "mark", "sweep",
	"span", "heap", "core", "interrupt", "timer", "mutex", "scheduler", "page",
	"kernel", "runtime", "pointer", "root", "grey", "black", "white", "pause",
};
#define NVOCAB (sizeof(vocab) / sizeof(vocab[0]))

struct entry {
	const char *word;	/* into the text: not NUL-terminated */
	size_t len;
	long count;
	struct entry *next;
};
GC_TYPE(entry_type, struct entry, word, next);

struct table {
	struct entry *bucket[BUCKETS];
	long words;
};
GC_TYPE(table_type, struct table, bucket);

struct chunk {
	const char *text;
	size_t len;
	struct chan *out;
};
GC_TYPE(chunk_type, struct chunk, text, out);

static unsigned hash(const char *w, size_t n)
{
	unsigned h = 2166136261u;
	while (n--)
		h = (h ^ (unsigned char)*w++) * 16777619u;
	return h % BUCKETS;
}

static void add(struct table *t, const char *w, size_t n, long count)
{
	struct entry **b = &t->bucket[hash(w, n)], *e;
	for (e = *b; e; e = e->next)
		if (e->len == n && memcmp(e->word, w, n) == 0)
			break;
	if (!e) {
		e = gc_new(&entry_type);
		gc_store(&e->word, w);
		e->len = n;
		gc_store(&e->next, *b);
		gc_store(b, e);
	}
	e->count += count;
	t->words += count;
}

static struct table *count_words(const char *s, size_t len)
{
	struct table *t = gc_new(&table_type);
	for (size_t i = 0; i < len;) {
		while (i < len && s[i] == ' ')
			i++;
		size_t start = i;
		while (i < len && s[i] != ' ')
			i++;
		if (i > start)
			add(t, s + start, i - start, 1);
	}
	return t;
}

static void map(void *arg)
{
	struct chunk *c = arg;
	struct table *t = count_words(c->text, c->len);
	chan_send(c->out, &t);
}

int main(int argc, char **argv)
{
	char *end = "";
	long nwords = argc > 1 ? strtol(argv[1], &end, 10) : 200000;
	if (argc > 2 || *end || nwords < 1 || nwords > 10000000) {
		fprintf(stderr, "usage: %s [words]   (1..10000000)\n", argv[0]);
		return 2;
	}

	/* the text: words of the vocabulary in a fixed pseudo-random order */
	char *text = gc_alloc_noscan((size_t)nwords * 11);
	size_t len = 0;
	uint64_t x = 88172645463325252ull;
	for (long i = 0; i < nwords; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		const char *w = vocab[(x >> 32) % NVOCAB];
		size_t n = strlen(w);
		memcpy(text + len, w, n);
		len += n;
		text[len++] = ' ';
	}

	/* map: four chunks per CPU, each cut at a space */
	long nchunks = 4 * (long)go_ncpu();
	struct chan *tables = chan_make(sizeof(struct table *), 0);
	size_t at = 0;
	long started = 0;
	for (long i = 0; i < nchunks && at < len; i++) {
		size_t stop = i == nchunks - 1 ? len : (len * (size_t)(i + 1)) / (size_t)nchunks;
		while (stop < len && text[stop] != ' ')
			stop++;
		struct chunk *c = gc_new(&chunk_type);
		gc_store(&c->text, text + at);
		c->len = stop - at;
		gc_store(&c->out, tables);
		go(map, c);
		started++;
		at = stop;
	}

	/* reduce: merge the tables as they come back */
	struct table *all = gc_new(&table_type);
	for (long i = 0; i < started; i++) {
		struct table *t;
		chan_recv(tables, &t);
		for (int b = 0; b < BUCKETS; b++)
			for (struct entry *e = t->bucket[b]; e; e = e->next)
				add(all, e->word, e->len, e->count);
	}

	/* check against one serial pass, then the three most frequent words */
	struct table *serial = count_words(text, len);
	long distinct = 0, bad = 0;
	struct entry *top[3] = { 0 };
	for (int b = 0; b < BUCKETS; b++) {
		for (struct entry *e = all->bucket[b]; e; e = e->next) {
			struct entry *s = serial->bucket[b];
			while (s && (s->len != e->len || memcmp(s->word, e->word, e->len) != 0))
				s = s->next;
			if (!s || s->count != e->count)
				bad++;
			distinct++;
			for (int k = 0; k < 3; k++) {
				if (!top[k] || e->count > top[k]->count) {
					memmove(&top[k + 1], &top[k], sizeof(top[0]) * (size_t)(2 - k));
					top[k] = e;
					break;
				}
			}
		}
	}
	printf("mapreduce: %ld words, %ld distinct, in %ld chunks over %u CPUs\n", all->words,
	       distinct, started, go_ncpu());
	for (int k = 0; k < 3 && top[k]; k++)
		printf("mapreduce: %.*s %ld\n", (int)top[k]->len, top[k]->word, top[k]->count);
	if (all->words != nwords || serial->words != nwords || bad || distinct != (long)NVOCAB) {
		printf("mapreduce: FAILED: %ld words (serial %ld), %ld counts differ\n", all->words,
		       serial->words, bad);
		return 1;
	}
	printf("mapreduce: every count agrees with the serial pass\n");
	return 0;
}
