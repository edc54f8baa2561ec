/*
 * The sandbox: which libraries and functions a script gets, and how one Lua state serves every
 * script without one script leaving anything behind for the next.
 *
 * Stock Lua 5.1 has no read-only tables (Redis 7 patches its Lua for them), so the isolation is
 * built from what 5.1 has:
 * - each run gets fresh globals (a table with KEYS, ARGV and _G) whose metatable is shared and
 *   locked: reading a name it lacks looks it up in a hidden table of the allowed functions and
 *   libraries, or fails with Redis's "Script attempted to access nonexistent global variable";
 *   creating one fails with Redis 7's "Attempt to modify a readonly table";
 * - a library (string, table, math, bit, redis) is handed out as an empty table of the run's own
 *   whose locked metatable reads through to the real one, so rawset on it changes only that run;
 * - every metatable a script could reach carries __metatable, so getmetatable never hands out the
 *   real string library or the hidden table, and setmetatable cannot replace them;
 * - getfenv/setfenv, which reach functions' environments, are not offered.
 * What a script can reach is therefore either its own (dies with the run) or immutable.
 */
#include "bridge_internal.h"
#include <math.h>
#include <stdio.h>
#include <string.h>

static const char protected_metatable[] = "protected metatable";

static int readonly_error(lua_State *L) { return luaL_error(L, "Attempt to modify a readonly table"); }

/* __index of every run's globals: upvalue 1 the allowed names, upvalue 2 library name -> the
   metatable of its per-run stand-in. */
static int environment_index(lua_State *L) {
    lua_settop(L, 2);
    lua_pushvalue(L, 2);
    lua_rawget(L, lua_upvalueindex(1));
    if (lua_isnil(L, -1)) {
        int type = lua_type(L, 2);
        if (type == LUA_TSTRING || type == LUA_TNUMBER) {
            return luaL_error(L, "Script attempted to access nonexistent global variable '%s'", lua_tostring(L, 2));
        }
        return luaL_error(L, "Script attempted to access a nonexistent global variable");
    }
    lua_pushvalue(L, 2);
    lua_rawget(L, lua_upvalueindex(2));
    if (!lua_istable(L, -1)) {
        lua_pop(L, 1);
        return 1;
    }
    lua_newtable(L);
    lua_insert(L, -2);
    lua_setmetatable(L, -2);
    lua_pushvalue(L, 2);
    lua_pushvalue(L, -2);
    lua_rawset(L, 1);
    return 1;
}

/* tostring, but a table, function or other reference prints a number this run hands out in order
   (table: 0x00000001, ...) rather than its address, which differs from replica to replica. */
static int deterministic_tostring(lua_State *L) {
    luaL_checkany(L, 1);
    if (luaL_callmeta(L, 1, "__tostring")) return 1;
    switch (lua_type(L, 1)) {
    case LUA_TNUMBER:
        lua_pushstring(L, lua_tostring(L, 1));
        return 1;
    case LUA_TSTRING:
        lua_pushvalue(L, 1);
        return 1;
    case LUA_TBOOLEAN:
        lua_pushstring(L, lua_toboolean(L, 1) ? "true" : "false");
        return 1;
    case LUA_TNIL:
        lua_pushliteral(L, "nil");
        return 1;
    default:
        break;
    }
    conclave_lua *ctx = conclave_context(L);
    lua_rawgeti(L, LUA_REGISTRYINDEX, ctx->identities_ref);
    if (!lua_istable(L, -1)) {
        lua_pop(L, 1);
        lua_newtable(L);
        lua_pushvalue(L, -1);
        lua_rawseti(L, LUA_REGISTRYINDEX, ctx->identities_ref);
    }
    lua_pushvalue(L, 1);
    lua_rawget(L, -2);
    long long identity = (long long)lua_tonumber(L, -1);
    lua_pop(L, 1);
    if (identity == 0) {
        identity = ++ctx->identity_next;
        lua_pushvalue(L, 1);
        lua_pushnumber(L, (lua_Number)identity);
        lua_rawset(L, -3);
    }
    char text[64];
    snprintf(text, sizeof text, "%s: 0x%08llx", luaL_typename(L, 1), identity);
    lua_pushstring(L, text);
    return 1;
}

