#define _GNU_SOURCE
#include "LuaShim.h"
#include "CLatheCore.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

// ---- State ------------------------------------------------------------------------------
// Lua's allocator. Small blocks (the userdata of every tensor, short strings, small tables)
// come from per-size free lists: the collector frees them in bursts, which otherwise sends
// glibc's malloc through its slow consolidation path on every other allocation. Memory in the
// free lists is reused, never returned (it stays small).
//
// Out of memory: Lua raises LUA_ERRMEM (a longjmp) when its allocator returns NULL, which is
// safe only when no Swift frame lies between the allocation and the protected call that will
// catch it. `unwind_blockers` counts the Swift frames entered since the innermost protected
// call made from C (the trampoline enters Swift; lp_call_protected and friends start a fresh
// count); at zero the allocator returns NULL and Lua reports "not enough memory" as stock Lua
// does; otherwise it aborts, since Swift pushing a result cannot be unwound.
#define LP_POOL_CLASSES 16      // 16, 32, ..., 256 bytes
#define LP_POOL_CHUNK (64 * 1024)
typedef struct lp_free { struct lp_free *next; } lp_free;
// One pool per Lua state (a state is used by one thread at a time; states may live on
// different threads, as the tests do).
typedef struct {
    lp_free *heads[LP_POOL_CLASSES];
    char *cursor, *end;
    void **chunks;
    int nchunks, cap;
    // registry references of the class metatables, by tag (0 = not made yet): pushing an
    // object's metatable is then one array-part lookup in the registry
    int mt_ref[LP_MAX_TAGS];
    // memory held outside the Lua heap by live objects (tensor buffers...), and how much of it
    // was allocated since the last collection the shim asked for (see lp_pushobject)
    size_t ext_live, ext_pending;
    // objects pushed since the collector last ran a step for them (see lp_pushobject)
    unsigned objs_pending;
} lp_pool;

static _Thread_local long unwind_blockers = 0;

static void lp_oom(void) {
    static const char msg[] = "lathe: out of memory in the Lua heap while Swift code was running\n";
    ssize_t w = write(2, msg, sizeof msg - 1);
    (void)w;
    abort();
}

// NULL (Lua raises "not enough memory") when that unwinds no Swift frame, else abort.
static void *lp_alloc_failed(void) {
    if (unwind_blockers != 0) lp_oom();
    return NULL;
}

static inline int pool_class(size_t n) { return (int)((n + 15) / 16) - 1; }

static void *pool_get(lp_pool *pl, int c) {
    lp_free *f = pl->heads[c];
    if (f) {
        pl->heads[c] = f->next;
        return f;
    }
    size_t sz = (size_t)(c + 1) * 16;
    if (!pl->cursor || pl->cursor + sz > pl->end) {
        if (pl->nchunks == pl->cap) {
            int ncap = pl->cap ? pl->cap * 2 : 16;
            void **nc = realloc(pl->chunks, sizeof(void *) * (size_t)ncap);
            if (!nc) return NULL;
            pl->chunks = nc;
            pl->cap = ncap;
        }
        char *chunk = malloc(LP_POOL_CHUNK);
        if (!chunk) return NULL;
        pl->cursor = chunk;
        pl->chunks[pl->nchunks++] = pl->cursor;
        pl->end = pl->cursor + LP_POOL_CHUNK;
    }
    void *p = pl->cursor;
    pl->cursor += sz;
    return p;
}

static inline void pool_put(lp_pool *pl, void *p, int c) {
    lp_free *f = (lp_free *)p;
    f->next = pl->heads[c];
    pl->heads[c] = f;
}

