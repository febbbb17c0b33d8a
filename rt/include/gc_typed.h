/*
 * gc_typed.h: typed allocation of the Boehm-style interface (gc.h): a bitmap of the
 * words of an object that hold pointers, made once into a descriptor, then objects
 * allocated with it scanned precisely (this runtime's typed objects, rt/gc.h).
 *
 *   GC_WORD_LEN(T), GC_BITMAP_SIZE(T), GC_set_bit(bm, i), GC_get_bit(bm, i)
 *   GC_make_descriptor(bm, len)        bm: len words, bit i set when word i is a pointer
 *   GC_malloc_explicitly_typed(n, d)   n bytes, zeroed, scanned by d; n larger than the
 *                                      descriptor's words: allocated untyped (scanned
 *                                      conservatively), never lost
 *   GC_calloc_explicitly_typed(k, n, d)  k elements of n bytes each, each scanned by d
 *
 * A descriptor is permanent (like Boehm's): make one per type, not per object.
 */
#ifndef GC_TYPED_H
#define GC_TYPED_H

#include "gc.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef GC_word *GC_bitmap;
typedef GC_word GC_descr;

#define GC_WORDSZ (8 * sizeof(GC_word))
#define GC_get_bit(bm, index) (((bm)[(index) / GC_WORDSZ] >> ((index) % GC_WORDSZ)) & 1)
#define GC_set_bit(bm, index) ((bm)[(index) / GC_WORDSZ] |= (GC_word)1 << ((index) % GC_WORDSZ))
#define GC_WORD_OFFSET(t, f) (offsetof(t, f) / sizeof(GC_word))
#define GC_WORD_LEN(t) (sizeof(t) / sizeof(GC_word))
#define GC_BITMAP_SIZE(t) ((GC_WORD_LEN(t) + GC_WORDSZ - 1) / GC_WORDSZ)

GC_API GC_descr GC_make_descriptor(const GC_word *bm, size_t len);
GC_API GC_ATTR_MALLOC void *GC_malloc_explicitly_typed(size_t, GC_descr);
GC_API GC_ATTR_MALLOC void *GC_malloc_explicitly_typed_ignore_off_page(size_t, GC_descr);
GC_API GC_ATTR_MALLOC void *GC_calloc_explicitly_typed(size_t nelements, size_t element_size, GC_descr);

#define GC_MALLOC_EXPLICITLY_TYPED(bytes, d) GC_malloc_explicitly_typed(bytes, d)
#define GC_CALLOC_EXPLICITLY_TYPED(n, bytes, d) GC_calloc_explicitly_typed(n, bytes, d)

#ifdef __cplusplus
}
#endif

#endif