/* loadstring for source text only: Lua 5.1 trusts bytecode, and crafted bytecode reads and writes
   memory at will (Redis refuses it too). The chunk's globals are the run's (the thread's). */
static int text_loadstring(lua_State *L) {
    size_t length = 0;
    const char *source = luaL_checklstring(L, 1, &length);
    const char *chunk_name = luaL_optstring(L, 2, source);
    conclave_charge(L, 1 + (long long)(length / 16));
    if (length > 0 && source[0] == LUA_SIGNATURE[0]) {
        lua_pushnil(L);
        lua_pushliteral(L, "precompiled (binary) chunks are not accepted in scripts");
        return 2;
    }
    if (luaL_loadbuffer(L, source, length, chunk_name) == 0) return 1;
    lua_pushnil(L);
    lua_insert(L, -2);
    return 2;
}

/* Redis's pcall (luaRedisPcall): an error raised as a table with an `err` field is returned as that
   string, as before Redis 7 made errors tables. A run being stopped is not caught at all. */
static int redis_style_pcall(lua_State *L) {
    luaL_checkany(L, 1);
    int count = lua_gettop(L);
    lua_pushboolean(L, 1);
    lua_insert(L, 1);
    if (lua_pcall(L, count - 1, LUA_MULTRET, 0) != 0) {
        if (conclave_aborting(conclave_context(L))) return lua_error(L);
        lua_remove(L, 1);
        if (lua_istable(L, -1)) {
            lua_getfield(L, -1, "err");
            if (lua_isstring(L, -1)) {
                lua_replace(L, -2);
            } else {
                lua_pop(L, 1);
            }
        }
        lua_pushboolean(L, 0);
        lua_insert(L, 1);
    }
    return lua_gettop(L);
}

/* math.random and math.randomseed as Redis has them (drand48, the same sequence on every machine),
   restarted from seed 0 at every run, so a script draws the same numbers on every replica. */
static uint32_t next_random(conclave_lua *ctx) {
    ctx->random_state = (ctx->random_state * 0x5DEECE66DULL + 0xB) & ((1ULL << 48) - 1);
    return (uint32_t)(ctx->random_state >> 17);
}

static int deterministic_random(lua_State *L) {
    conclave_lua *ctx = conclave_context(L);
    lua_Number r = (lua_Number)(next_random(ctx) % 2147483647u) / (lua_Number)2147483647;
    switch (lua_gettop(L)) {
    case 0:
        lua_pushnumber(L, r);
        break;
    case 1: {
        int upper = luaL_checkint(L, 1);
        luaL_argcheck(L, 1 <= upper, 1, "interval is empty");
        lua_pushnumber(L, floor(r * upper) + 1);
        break;
    }
    case 2: {
        int lower = luaL_checkint(L, 1);
        int upper = luaL_checkint(L, 2);
        luaL_argcheck(L, lower <= upper, 2, "interval is empty");
        lua_pushnumber(L, floor(r * (upper - lower + 1)) + lower);
        break;
    }
    default:
        return luaL_error(L, "wrong number of arguments");
    }
    return 1;
}

static int deterministic_randomseed(lua_State *L) {
    uint32_t seed = (uint32_t)luaL_checkint(L, 1);
    conclave_context(L)->random_state = ((uint64_t)seed << 16) | 0x330E;
    return 0;
}

static void open_library(lua_State *L, const char *name, lua_CFunction open) {
    lua_pushcfunction(L, open);
    lua_pushstring(L, name);
    lua_call(L, 1, 0);
}