// Lua tells the old size of every block it frees or resizes (osize), so the pool knows where a
// block came from. For new blocks (ptr == NULL) osize encodes the object type, not a size.
static void *lp_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
    lp_pool *pl = (lp_pool *)ud;
    int small_old = ptr && osize > 0 && osize <= LP_POOL_CLASSES * 16;
    if (nsize == 0) {
        if (ptr) {
            if (small_old) pool_put(pl, ptr, pool_class(osize)); else free(ptr);
        }
        return NULL;
    }
    int small_new = nsize <= LP_POOL_CLASSES * 16;
    if (!ptr) {
        void *p = small_new ? pool_get(pl, pool_class(nsize)) : malloc(nsize);
        return p ? p : lp_alloc_failed();
    }
    if (small_old && small_new && pool_class(osize) == pool_class(nsize)) return ptr;
    void *p = small_new ? pool_get(pl, pool_class(nsize)) : malloc(nsize);
    if (!p) {
        if (nsize <= osize) return ptr;  // Lua assumes shrinking never fails: keep the block
        return lp_alloc_failed();
    }
    memcpy(p, ptr, osize < nsize ? osize : nsize);
    if (small_old) pool_put(pl, ptr, pool_class(osize)); else free(ptr);
    return p;
}

void lp_close(lua_State *L) {
    void *ud = NULL;
    lua_getallocf(L, &ud);
    lua_close(L);
    lp_pool *pl = (lp_pool *)ud;
    if (pl) {
        for (int i = 0; i < pl->nchunks; i++) free(pl->chunks[i]);
        free(pl->chunks);
        free(pl);
    }
}

static int lp_panic(lua_State *L) {
    const char *msg = lua_tostring(L, -1);
    fprintf(stderr, "lathe: unprotected Lua error: %s\n", msg ? msg : "(error object is not a string)");
    fflush(stderr);
    abort();
    return 0;
}

// Warnings: "@on"/"@off" control messages as in lua.c, on by default because errors in
// __gc metamethods become warnings in 5.4.
typedef struct { int on; int cont; } lp_warnstate;
static void lp_warnf(void *ud, const char *msg, int tocont) {
    lp_warnstate *ws = (lp_warnstate *)ud;
    if (!ws->cont && msg[0] == '@') {
        if (strcmp(msg, "@off") == 0) ws->on = 0;
        else if (strcmp(msg, "@on") == 0) ws->on = 1;
        return;
    }
    if (ws->on) {
        if (!ws->cont) fputs("warning: ", stderr);
        fputs(msg, stderr);
        if (!tocont) fputc('\n', stderr);
        fflush(stderr);
    }
    ws->cont = tocont;
}

lua_State *lp_newstate(void) {
    lp_pool *pl = calloc(1, sizeof(lp_pool));
    if (!pl) return NULL;
    lua_State *L = lua_newstate(lp_alloc, pl);
    if (!L) {
        free(pl);
        return NULL;
    }
    lua_atpanic(L, lp_panic);
    lp_warnstate *ws = (lp_warnstate *)lua_newuserdatauv(L, sizeof(lp_warnstate), 0);
    ws->on = 1;
    ws->cont = 0;
    // keep the warn state alive in the registry
    lua_setfield(L, LUA_REGISTRYINDEX, "lathe.warnstate");
    lua_setwarnf(L, lp_warnf, ws);
    // The generational collector. Every Lathe object has a finalizer, so garbage lives one
    // cycle longer, and the incremental collector fell behind loops of small temporaries: at
    // its default pause the heap grew every cycle, and at a shorter one it still crept once
    // the live heap held a few MB of tables. Generational collection keeps such loops' heap
    // small at the same cost per op. Scripts may switch with collectgarbage("incremental").
    lua_gc(L, LUA_GCGEN, 0, 0);
    return L;
}

