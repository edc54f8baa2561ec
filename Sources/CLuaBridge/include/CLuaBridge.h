#ifndef CONCLAVE_CLUA_BRIDGE_H
#define CONCLAVE_CLUA_BRIDGE_H
/*
 * The C side of Conclave's script engine: one sandboxed Lua 5.1 state and the functions scripts
 * call (redis.call, redis.pcall, ...), after Redis's script_lua.c.
 *
 * Why C: a Lua error is a longjmp to the nearest lua_pcall. If it crossed a Swift frame, Swift's
 * cleanups (releases, deinits) would be skipped. So Swift never calls the Lua API: every function
 * here runs its Lua work inside lua_cpcall and returns a status, and the one call back into Swift
 * during a script (the host callback of redis.call) receives plain bytes and hands back plain bytes,
 * touching no Lua state. Everything that may raise (pushing the reply, raising the command's error)
 * happens in C after Swift has returned.
 *
 * Encoded replies (the host's answers, a script's return value), little-endian:
 *   'I' int64 | 'B' u64 length, bytes | 'S' u64 length, bytes (status) | 'E' u64 length, bytes (error)
 *   | 'N' (nil) | 'A' u64 count, then count replies.
 */
#include <stddef.h>
#include <stdint.h>

typedef struct conclave_lua conclave_lua;

/* Runs one command for redis.call / redis.pcall. `arguments[i]` holds `lengths[i]` bytes (not
   NUL-terminated). The callee sets `*reply` to an encoded reply that stays valid until its next call. */
typedef void (*conclave_lua_host_call)(void *host, int count, const char *const *arguments, const size_t *lengths,
                                       const unsigned char **reply, size_t *reply_length);
/* Writes the 40 lowercase hex digits of SHA-1(bytes) into `hex` (redis.sha1hex). */
typedef void (*conclave_lua_sha1_hex)(const char *bytes, size_t length, char *hex);

typedef struct {
    /* Instructions a run may execute (VM instructions plus the metered work of library calls). */
    long long instruction_budget;
    /* The most bytes the Lua heap may hold outside runs (setup, compiling): a guard against bugs. */
    size_t heap_cap_bytes;
    /* The largest encoded return value a run may give. */
    size_t reply_bytes_max;
    conclave_lua_sha1_hex sha1_hex;
} conclave_lua_limits;

typedef enum {
    CONCLAVE_LUA_OK = 0,
    /* The script raised an error; the output holds its message, conclave_lua_error_location where. */
    CONCLAVE_LUA_ERROR = 1,
    /* The instruction budget ran out. */
    CONCLAVE_LUA_BUDGET = 2,
    /* The run allocated more than its allocation limit. */
    CONCLAVE_LUA_MEMORY = 3,
    /* No compiled script of that name. */
    CONCLAVE_LUA_UNKNOWN_SCRIPT = 4,
    /* Compiling: a syntax error (the output holds Lua's message). */
    CONCLAVE_LUA_SYNTAX = 5,
    /* The return value could not be converted (nested too deep, too large); the output says why. */
    CONCLAVE_LUA_BAD_REPLY = 6,
} conclave_lua_status;

/* A new sandboxed state, or NULL if it could not be set up within the heap cap. */
conclave_lua *conclave_lua_open(const conclave_lua_limits *limits);
void conclave_lua_close(conclave_lua *lua);

/* Bytes the Lua heap holds now. */
size_t conclave_lua_heap_bytes(const conclave_lua *lua);

/* Compiles `body` as the script `name` (chunk name "@user_script"). OK, SYNTAX or MEMORY. */
conclave_lua_status conclave_lua_compile(conclave_lua *lua, const char *name, const char *body, size_t length);
/* Drops the compiled script `name`, if there is one (its memory goes at a later collection). */
void conclave_lua_forget(conclave_lua *lua, const char *name);

/*
 * Runs the compiled script `name` with KEYS = the first `key_count` arguments and ARGV = the next
 * `argument_count`; argument i is `lengths[i]` bytes of `bytes`, one after another. The run may
 * allocate at most `allocation_limit` bytes in all (the collector does not run during a run, so
 * garbage counts too). The output (conclave_lua_output) holds the encoded reply on OK and a message
 * otherwise.
 */
conclave_lua_status conclave_lua_run(conclave_lua *lua, const char *name, const char *bytes, const size_t *lengths,
                                     int key_count, int argument_count, size_t allocation_limit,
                                     conclave_lua_host_call host_call, void *host);

/* The output of the last compile or run: `*length` bytes, valid until the next call on `lua`. */
const unsigned char *conclave_lua_output(const conclave_lua *lua, size_t *length);
/* Where the last run's error was raised: the chunk ("@user_script") and line, or line -1 if unknown. */
int conclave_lua_error_location(const conclave_lua *lua, const char **source);
/* Instructions the last run was charged (counted in steps of the hook period, plus metered work). */
long long conclave_lua_instructions(const conclave_lua *lua);
/* Bytes the last run allocated. */
size_t conclave_lua_allocated(const conclave_lua *lua);

/* Collects all garbage, between runs: scripts never see a collection (the collector is stopped
   otherwise, so it never runs during a run). */
void conclave_lua_collect(conclave_lua *lua);

#endif
