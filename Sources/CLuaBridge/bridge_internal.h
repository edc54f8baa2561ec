#ifndef CONCLAVE_CLUA_BRIDGE_INTERNAL_H
#define CONCLAVE_CLUA_BRIDGE_INTERNAL_H
#include "CLuaBridge.h"
#include <locale.h>
#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>

/* Instructions between two calls of the count hook. */
#define CONCLAVE_HOOK_PERIOD 1000
/* How deep a reply (either way) may nest. */
#define CONCLAVE_REPLY_DEPTH_MAX 64

struct conclave_lua {
    lua_State *L;
    conclave_lua_limits limits;
    locale_t c_locale;

    /* Memory: what the heap holds, and inside a run what the run has allocated. */
    size_t heap_bytes;
    int counting;
    size_t allocated;
    size_t allocation_limit;
    int memory_exceeded;

    /* Instructions. */
    long long spent;
    int hook_period;
    int budget_exceeded;
    lua_State *running;

    /* The host of the current run. */
    conclave_lua_host_call host_call;
    void *host;

    /* Per run: the state behind math.random and the numbers tostring gives tables. */
    uint64_t random_state;
    long long identity_next;

    /* Where the run's error was raised. */
    char error_source[64];
    int error_line;

    /* The output buffer (C heap, outside Lua's), bounded like a run's allocations. */
    unsigned char *output;
    size_t output_length;
    size_t output_capacity;

    /* Registry references. */
    int compiled_ref;       /* table: script name -> compiled chunk */
    int environment_meta_ref; /* metatable of each run's globals */
    int identities_ref;     /* table: object -> number, for tostring, made per run */
    int error_handler_ref;
};

/* The engine behind a Lua state (its allocator's userdata). */
conclave_lua *conclave_context(lua_State *L);

/* Whether the run is being stopped (budget or memory): every later step raises at once. */
int conclave_aborting(const conclave_lua *ctx);
/* Raises the stop sentinel: a light userdata, so raising it allocates nothing. */
int conclave_raise_abort(lua_State *L);
/* Charges `cost` instructions of library work; raises when the budget is spent. */
void conclave_charge(lua_State *L, long long cost);

/* Pushes {err = "<CODE> <message>"} the way Redis's luaPushErrorBuff does: `text` is split at its
   first space into code and message, or gets the code ERR when it has none (`has_code` 0). */
void conclave_push_error_table(lua_State *L, const char *text, size_t length, int has_code);

/* What a metered library function is charged, besides 1: the length of the string argument 1 / 64
   (tonumber), the repetitions and bytes of string.rep, the elements table.insert/remove shift, the
   elements table.concat joins, n log n for table.sort, the length of table 1 (table.foreachi). */
typedef enum {
    CONCLAVE_COST_TEXT_LENGTH,
    CONCLAVE_COST_REP,
    CONCLAVE_COST_INSERT,
    CONCLAVE_COST_REMOVE,
    CONCLAVE_COST_CONCAT,
    CONCLAVE_COST_SORT,
    CONCLAVE_COST_LENGTH,
} conclave_cost;

/* Replaces the function on top of the stack with one that checks its arguments' types, charges its
   cost, then calls it. */
void conclave_wrap_metered(lua_State *L, conclave_cost cost);

/* Sandbox setup (sandbox.c), the redis table (redis_api.c), metered libraries (metering.c,
   pattern.c). Each meter function works on the library table on top of the stack. */
void conclave_open_sandbox(lua_State *L, conclave_lua *ctx);
void conclave_open_redis_api(lua_State *L);
void conclave_meter_string_library(lua_State *L);
void conclave_meter_patterns(lua_State *L);
void conclave_meter_table_library(lua_State *L);
int luaopen_bit(lua_State *L);

/* The output buffer. Return 0 when the run's bound is passed. */
int conclave_output_reserve(conclave_lua *ctx, size_t more);
void conclave_output_append(conclave_lua *ctx, const void *bytes, size_t length);

#endif
