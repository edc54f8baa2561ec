/*
 * The engine's Lua state: its allocator and count hook, compiling, running a script in a fresh
 * thread with its own globals, and converting the return value. See CLuaBridge.h.
 */
#define _GNU_SOURCE
#include "bridge_internal.h"
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static char abort_sentinel;

conclave_lua *conclave_context(lua_State *L) {
    void *context = NULL;
    lua_getallocf(L, &context);
    return context;
}

int conclave_aborting(const conclave_lua *ctx) { return ctx->budget_exceeded || ctx->memory_exceeded; }

int conclave_raise_abort(lua_State *L) {
    lua_pushlightuserdata(L, &abort_sentinel);
    return lua_error(L);
}

static void count_hook(lua_State *L, lua_Debug *debug);

/* Once a run is being stopped, the hook fires at every instruction, so a script that catches the
   stop with pcall cannot run on: its very next instruction raises again. */
static void stop_run(conclave_lua *ctx) {
    if (ctx->running != NULL) lua_sethook(ctx->running, count_hook, LUA_MASKCOUNT, 1);
}

void conclave_charge(lua_State *L, long long cost) {
    conclave_lua *ctx = conclave_context(L);
    if (conclave_aborting(ctx)) conclave_raise_abort(L);
    if (!ctx->counting) return;
    if (cost < 1) cost = 1;
    if (cost > ctx->limits.instruction_budget - ctx->spent) {
        ctx->spent = ctx->limits.instruction_budget;
        ctx->budget_exceeded = 1;
        stop_run(ctx);
        conclave_raise_abort(L);
    }
    ctx->spent += cost;
}

static void count_hook(lua_State *L, lua_Debug *debug) {
    (void)debug;
    conclave_charge(L, conclave_context(L)->hook_period);
}

/*
 * Every byte the Lua heap takes goes through here. Inside a run, growth is summed and refused past
 * the run's limit (frees give nothing back: the collector is stopped during runs, so this sum is the
 * run's whole appetite); outside runs the heap as a whole is capped. A refusal is a Lua memory error.
 * If the C library itself has no memory left, the process stops: a replica must not answer
 * differently from the others because its machine ran out of memory.
 */
static void *allocate(void *userdata, void *block, size_t old_size, size_t new_size) {
    conclave_lua *ctx = userdata;
    if (new_size == 0) {
        free(block);
        ctx->heap_bytes -= old_size;
        return NULL;
    }
    if (new_size > old_size) {
        size_t growth = new_size - old_size;
        if (ctx->counting) {
            if (ctx->memory_exceeded || growth > ctx->allocation_limit - ctx->allocated) {
                ctx->memory_exceeded = 1;
                stop_run(ctx);
                return NULL;
            }
        } else if (ctx->heap_bytes > ctx->limits.heap_cap_bytes || growth > ctx->limits.heap_cap_bytes - ctx->heap_bytes) {
            return NULL;
        }
    }
    void *resized = realloc(block, new_size);
    if (resized == NULL) {
        if (new_size > old_size) abort();
        resized = block; /* a refused shrink: keep the larger block */
    }
    if (new_size > old_size) {
        ctx->heap_bytes += new_size - old_size;
        if (ctx->counting) ctx->allocated += new_size - old_size;
    } else {
        ctx->heap_bytes -= old_size - new_size;
    }
    return resized;
}

static int panic(lua_State *L) {
    (void)L;
    abort(); /* unreachable: every call into Lua is protected */
    return 0;
}

/* ---- Output buffer ---------------------------------------------------------------------------- */

int conclave_output_reserve(conclave_lua *ctx, size_t more) {
    if (more > ctx->limits.reply_bytes_max - ctx->output_length) return 0;
    size_t needed = ctx->output_length + more;
    if (needed > ctx->output_capacity) {
        size_t capacity = ctx->output_capacity < 256 ? 256 : ctx->output_capacity;
        while (capacity < needed) capacity = capacity > SIZE_MAX / 2 ? needed : capacity * 2;
        unsigned char *grown = realloc(ctx->output, capacity);
        if (grown == NULL) abort();
        ctx->output = grown;
        ctx->output_capacity = capacity;
    }
    return 1;
}

void conclave_output_append(conclave_lua *ctx, const void *bytes, size_t length) {
    memcpy(ctx->output + ctx->output_length, bytes, length);
    ctx->output_length += length;
}