// ---- Macro wrappers ---------------------------------------------------------------------------
static int protected_pcall(lua_State *L, int narg, int nres, int msgh);
int lp_pcall(lua_State *L, int nargs, int nresults, int msgh) { return protected_pcall(L, nargs, nresults, msgh); }
void lp_pop(lua_State *L, int n) { lua_pop(L, n); }
void lp_newtable(lua_State *L) { lua_newtable(L); }
const char *lp_tostring(lua_State *L, int idx, size_t *len) { return lua_tolstring(L, idx, len); }
int lp_upvalueindex(int i) { return lua_upvalueindex(i); }
int lp_registryindex(void) { return LUA_REGISTRYINDEX; }
void lp_insert(lua_State *L, int idx) { lua_insert(L, idx); }
void lp_remove(lua_State *L, int idx) { lua_remove(L, idx); }
void lp_replace(lua_State *L, int idx) { lua_replace(L, idx); }
void lp_pushglobaltable(lua_State *L) { lua_pushglobaltable(L); }
int lp_isinteger_value(lua_State *L, int idx, int64_t *out) {
    int isnum = 0;
    lua_Integer v = lua_tointegerx(L, idx, &isnum);
    if (isnum && out) *out = (int64_t)v;
    return isnum;
}
int lp_loadbuffer(lua_State *L, const char *buf, size_t len, const char *name) {
    return luaL_loadbufferx(L, buf, len, name, NULL);
}
void lp_gc_step(lua_State *L, int kb) { lua_gc(L, LUA_GCSTEP, kb); }
void lp_gc_collect(lua_State *L) { lua_gc(L, LUA_GCCOLLECT, 0); }
int lp_gc_count_kb(lua_State *L) { return lua_gc(L, LUA_GCCOUNT, 0); }

// ---- Trampoline ---------------------------------------------------------------------------------
typedef struct {
    lp_swift_fn fn;
    void *ctx;
    lp_release_fn release;
} lp_fnbox;

// Swift frames on this thread's stack (a Lua state runs on one thread at a time); plain
// thread-local arithmetic, since an atomic read-modify-write costs more than a whole small call.
static _Thread_local long swift_depth = 0;
long lp_swift_depth(void) { return swift_depth; }

const char *lp_function_source(lua_State *L, int idx) {
    if (lua_type(L, idx) != LUA_TFUNCTION) return NULL;
    lua_Debug ar;
    lua_pushvalue(L, idx);
    if (!lua_getinfo(L, ">S", &ar)) return NULL;
    return ar.source;  // interned in the function's prototype, alive while the function is
}

static int lp_trampoline(lua_State *L) {
    lp_fnbox *b = (lp_fnbox *)lua_touserdata(L, lua_upvalueindex(1));
    swift_depth++;
    unwind_blockers++;
    int n = b->fn(L, b->ctx);  // Swift runs and RETURNS here
    unwind_blockers--;
    swift_depth--;
    if (n >= 0) return n;
    if (n == LP_RAISE && lua_type(L, -1) == LUA_TSTRING) {
        luaL_where(L, 1);
        lua_insert(L, -2);
        lua_concat(L, 2);
    }
    return lua_error(L);  // only C frames between here and the pcall
}

static int lp_fnbox_gc(lua_State *L) {
    lp_fnbox *b = (lp_fnbox *)lua_touserdata(L, 1);
    if (b && b->release && b->ctx) {
        void *ctx = b->ctx;
        b->ctx = NULL;
        b->release(ctx);
    }
    return 0;
}

void lp_pushfunction(lua_State *L, lp_swift_fn fn, void *ctx, lp_release_fn release) {
    lp_fnbox *b = (lp_fnbox *)lua_newuserdatauv(L, sizeof(lp_fnbox), 0);
    b->fn = fn;
    b->ctx = ctx;
    b->release = release;
    if (luaL_newmetatable(L, "lathe.fnbox")) {
        lua_pushcfunction(L, lp_fnbox_gc);
        lua_setfield(L, -2, "__gc");
    }
    lua_setmetatable(L, -2);
    lua_pushcclosure(L, lp_trampoline, 1);
}

// ---- Objects --------------------------------------------------------------------------------------
#define LP_OBJ_MAGIC 0x4c41544845u  // "LATHE"
typedef struct {
    uint64_t magic;
    void *ptr;
    lp_release_fn release;
    size_t bytes;    // accounted in the pool's ext_live until finalized
    int tag;
} lp_obj;

static lp_pool *state_pool(lua_State *L) {
    void *ud = NULL;
    lua_getallocf(L, &ud);
    return (lp_pool *)ud;
}

void lp_newmetatable(lua_State *L, int tag, const char *name) {
    lp_pool *pl = state_pool(L);
    if (pl->mt_ref[tag] > 0) {
        lua_rawgeti(L, LUA_REGISTRYINDEX, pl->mt_ref[tag]);
        return;
    }
    luaL_newmetatable(L, name);  // also sets __name
    lua_pushcfunction(L, lp_object_gc);
    lua_setfield(L, -2, "__gc");
    lua_pushvalue(L, -1);
    pl->mt_ref[tag] = luaL_ref(L, LUA_REGISTRYINDEX);
}

