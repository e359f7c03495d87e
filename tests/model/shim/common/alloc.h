/*
 * common/alloc.h for C code compiled into a model: the allocation calls
 * go to the model's allocator (model.hpp), which constructs the Relacy
 * atomics the C code atomic_init()s in the block and destroys them at
 * free. Found before src/common/alloc.h (tests/model/shim comes first on
 * the include path).
 */
#ifndef CREW_MODEL_SHIM_ALLOC_H
#define CREW_MODEL_SHIM_ALLOC_H

#include "model.hpp"

static inline crew_model::raw_memory crew_malloc(size_t size)
{
    return crew_model::allocate(size);
}

#define free(p) crew_model::release(p)

#endif