/* A message for the caller: truncated at the reply bound, line breaks turned into spaces (an error
   or status line must stay one line, as Redis's addReplyError makes it). */
static void output_message(conclave_lua *ctx, const char *text, size_t length) {
    ctx->output_length = 0;
    if (length > ctx->limits.reply_bytes_max) length = ctx->limits.reply_bytes_max;
    if (!conclave_output_reserve(ctx, length)) return;
    for (size_t i = 0; i < length; i++) {
        char c = text[i];
        ctx->output[ctx->output_length++] = (unsigned char)(c == '\r' || c == '\n' ? ' ' : c);
    }
}

/* ---- Opening and closing ---------------------------------------------------------------------- */

static int error_handler(lua_State *L);

static int open_protected(lua_State *L) {
    conclave_lua *ctx = lua_touserdata(L, 1);
    conclave_open_sandbox(L, ctx);
    lua_newtable(L);
    ctx->compiled_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_pushboolean(L, 0);
    ctx->identities_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_pushcfunction(L, error_handler);
    ctx->error_handler_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    /* Keep the field names the reply conversion looks up interned, so looking them up never allocates. */
    lua_pushliteral(L, "err");
    luaL_ref(L, LUA_REGISTRYINDEX);
    lua_pushliteral(L, "ok");
    luaL_ref(L, LUA_REGISTRYINDEX);
    return 0;
}

static int collect_protected(lua_State *L) {
    lua_gc(L, LUA_GCCOLLECT, 0);
    lua_gc(L, LUA_GCSTOP, 0);
    return 0;
}

void conclave_lua_collect(conclave_lua *ctx) { lua_cpcall(ctx->L, collect_protected, NULL); }

conclave_lua *conclave_lua_open(const conclave_lua_limits *limits) {
    conclave_lua *ctx = calloc(1, sizeof *ctx);
    if (ctx == NULL) abort();
    ctx->limits = *limits;
    ctx->error_line = -1;
    ctx->c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
    if (ctx->c_locale == (locale_t)0) abort();
    ctx->L = lua_newstate(allocate, ctx);
    if (ctx->L == NULL) {
        conclave_lua_close(ctx);
        return NULL;
    }
    lua_atpanic(ctx->L, panic);
    lua_gc(ctx->L, LUA_GCSTOP, 0);
    locale_t previous = uselocale(ctx->c_locale);
    int status = lua_cpcall(ctx->L, open_protected, ctx);
    uselocale(previous);
    if (status != 0) {
        conclave_lua_close(ctx);
        return NULL;
    }
    conclave_lua_collect(ctx);
    return ctx;
}

void conclave_lua_close(conclave_lua *ctx) {
    if (ctx == NULL) return;
    if (ctx->L != NULL) lua_close(ctx->L);
    if (ctx->c_locale != (locale_t)0) freelocale(ctx->c_locale);
    free(ctx->output);
    free(ctx);
}

size_t conclave_lua_heap_bytes(const conclave_lua *ctx) { return ctx->heap_bytes; }

const unsigned char *conclave_lua_output(const conclave_lua *ctx, size_t *length) {
    *length = ctx->output_length;
    return ctx->output;
}

int conclave_lua_error_location(const conclave_lua *ctx, const char **source) {
    *source = ctx->error_source;
    return ctx->error_line;
}

long long conclave_lua_instructions(const conclave_lua *ctx) { return ctx->spent; }

size_t conclave_lua_allocated(const conclave_lua *ctx) { return ctx->allocated; }

/* ---- Compiling -------------------------------------------------------------------------------- */

typedef struct {
    conclave_lua *ctx;
    const char *name;
    const char *body;
    size_t length;
    conclave_lua_status status;
} compile_job;

static int compile_protected(lua_State *L) {
    compile_job *job = lua_touserdata(L, 1);
    conclave_lua *ctx = job->ctx;
    if (job->length > 0 && job->body[0] == LUA_SIGNATURE[0]) {
        static const char refused[] = "user_script: precompiled (binary) chunks are not accepted";
        output_message(ctx, refused, sizeof refused - 1);
        job->status = CONCLAVE_LUA_SYNTAX;
        return 0;
    }
    int status = luaL_loadbuffer(L, job->body, job->length, "@user_script");
    if (status != 0) {
        size_t length = 0;
        const char *message = lua_tolstring(L, -1, &length);
        if (status == LUA_ERRMEM || message == NULL) {
            job->status = CONCLAVE_LUA_MEMORY;
        } else {
            output_message(ctx, message, length);
            job->status = CONCLAVE_LUA_SYNTAX;
        }
        return 0;
    }
    lua_rawgeti(L, LUA_REGISTRYINDEX, ctx->compiled_ref);
    lua_pushstring(L, job->name);
    lua_pushvalue(L, -3);
    lua_rawset(L, -3);
    job->status = CONCLAVE_LUA_OK;
    return 0;
}

