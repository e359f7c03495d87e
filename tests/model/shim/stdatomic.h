/*
 * <stdatomic.h> for C code compiled into a model (C++): every C11 atomic
 * becomes a Relacy atomic, and every atomic access a Relacy operation
 * with the very memory order written in the C source. Only what the
 * compiled sources use is here; anything else fails to compile, which is
 * the point (no access can slip past the model unmodelled).
 *
 * Found before the system's header because tests/model/shim comes first
 * on the include path of the models that compile C sources.
 */
#ifndef CREW_MODEL_SHIM_STDATOMIC_H
#define CREW_MODEL_SHIM_STDATOMIC_H

#include "model.hpp"

#define _Atomic(T) rl::atomic<T>
#define _Alignas(n) alignas(n)

#define memory_order_relaxed rl::mo_relaxed
#define memory_order_consume rl::mo_consume
#define memory_order_acquire rl::mo_acquire
#define memory_order_release rl::mo_release
#define memory_order_acq_rel rl::mo_acq_rel
#define memory_order_seq_cst rl::mo_seq_cst

#define atomic_init(p, v) crew_model::atomic_init_at((p), (v))
#define atomic_load_explicit(p, mo) ((p)->load((mo), $))
#define atomic_store_explicit(p, v, mo) ((p)->store((v), (mo), $))
#define atomic_exchange_explicit(p, v, mo) ((p)->exchange((v), (mo), $))
#define atomic_fetch_add_explicit(p, v, mo) ((p)->fetch_add((v), (mo), $))
#define atomic_fetch_sub_explicit(p, v, mo) ((p)->fetch_sub((v), (mo), $))
#define atomic_compare_exchange_strong_explicit(p, e, d, s, f)                  \
    ((p)->compare_exchange_strong(*(e), (d), (s), $, (f), $))
#define atomic_compare_exchange_weak_explicit(p, e, d, s, f)                    \
    ((p)->compare_exchange_weak(*(e), (d), (s), $, (f), $))
#define atomic_thread_fence(mo) rl::atomic_thread_fence((mo), $)

#endif
