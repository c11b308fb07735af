// CLuaShim: every piece of C that Lathe's Lua binding needs.
//
// The one rule: Lua raises errors with longjmp, and a longjmp must never cross a Swift frame.
// Swift binding functions therefore never raise. They return a status to the trampoline
// below, which raises the Lua error after the Swift frame has returned.
#ifndef LATHE_LUASHIM_H
#define LATHE_LUASHIM_H

#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>
#include <stddef.h>
#include <stdint.h>

// ---- State ------------------------------------------------------------------------------
// A new state with an allocator that aborts on out-of-memory (so allocation never longjmps
// out of Swift), a panic handler, and warnings switched on.
lua_State *lp_newstate(void);
// Closes a state made by lp_newstate and frees its allocator's pool.
void lp_close(lua_State *L);

// ---- Macro wrappers (macros do not import into Swift) --------------------------------------
int lp_pcall(lua_State *L, int nargs, int nresults, int msgh);
void lp_pop(lua_State *L, int n);
void lp_newtable(lua_State *L);
const char *lp_tostring(lua_State *L, int idx, size_t *len);
int lp_upvalueindex(int i);
int lp_registryindex(void);
void lp_insert(lua_State *L, int idx);
void lp_remove(lua_State *L, int idx);
void lp_replace(lua_State *L, int idx);
void lp_pushglobaltable(lua_State *L);
int lp_isinteger_value(lua_State *L, int idx, int64_t *out);
int lp_loadbuffer(lua_State *L, const char *buf, size_t len, const char *name);
// lua_gc is variadic in 5.4: these are its forms Lathe uses.
void lp_gc_step(lua_State *L, int kb);
void lp_gc_collect(lua_State *L);
int lp_gc_count_kb(lua_State *L);

// ---- Calling Swift from Lua: the trampoline ----------------------------------------------------
// A Swift binding: returns n >= 0 results, or
//   LP_RAISE       with the error message (a string) on top of the stack: the trampoline
//                  prefixes the caller's position (`file:line:`) and raises it;
//   LP_RAISE_AS_IS with any error value on top: raised unchanged (errors from nested Lua calls).
enum { LP_RAISE = -1, LP_RAISE_AS_IS = -2 };
typedef int (*lp_swift_fn)(lua_State *L, void *ctx);
typedef void (*lp_release_fn)(void *ctx);

// Pushes a Lua function that calls fn(L, ctx). `release(ctx)` runs when the function value is
// collected (or at lua_close).
void lp_pushfunction(lua_State *L, lp_swift_fn fn, void *ctx, lp_release_fn release);

// Counts Swift binding frames entered and not returned; non-zero after a call returns means a
// longjmp skipped a Swift frame. Tests assert it is 0.
long lp_swift_depth(void);
// The source of the Lua function at idx ("@path/file.lua", "=[C]"), or NULL for other values.
const char *lp_function_source(lua_State *L, int idx);

// ---- Swift objects as full userdata -------------------------------------------------------
// The block holds a retained pointer to a Swift object, its type tag, and its release fn.
// Metatables are registered per tag in the registry.
enum { LP_MAX_TAGS = 64 };
// Creates (or fetches) the metatable for `tag`, named `name`, and leaves it on the stack.
void lp_newmetatable(lua_State *L, int tag, const char *name);
// Pushes the metatable of `tag` (nil if not registered).
void lp_getmetatable_tag(lua_State *L, int tag);
// Pushes a new userdata for `ptr` with the metatable of `tag`, accounting `bytes` of memory
// outside Lua's heap: a full collection runs once such bytes pushed since the last one pass
// max(4 MiB, min(32 x Lua heap, 32 MiB), live bytes / 4), so garbage buffers stay bounded.
void lp_pushobject(lua_State *L, void *ptr, int tag, lp_release_fn release, size_t bytes);
// The object pointer at idx if it is a Lathe object with this tag, else NULL (never raises).
void *lp_toobject(lua_State *L, int idx, int tag);
// The tag of the Lathe object at idx, or -1.
int lp_objecttag(lua_State *L, int idx);
// __gc for Lathe objects: releases the Swift object once (the slot is cleared first).
int lp_object_gc(lua_State *L);
// Builds an __index function: upvalues (methods table, getters table, fallback function or
// nil). String keys look up methods (raw), then getters (called with the object); other keys
// go to the fallback(object, key).
void lp_push_index_dispatch(lua_State *L, int methods_idx, int getters_idx, int fallback_idx);

// ---- Calling Lua safely from Swift -------------------------------------------------------
// luaL_tolstring under a pcall (it can run __tostring / __name). Pushes the string and returns
// it, or returns NULL with the error message pushed.
const char *lp_safe_tolstring(lua_State *L, int idx, size_t *len);
// lua_gettable / lua_settable under pcall (they may run metamethods). Return LUA_OK or an
// error code with the message pushed in place of the result.
int lp_safe_gettable(lua_State *L, int idx);
int lp_safe_getfield(lua_State *L, int idx, const char *k);
int lp_safe_setfield(lua_State *L, int idx, const char *k);
// Message handler: appends a traceback to a string error (for pcall's msgh).
int lp_msghandler(lua_State *L);
// Runs the function below `narg` arguments in protected mode with a traceback handler and
// Ctrl-C handling (lua.c's docall). Returns the pcall status.
int lp_docall(lua_State *L, int narg, int nres);
// Same, without the traceback (used for nested calls from Swift).
int lp_call_protected(lua_State *L, int narg, int nres);

// ---- Ctrl-C ---------------------------------------------------------------------------------
// Installs the prompt-time handler: sets the interrupt flag only, no SA_RESTART, so a blocked
// read returns with EINTR.
void lp_install_prompt_sigint(void);
// Disarms a pending Ctrl-C (flag and Lua hook) after native code handled it itself.
void lp_consume_interrupt(lua_State *L);
// Restores the default SIGINT action.
void lp_restore_default_sigint(void);
// The state the run-time handler arms its hook on (set by lp_docall).
void lp_set_current_state(lua_State *L);
// While on (a hyperparameter search), the first Ctrl-C only asks to stop after the running
// trial (lp_stop_requested() becomes 1); a second one interrupts as usual. Off clears the request.
void lp_set_deferred_interrupt(int on);
int lp_stop_requested(void);

#endif