static void set_function(lua_State *L, int table, const char *name, lua_CFunction function) {
    lua_pushcfunction(L, function);
    lua_setfield(L, table < 0 ? table - 1 : table, name);
}

/* The base functions a script gets (Redis's allow list, less what reaches outside the run or the
   machine: collectgarbage/gcinfo (heap sizes differ between replicas), getfenv/setfenv, newproxy
   (__gc would run at collection time), coroutine (each coroutine would count instructions apart),
   load, and dofile/loadfile/print, which Redis denies too). */
static const char *const base_names[] = {
    "assert", "error", "ipairs", "next", "pairs", "rawequal", "rawget", "rawset", "select",
    "setmetatable", "getmetatable", "tonumber", "type", "unpack", "xpcall", "_VERSION", NULL,
};
static const char *const library_names[] = {"string", "table", "math", "bit", "redis", NULL};

/* {__index = library, __newindex = readonly, __metatable = protected}: the metatable of each run's
   stand-in for a library. */
static void push_library_metatable(lua_State *L, int library) {
    lua_createtable(L, 0, 3);
    lua_pushvalue(L, library < 0 ? library - 1 : library);
    lua_setfield(L, -2, "__index");
    set_function(L, -1, "__newindex", readonly_error);
    lua_pushstring(L, protected_metatable);
    lua_setfield(L, -2, "__metatable");
}

void conclave_open_sandbox(lua_State *L, conclave_lua *ctx) {
    open_library(L, "", luaopen_base);
    open_library(L, LUA_TABLIBNAME, luaopen_table);
    open_library(L, LUA_STRLIBNAME, luaopen_string);
    open_library(L, LUA_MATHLIBNAME, luaopen_math);
    open_library(L, "bit", luaopen_bit);
    conclave_open_redis_api(L);
    lua_setglobal(L, "redis");
    lua_getglobal(L, "string");
    conclave_meter_string_library(L);
    lua_pop(L, 1);
    lua_getglobal(L, "table");
    conclave_meter_table_library(L);
    lua_pop(L, 1);
    lua_getglobal(L, "math");
    set_function(L, -1, "random", deterministic_random);
    set_function(L, -1, "randomseed", deterministic_randomseed);
    lua_pop(L, 1);

    /* The allowed names (upvalue 1 of environment_index). */
    lua_newtable(L);
    for (const char *const *name = base_names; *name != NULL; name++) {
        lua_getglobal(L, *name);
        lua_setfield(L, -2, *name);
    }
    set_function(L, -1, "tostring", deterministic_tostring);
    set_function(L, -1, "loadstring", text_loadstring);
    set_function(L, -1, "pcall", redis_style_pcall);
    lua_getfield(L, -1, "tonumber");
    conclave_wrap_metered(L, CONCLAVE_COST_TEXT_LENGTH);
    lua_setfield(L, -2, "tonumber");
    /* Library name -> metatable of its stand-in (upvalue 2). */
    lua_newtable(L);
    for (const char *const *name = library_names; *name != NULL; name++) {
        lua_getglobal(L, *name);
        lua_pushvalue(L, -1);
        lua_setfield(L, -4, *name);
        push_library_metatable(L, -1);
        lua_setfield(L, -3, *name);
        lua_pop(L, 1);
    }

    lua_createtable(L, 0, 3);
    lua_insert(L, -3);
    lua_pushcclosure(L, environment_index, 2);
    lua_setfield(L, -2, "__index");
    set_function(L, -1, "__newindex", readonly_error);
    lua_pushstring(L, protected_metatable);
    lua_setfield(L, -2, "__metatable");
    ctx->environment_meta_ref = luaL_ref(L, LUA_REGISTRYINDEX);

    /* getmetatable("") must not hand out the string metatable, whose __index is the real library. */
    lua_pushliteral(L, "");
    lua_getmetatable(L, -1);
    lua_pushstring(L, protected_metatable);
    lua_setfield(L, -2, "__metatable");
    lua_pop(L, 2);
}