conclave_lua_status conclave_lua_compile(conclave_lua *ctx, const char *name, const char *body, size_t length) {
    compile_job job = {ctx, name, body, length, CONCLAVE_LUA_MEMORY};
    ctx->output_length = 0;
    locale_t previous = uselocale(ctx->c_locale);
    int status = lua_cpcall(ctx->L, compile_protected, &job);
    uselocale(previous);
    return status == 0 ? job.status : CONCLAVE_LUA_MEMORY;
}

static int forget_protected(lua_State *L) {
    conclave_lua *ctx = conclave_context(L);
    lua_rawgeti(L, LUA_REGISTRYINDEX, ctx->compiled_ref);
    lua_pushstring(L, lua_touserdata(L, 1));
    lua_pushnil(L);
    lua_rawset(L, -3);
    return 0;
}

void conclave_lua_forget(conclave_lua *ctx, const char *name) {
    lua_cpcall(ctx->L, forget_protected, (void *)name);
}

/* ---- Running ---------------------------------------------------------------------------------- */

/* Records where the error that ends the run was raised: the caller of a C function (redis.call's
   caller, not redis.call), as Redis's __redis__err__handler does. Allocates nothing. */
static int error_handler(lua_State *L) {
    conclave_lua *ctx = conclave_context(L);
    lua_Debug debug;
    if (!lua_getstack(L, 1, &debug) || !lua_getinfo(L, "Sl", &debug)) return 1;
    if (strcmp(debug.what, "C") == 0) {
        if (!lua_getstack(L, 2, &debug) || !lua_getinfo(L, "Sl", &debug)) return 1;
    }
    if (debug.currentline < 0 || debug.source == NULL) return 1;
    strncpy(ctx->error_source, debug.source, sizeof ctx->error_source - 1);
    ctx->error_source[sizeof ctx->error_source - 1] = '\0';
    ctx->error_line = debug.currentline;
    return 1;
}

static void push_array(lua_State *L, const char *bytes, const size_t *lengths, int count) {
    lua_createtable(L, count, 0);
    for (int i = 0; i < count; i++) {
        lua_pushlstring(L, bytes, lengths[i]);
        lua_rawseti(L, -2, i + 1);
        bytes += lengths[i];
    }
}

typedef struct {
    const char *name;
    const char *bytes;
    const size_t *lengths;
    int key_count;
    int argument_count;
    conclave_lua_status status;
} run_job;

/* This run's globals: KEYS, ARGV and _G of its own, everything else read through a shared, locked
   table (see sandbox.c). Whatever a script does to them dies with the run. */
static void push_environment(lua_State *T, conclave_lua *ctx, const run_job *job) {
    lua_createtable(T, 0, 4);
    lua_rawgeti(T, LUA_REGISTRYINDEX, ctx->environment_meta_ref);
    lua_setmetatable(T, -2);
    lua_pushliteral(T, "KEYS");
    push_array(T, job->bytes, job->lengths, job->key_count);
    lua_rawset(T, -3);
    size_t key_bytes = 0;
    for (int i = 0; i < job->key_count; i++) key_bytes += job->lengths[i];
    lua_pushliteral(T, "ARGV");
    push_array(T, job->bytes + key_bytes, job->lengths + job->key_count, job->argument_count);
    lua_rawset(T, -3);
    lua_pushliteral(T, "_G");
    lua_pushvalue(T, -2);
    lua_rawset(T, -3);
}

