/*
 * The injection queue (src/scheduler/injector.c), transcribed for the
 * models: push, slot_copy, try_pop, crew_injector_pop_batch and
 * crew_injector_empty, statement by statement, with the C code's orders
 * (its tags, model_orders.h) and constants (CREW_INJ_LAP, CREW_INJ_SLOTS,
 * WRITTEN, CLOSED, copied from the sources).
 *
 * Two simplifications, both about memory rather than ordering:
 *  - A segment carries a window of WINDOW slots instead of all 63 (63
 *    slots of five atomics would cost Relacy more per iteration than the
 *    rest of a model together). A queue starts at a chosen position, so a
 *    model with a few items can still cross a segment's end: started at
 *    offset 61, the second push takes the last slot (62) and installs the
 *    next segment, the third lands at the next lap's offset 0. Slots
 *    outside the window are one blank slot, never written (asserted).
 *  - Segments come from a fixed array and are never reused (the C code
 *    recycles one through the object pool once its 63 slots are
 *    consumed: a lap of 63 pushes, beyond a model's reach). So a stale
 *    consumer's reads of a recycled segment are not explored; they are
 *    reads of atomics whose result the failing CAS on head discards.
 */
#ifndef CREW_MODEL_INJECTOR_HPP
#define CREW_MODEL_INJECTOR_HPP

#include "model.hpp"

#include <cstdint>

#include "model_orders.h"

namespace crew_model {

const unsigned INJ_WINDOW = 2;
const int INJ_SEGMENTS = 3;

struct inj_item {
    void *fn;
    void *arg;
    void *ref;
    uintptr_t kind;
};

struct inj_slot {
    rl::atomic<void *> fn;
    rl::atomic<void *> arg;
    rl::atomic<void *> ref;
    rl::atomic<uintptr_t> kind;
    rl::atomic<uint32_t> state;
};

struct inj_segment {
    rl::atomic<inj_segment *> next;
    unsigned base; /* the offset of window[0] */
    inj_slot window[INJ_WINDOW];
    /* Every slot outside the window: one never written since the
     * segment's reset (state 0), which is what such a slot of the C code's
     * segment is in a model's few pushes. Consumers may read it (a stale
     * head index paired with the next segment); producers never write it. */
    inj_slot blank;
    bool handed_out; /* ghost: given by segment_get */

    inj_slot *slot(unsigned off)
    {
        return off >= base && off < base + INJ_WINDOW ? &window[off - base] : &blank;
    }

    inj_slot *slot_to_write(unsigned off)
    {
        RL_ASSERT(off >= base && off < base + INJ_WINDOW); /* outside the model's window */
        return &window[off - base];
    }
};

struct inj_end {
    rl::atomic<uint64_t> index;
    rl::atomic<inj_segment *> seg;
};

struct injector {
    inj_end head;
    inj_end tail;
    inj_segment segs[INJ_SEGMENTS];
    int used = 0; /* segments handed out (ghost allocator state) */

    /* The queue at position `start` (a lap * 64 + offset), its segment's
     * window covering the offsets from there on. */
    void init(uint64_t start)
    {
        /* The segments' memory, as the object pool hands it out: words
         * that segment_get does not reset hold what they held (zero). */
        for (inj_segment &g : segs) {
            g.handed_out = false;
            g.next.store(NULL, rl::mo_relaxed, $);
            for (unsigned i = 0; i <= INJ_WINDOW; i++) {
                inj_slot *x = i < INJ_WINDOW ? &g.window[i] : &g.blank;
                x->fn.store(NULL, rl::mo_relaxed, $);
                x->arg.store(NULL, rl::mo_relaxed, $);
                x->ref.store(NULL, rl::mo_relaxed, $);
                x->kind.store(0, rl::mo_relaxed, $);
                x->state.store(0, rl::mo_relaxed, $);
            }
        }
        inj_segment *s = segment_get((unsigned)(start % CREW_INJ_LAP));
        head.index.store(start, rl::mo_relaxed, $);
        head.seg.store(s, rl::mo_relaxed, $);
        tail.index.store(start, rl::mo_relaxed, $);
        tail.seg.store(s, rl::mo_relaxed, $);
    }

    /* segment_get: a reset segment (a new one: see the header). */
    inj_segment *segment_get(unsigned base = 0)
    {
        RL_ASSERT(used < INJ_SEGMENTS);
        inj_segment *s = &segs[used++];
        s->base = base;
        s->handed_out = true;
        s->next.store(NULL, MO_STORE(inj_segment_next));
        for (unsigned i = 0; i <= INJ_WINDOW; i++)
            (i < INJ_WINDOW ? &s->window[i] : &s->blank)->state.store(0, MO_STORE(inj_segment_state));
        return s;
    }