void lp_getmetatable_tag(lua_State *L, int tag) {
    lp_pool *pl = state_pool(L);
    if (pl->mt_ref[tag] > 0) lua_rawgeti(L, LUA_REGISTRYINDEX, pl->mt_ref[tag]);
    else lua_pushnil(L);
}

// Lua cannot see the buffers Swift objects hold, so the shim counts them and runs a full
// collection each time the objects pushed since the last one hold more than
//   max(4 MiB, min(32 x the Lua heap, 32 MiB), a quarter of what live objects hold).
// A collection costs about the Lua heap's size, so the 32x term bounds that cost per byte of
// tensors when scripts keep bigger Lua tables, and the 32 MiB cap bounds the garbage such
// scripts let pile up; the 4 MiB floor returns garbage buffers to the block cache while they
// are still in the L2/L3 caches; the last term keeps collections rare when the live tensors
// (model weights) are big. The floor stays low because a small tensor can hold a whole
// autograd graph (the bytes counted are a lower bound): a high floor let training runs grow by
// gigabytes. Collecting on every object, or a GC step hint per object (which ran a whole cycle
// on almost every tensor of 4 KiB or more, the heap being small), cost a large share of each op.
#define LP_EXT_FLOOR ((size_t)4 << 20)
#define LP_EXT_CAP ((size_t)32 << 20)
void lp_pushobject(lua_State *L, void *ptr, int tag, lp_release_fn release, size_t bytes) {
    lp_obj *o = (lp_obj *)lua_newuserdatauv(L, sizeof(lp_obj), 0);
    o->magic = LP_OBJ_MAGIC;
    o->ptr = ptr;
    o->release = release;
    o->bytes = bytes;
    o->tag = tag;
    lp_getmetatable_tag(L, tag);
    lua_setmetatable(L, -2);
    lp_pool *pl = state_pool(L);
    pl->ext_live += bytes;
    pl->ext_pending += bytes;
    // Many small objects (4-element tensors) hold few bytes, and when big live tensors raise the
    // byte limit below, only Lua's own pacing collects them; its generational mode lets
    // finalized userdata pile up until a major collection (tens of MB). A collector step per
    // 64K objects keeps that garbage young.
    if (++pl->objs_pending >= 65536) {
        pl->objs_pending = 0;
        if (lua_gc(L, LUA_GCISRUNNING)) lua_gc(L, LUA_GCSTEP, 0);
    }
    if (pl->ext_pending < LP_EXT_FLOOR) return;
    size_t heap = (size_t)lua_gc(L, LUA_GCCOUNT) * 1024 + (size_t)lua_gc(L, LUA_GCCOUNTB);
    size_t limit = 32 * heap < LP_EXT_CAP ? 32 * heap : LP_EXT_CAP;
    if (limit < LP_EXT_FLOOR) limit = LP_EXT_FLOOR;
    if (pl->ext_live / 4 > limit) limit = pl->ext_live / 4;
    if (pl->ext_pending >= limit) {
        pl->ext_pending = 0;
        // not when a script stopped the collector; a no-op (-1) inside a finalizer
        if (lua_gc(L, LUA_GCISRUNNING)) lua_gc(L, LUA_GCCOLLECT);
    }
}

static lp_obj *lp_toobj(lua_State *L, int idx) {
    if (lua_type(L, idx) != LUA_TUSERDATA) return NULL;
    if (lua_rawlen(L, idx) != sizeof(lp_obj)) return NULL;
    lp_obj *o = (lp_obj *)lua_touserdata(L, idx);
    if (!o || o->magic != LP_OBJ_MAGIC) return NULL;
    return o;
}

void *lp_toobject(lua_State *L, int idx, int tag) {
    lp_obj *o = lp_toobj(L, idx);
    if (!o || o->tag != tag) return NULL;
    return o->ptr;
}