static void describe_error(lua_State *T, conclave_lua *ctx) {
    size_t length = 0;
    const char *text = NULL;
    char buffer[64];
    switch (lua_type(T, -1)) {
    case LUA_TTABLE:
        lua_pushliteral(T, "err");
        lua_rawget(T, -2);
        if (lua_type(T, -1) == LUA_TSTRING) {
            text = lua_tolstring(T, -1, &length);
            output_message(ctx, text, length);
            return;
        }
        text = "ERR the script raised a table without an 'err' field";
        break;
    case LUA_TSTRING:
    case LUA_TNUMBER: {
        text = lua_tolstring(T, -1, &length);
        ctx->output_length = 0;
        if (!conclave_output_reserve(ctx, 4)) return;
        conclave_output_append(ctx, "ERR ", 4);
        size_t room = ctx->limits.reply_bytes_max - ctx->output_length;
        if (length > room) length = room;
        conclave_output_reserve(ctx, length);
        for (size_t i = 0; i < length; i++) {
            char c = text[i];
            ctx->output[ctx->output_length++] = (unsigned char)(c == '\r' || c == '\n' ? ' ' : c);
        }
        return;
    }
    case LUA_TNIL:
        text = "ERR nil";
        break;
    case LUA_TBOOLEAN:
        text = lua_toboolean(T, -1) ? "ERR true" : "ERR false";
        break;
    default:
        snprintf(buffer, sizeof buffer, "ERR %s", luaL_typename(T, -1));
        text = buffer;
        break;
    }
    output_message(ctx, text, strlen(text));
}

static void put_u64(conclave_lua *ctx, uint64_t value) {
    unsigned char bytes[8];
    for (int i = 0; i < 8; i++) bytes[i] = (unsigned char)(value >> (8 * i));
    conclave_output_append(ctx, bytes, 8);
}

/* Redis: (long long)lua_tonumber. What C leaves undefined (NaN, out of range) is INT64_MIN here,
   what x86-64 gives, on every platform. */
static int64_t number_to_int64(double number) {
    if (number != number || number >= 9223372036854775808.0 || number < -9223372036854775808.0) return INT64_MIN;
    return (int64_t)number;
}

static int put_tagged_text(conclave_lua *ctx, char tag, const char *text, size_t length, int one_line) {
    if (!conclave_output_reserve(ctx, 9 + length)) return 0;
    conclave_output_append(ctx, &tag, 1);
    put_u64(ctx, length);
    for (size_t i = 0; i < length; i++) {
        char c = text[i];
        if (one_line && (c == '\r' || c == '\n')) c = ' ';
        ctx->output[ctx->output_length++] = (unsigned char)c;
    }
    return 1;
}

/* The value on top of L as a reply, Redis's luaReplyToRedisReply: a string is a bulk string, a
   number an integer (truncated), true 1 and false nil; a table with a string `err` or `ok` field an
   error or status, any other table an array of its elements 1, 2, ... up to the first nil. Returns
   0 with a message in `*problem` when the reply nests too deep or passes the size bound. */
static int encode_value(lua_State *L, conclave_lua *ctx, int depth, const char **problem) {
    if (depth > CONCLAVE_REPLY_DEPTH_MAX) {
        *problem = "ERR reply nests deeper than 64 levels (a table that contains itself?)";
        return 0;
    }
    *problem = "ERR script reply is larger than the reply bound";
    size_t length = 0;
    const char *text;
    switch (lua_type(L, -1)) {
    case LUA_TSTRING:
        text = lua_tolstring(L, -1, &length);
        return put_tagged_text(ctx, 'B', text, length, 0);
    case LUA_TBOOLEAN:
        if (!lua_toboolean(L, -1)) goto nil;
        if (!conclave_output_reserve(ctx, 9)) return 0;
        conclave_output_append(ctx, "I", 1);
        put_u64(ctx, 1);
        return 1;
    case LUA_TNUMBER:
        if (!conclave_output_reserve(ctx, 9)) return 0;
        conclave_output_append(ctx, "I", 1);
        put_u64(ctx, (uint64_t)number_to_int64(lua_tonumber(L, -1)));
        return 1;
    case LUA_TTABLE:
        break;
    default:
    nil:
        if (!conclave_output_reserve(ctx, 1)) return 0;
        conclave_output_append(ctx, "N", 1);
        return 1;
    }
    lua_checkstack(L, 4);
    static const char *const fields[2] = {"err", "ok"};
    for (int f = 0; f < 2; f++) {
        lua_pushstring(L, fields[f]);
        lua_rawget(L, -2);
        if (lua_type(L, -1) == LUA_TSTRING) {
            text = lua_tolstring(L, -1, &length);
            int done = put_tagged_text(ctx, f == 0 ? 'E' : 'S', text, length, 1);
            lua_pop(L, 1);
            return done;
        }
        lua_pop(L, 1);
    }
    if (!conclave_output_reserve(ctx, 9)) return 0;
    conclave_output_append(ctx, "A", 1);
    size_t count_at = ctx->output_length;
    put_u64(ctx, 0);
    uint64_t count = 0;
    for (int index = 1;; index++) {
        lua_rawgeti(L, -1, index);
        if (lua_isnil(L, -1)) {
            lua_pop(L, 1);
            break;
        }
        int done = encode_value(L, ctx, depth + 1, problem);
        lua_pop(L, 1);
        if (!done) return 0;
        count++;
    }
    for (int i = 0; i < 8; i++) ctx->output[count_at + i] = (unsigned char)(count >> (8 * i));
    return 1;
}