    void segment_put(inj_segment *s)
    {
        RL_ASSERT(s->handed_out);
        s->handed_out = false;
    }

    static void pause_briefly() { rl::yield(1, $); }

    /* push */
    int push(const inj_item *item, uint64_t closed_mask)
    {
        inj_segment *next = NULL;
        for (;;) {
            uint64_t t = tail.index.load(MO_LOAD(inj_push_tail));
            if (t & closed_mask) {
                if (next != NULL)
                    segment_put(next);
                return ESHUTDOWN;
            }
            inj_segment *s = tail.seg.load(MO_LOAD(inj_push_seg));
            unsigned off = (unsigned)((t & ~CLOSED) % CREW_INJ_LAP);
            if (off == CREW_INJ_SLOTS) {
                pause_briefly();
                continue;
            }
            if (off + 1 == CREW_INJ_SLOTS && next == NULL) {
                next = segment_get();
                if (next == NULL)
                    return ENOMEM;
            }
            if (!tail.index.compare_exchange_weak(t, t + 1, MO_CAS(inj_push_claim)))
                continue;
            if (off + 1 == CREW_INJ_SLOTS) {
                tail.seg.store(next, MO_STORE(inj_push_install_seg));
                tail.index.fetch_add(1, MO_RMW(inj_push_install_index));
                s->next.store(next, MO_STORE(inj_push_link));
                next = NULL;
            }
            inj_slot *slot = s->slot_to_write(off);
            slot->fn.store(item->fn, MO_STORE(inj_push_fn));
            slot->arg.store(item->arg, MO_STORE(inj_push_arg));
            slot->ref.store(item->ref, MO_STORE(inj_push_ref));
            slot->kind.store(item->kind, MO_STORE(inj_push_kind));
            slot->state.store(WRITTEN, MO_STORE(inj_push_written));
            if (next != NULL)
                segment_put(next);
            return 0;
        }
    }

    static void slot_copy(inj_slot *slot, inj_item *out)
    {
        out->fn = slot->fn.load(MO_LOAD(inj_copy_fn));
        out->arg = slot->arg.load(MO_LOAD(inj_copy_arg));
        out->ref = slot->ref.load(MO_LOAD(inj_copy_ref));
        out->kind = slot->kind.load(MO_LOAD(inj_copy_kind));
    }

    /* try_pop */
    int try_pop(inj_item *out, unsigned max, unsigned share)
    {
        uint64_t h = head.index.load(MO_LOAD(inj_pop_head));
        inj_segment *s = head.seg.load(MO_LOAD(inj_pop_seg));
        unsigned off = (unsigned)(h % CREW_INJ_LAP);
        if (off == CREW_INJ_SLOTS)
            return -1;
        unsigned run = 0;
        if (s->slot(off)->state.load(MO_LOAD(inj_pop_first)) & WRITTEN) {
            run = 1;
            while (run < max && off + run < CREW_INJ_SLOTS &&
                   (s->slot(off + run)->state.load(MO_LOAD(inj_pop_run)) & WRITTEN))
                run++;
        }
        if (run == 0)
            return 0;
        unsigned n = share > 1 ? 1 + (run - 1) / share : run;
        for (unsigned i = 0; i < n; i++)
            slot_copy(s->slot(off + i), &out[i]);
        if (!head.index.compare_exchange_strong(h, h + n, MO_CAS(inj_pop_claim)))
            return -1;
        if (off + n == CREW_INJ_SLOTS) {
            inj_segment *next = s->next.load(MO_LOAD(inj_pop_next));
            head.seg.store(next, MO_STORE(inj_pop_move_seg));
            head.index.store(h + n + 1, MO_STORE(inj_pop_move_index));
            segment_put(s);
        }
        return (int)n;
    }

    /* crew_injector_pop_batch */
    unsigned pop_batch(inj_item *out, unsigned max, unsigned share)
    {
        for (;;) {
            int r = try_pop(out, max, share);
            if (r >= 0)
                return (unsigned)r;
            pause_briefly();
        }
    }

    /* crew_injector_empty */
    int empty()
    {
        for (int tries = 0; tries < 4; tries++) {
            uint64_t h = head.index.load(MO_LOAD(inj_empty_head));
            inj_segment *s = head.seg.load(MO_LOAD(inj_empty_seg));
            unsigned off = (unsigned)(h % CREW_INJ_LAP);
            if (off == CREW_INJ_SLOTS)
                continue;
            uint32_t state = s->slot(off)->state.load(MO_LOAD(inj_empty_state));
            if (head.index.load(MO_LOAD(inj_empty_recheck)) != h)
                continue;
            return !(state & WRITTEN);
        }
        return 0;
    }
};

} // namespace crew_model

#endif