int lp_objecttag(lua_State *L, int idx) {
    lp_obj *o = lp_toobj(L, idx);
    if (!o || !o->ptr) return -1;
    return o->tag;
}

int lp_object_gc(lua_State *L) {
    lp_obj *o = lp_toobj(L, 1);
    if (o && o->ptr) {
        void *p = o->ptr;
        o->ptr = NULL;  // take: a resurrected or re-finalized object is inert
        lp_pool *pl = state_pool(L);
        pl->ext_live -= o->bytes < pl->ext_live ? o->bytes : pl->ext_live;
        if (o->release) o->release(p);
    }
    return 0;
}

static int lp_index_dispatch(lua_State *L) {
    // 1 = object, 2 = key
    if (lua_type(L, 2) == LUA_TSTRING) {
        lua_pushvalue(L, 2);
        if (lua_rawget(L, lua_upvalueindex(1)) != LUA_TNIL) return 1;
        lua_pop(L, 1);
        lua_pushvalue(L, 2);
        if (lua_rawget(L, lua_upvalueindex(2)) != LUA_TNIL) {
            lua_pushvalue(L, 1);
            lua_call(L, 1, 1);
            return 1;
        }
        lua_pop(L, 1);
    }
    if (lua_type(L, lua_upvalueindex(3)) == LUA_TFUNCTION) {
        lua_pushvalue(L, lua_upvalueindex(3));
        lua_pushvalue(L, 1);
        lua_pushvalue(L, 2);
        lua_call(L, 2, 1);
        return 1;
    }
    lua_pushnil(L);
    return 1;
}

void lp_push_index_dispatch(lua_State *L, int methods_idx, int getters_idx, int fallback_idx) {
    methods_idx = lua_absindex(L, methods_idx);
    getters_idx = lua_absindex(L, getters_idx);
    fallback_idx = lua_absindex(L, fallback_idx);
    lua_pushvalue(L, methods_idx);
    lua_pushvalue(L, getters_idx);
    lua_pushvalue(L, fallback_idx);
    lua_pushcclosure(L, lp_index_dispatch, 3);
}

// ---- Safe calls ---------------------------------------------------------------------------------
// lua_pcall from C called by Swift: errors inside unwind only to here, so the Swift frames
// below do not block an out-of-memory error inside.
static int protected_pcall(lua_State *L, int narg, int nres, int msgh) {
    long saved = unwind_blockers;
    unwind_blockers = 0;
    int st = lua_pcall(L, narg, nres, msgh);
    unwind_blockers = saved;
    return st;
}

static int p_tolstring(lua_State *L) {
    luaL_tolstring(L, 1, NULL);
    return 1;
}
const char *lp_safe_tolstring(lua_State *L, int idx, size_t *len) {
    idx = lua_absindex(L, idx);
    lua_pushcfunction(L, p_tolstring);
    lua_pushvalue(L, idx);
    if (protected_pcall(L, 1, 1, 0) != LUA_OK) {
        if (len) *len = 0;
        return NULL;
    }
    return lua_tolstring(L, -1, len);
}

static int p_gettable(lua_State *L) {  // (t, k) -> t[k]
    lua_gettable(L, 1);
    return 1;
}
int lp_safe_gettable(lua_State *L, int idx) {
    // key on top; replaced by the value (or the error message)
    idx = lua_absindex(L, idx);
    lua_pushcfunction(L, p_gettable);
    lua_pushvalue(L, idx);
    lua_rotate(L, -3, -1);  // key, f, t -> f, t, key
    lua_rotate(L, -3, -1);
    return protected_pcall(L, 2, 1, 0);
}
int lp_safe_getfield(lua_State *L, int idx, const char *k) {
    idx = lua_absindex(L, idx);
    lua_pushstring(L, k);
    return lp_safe_gettable(L, idx);
}
static int p_settable(lua_State *L) {  // (t, k, v)
    lua_settable(L, 1);
    return 0;
}
int lp_safe_setfield(lua_State *L, int idx, const char *k) {
    // value on top; consumed. Returns status; on error the message is pushed.
    idx = lua_absindex(L, idx);
    lua_pushcfunction(L, p_settable);  // v f
    lua_insert(L, -2);                 // f v
    lua_pushvalue(L, idx);             // f v t
    lua_insert(L, -2);                 // f t v
    lua_pushstring(L, k);              // f t v k
    lua_insert(L, -2);                 // f t k v
    int st = protected_pcall(L, 3, 0, 0);
    return st;
}