static int run_protected(lua_State *L) {
    run_job *job = lua_touserdata(L, 1);
    conclave_lua *ctx = conclave_context(L);
    lua_pushboolean(L, 0);
    lua_rawseti(L, LUA_REGISTRYINDEX, ctx->identities_ref);
    lua_rawgeti(L, LUA_REGISTRYINDEX, ctx->compiled_ref);
    lua_pushstring(L, job->name);
    lua_rawget(L, -2);
    if (!lua_isfunction(L, -1)) {
        job->status = CONCLAVE_LUA_UNKNOWN_SCRIPT;
        return 0;
    }
    /* From here every allocation counts against the run, the same in any engine: a fresh thread
       (so its stack grows the same way every run), this run's globals, KEYS and ARGV. */
    ctx->counting = 1;
    lua_State *T = lua_newthread(L);
    ctx->running = T;
    lua_rawgeti(T, LUA_REGISTRYINDEX, ctx->error_handler_ref);
    push_environment(T, ctx, job);
    lua_pushvalue(T, -1);
    lua_replace(T, LUA_GLOBALSINDEX); /* what loadstring'd chunks see as globals */
    lua_pushvalue(L, -2);
    lua_xmove(L, T, 1);
    lua_pushvalue(T, -2);
    lua_setfenv(T, -2);
    lua_remove(T, -2);
    lua_sethook(T, count_hook, LUA_MASKCOUNT, ctx->hook_period);
    int status = lua_pcall(T, 0, 1, 1);
    lua_sethook(T, NULL, 0, 0);
    ctx->counting = 0;
    if (conclave_aborting(ctx)) return 0;
    if (status != 0) {
        describe_error(T, ctx);
        job->status = CONCLAVE_LUA_ERROR;
        return 0;
    }
    const char *problem = NULL;
    ctx->output_length = 0;
    if (!encode_value(T, ctx, 0, &problem)) {
        output_message(ctx, problem, strlen(problem));
        job->status = CONCLAVE_LUA_BAD_REPLY;
        return 0;
    }
    job->status = CONCLAVE_LUA_OK;
    return 0;
}

conclave_lua_status conclave_lua_run(conclave_lua *ctx, const char *name, const char *bytes, const size_t *lengths,
                                     int key_count, int argument_count, size_t allocation_limit,
                                     conclave_lua_host_call host_call, void *host) {
    run_job job = {name, bytes, lengths, key_count, argument_count, CONCLAVE_LUA_MEMORY};
    long long budget = ctx->limits.instruction_budget;
    ctx->spent = 0;
    ctx->budget_exceeded = 0;
    ctx->memory_exceeded = 0;
    ctx->allocated = 0;
    ctx->allocation_limit = allocation_limit;
    ctx->hook_period = budget < CONCLAVE_HOOK_PERIOD ? (budget < 1 ? 1 : (int)budget) : CONCLAVE_HOOK_PERIOD;
    ctx->host_call = host_call;
    ctx->host = host;
    ctx->random_state = 0x330E; /* srand48(0) before every run: math.random repeats per script */
    ctx->identity_next = 0;
    ctx->error_source[0] = '\0';
    ctx->error_line = -1;
    ctx->output_length = 0;
    locale_t previous = uselocale(ctx->c_locale);
    int status = lua_cpcall(ctx->L, run_protected, &job);
    uselocale(previous);
    ctx->counting = 0;
    ctx->running = NULL;
    ctx->host_call = NULL;
    ctx->host = NULL;
    if (ctx->memory_exceeded) return CONCLAVE_LUA_MEMORY;
    if (ctx->budget_exceeded) return CONCLAVE_LUA_BUDGET;
    if (status != 0) return CONCLAVE_LUA_MEMORY; /* only a memory error can escape run_protected */
    return job.status;
}