int lp_msghandler(lua_State *L) {
    const char *msg = lua_tostring(L, 1);
    if (msg == NULL) {
        if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING) return 1;
        msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
    }
    luaL_traceback(L, L, msg, 1);
    return 1;
}

// ---- Ctrl-C -----------------------------------------------------------------------------------------
static lua_State *volatile current_L = NULL;
void lp_set_current_state(lua_State *L) { current_L = L; }

static void lstop(lua_State *L, lua_Debug *ar) {
    (void)ar;
    lua_sethook(L, NULL, 0, 0);
    lk_interrupt_clear();
    luaL_error(L, "interrupted!");
}

// Ctrl-C while code runs. Lua code stops at its next instruction (the hook); Swift work stops
// at its next safe point (a training step ends, a checkpoint is written). Unlike lua.c, a
// second Ctrl-C does not kill the process: that would lose every variable of the session and
// the checkpoint. It says again what is happening; Ctrl-\ (SIGQUIT) is the way out.
static volatile sig_atomic_t defer_mode = 0, stop_requested = 0;
void lp_set_deferred_interrupt(int on) { defer_mode = on; if (!on) stop_requested = 0; }
int lp_stop_requested(void) { return stop_requested; }

static void laction(int sig) {
    (void)sig;
    int flag = LUA_MASKCALL | LUA_MASKRET | LUA_MASKLINE | LUA_MASKCOUNT;
    // a search (tune) lets its running trial finish on the first Ctrl-C; the second stops it
    if (defer_mode && !stop_requested) {
        static const char later[] = "\ninterrupt: the search stops when this trial ends (Ctrl-C again stops the trial now)\n";
        int saved0 = errno;
        ssize_t w0 = write(2, later, sizeof later - 1);
        (void)w0;
        errno = saved0;
        stop_requested = 1;
        return;
    }
    static const char first[] = "\ninterrupt: stopping at the next safe point (training finishes its current step and saves)\n";
    static const char again[] = "\ninterrupt: still stopping; the running step must finish first (Ctrl-\\ quits at once, losing the session)\n";
    int saved = errno;
    ssize_t w = lk_interrupt_pending() ? write(2, again, sizeof again - 1) : write(2, first, sizeof first - 1);
    (void)w;
    errno = saved;
    lk_interrupt_set();
    if (current_L) lua_sethook(current_L, lstop, flag, 1);
}

static void prompt_action(int sig) {
    (void)sig;
    lk_interrupt_set();
}

void lp_install_prompt_sigint(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = prompt_action;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;  // no SA_RESTART: a blocked read returns EINTR
    sigaction(SIGINT, &sa, NULL);
}

void lp_restore_default_sigint(void) { signal(SIGINT, SIG_DFL); }


void lp_consume_interrupt(lua_State *L) {
    lua_sethook(L, NULL, 0, 0);
    lk_interrupt_clear();
}

static int docall_impl(lua_State *L, int narg, int nres, int traceback) {
    int base = lua_gettop(L) - narg;
    if (traceback) {
        lua_pushcfunction(L, lp_msghandler);
        lua_insert(L, base);
    }
    lp_set_current_state(L);
    lk_interrupt_clear();
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = laction;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;
    sigaction(SIGINT, &sa, &old);
    int status = protected_pcall(L, narg, nres, traceback ? base : 0);
    sigaction(SIGINT, &old, NULL);
    lua_sethook(L, NULL, 0, 0);  // clear a hook armed while native code ran
    lk_interrupt_clear();
    if (traceback) lua_remove(L, base);
    return status;
}

int lp_docall(lua_State *L, int narg, int nres) { return docall_impl(L, narg, nres, 1); }

int lp_call_protected(lua_State *L, int narg, int nres) { return protected_pcall(L, narg, nres, 0); }
