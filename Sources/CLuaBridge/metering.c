/*
 * Metering of library functions. The count hook sees only VM instructions: one call to
 * table.insert(t, 1, x) shifts every element of t and one string.rep("", 1e15) loops 10^15 times,
 * each as a single instruction. These functions charge the budget for the work they do, so the
 * budget bounds a script's time and not only its instruction count. (Pattern matching is metered
 * step by step in pattern.c.)
 */
#include "bridge_internal.h"
#include <limits.h>

static long long saturating_product(long long a, long long b) {
    if (a <= 0 || b <= 0) return 0;
    return a > LLONG_MAX / b ? LLONG_MAX : a * b;
}

static long long cost_of(lua_State *L, conclave_cost cost) {
    switch (cost) {
    case CONCLAVE_COST_TEXT_LENGTH:
        luaL_checkany(L, 1);
        return lua_type(L, 1) == LUA_TSTRING ? 1 + (long long)(lua_objlen(L, 1) / 64) : 1;
    case CONCLAVE_COST_REP: {
        size_t length = 0;
        luaL_checklstring(L, 1, &length);
        long long count = (long long)luaL_checkinteger(L, 2);
        long long bytes = saturating_product((long long)length, count) / 64;
        long long repetitions = count > 0 ? count : 0;
        return repetitions > LLONG_MAX - bytes ? LLONG_MAX : 1 + repetitions + bytes;
    }
    case CONCLAVE_COST_INSERT: {
        luaL_checktype(L, 1, LUA_TTABLE);
        long long end = (long long)lua_objlen(L, 1) + 1;
        if (lua_gettop(L) != 3) return 1;
        long long position = (long long)luaL_checkinteger(L, 2);
        return position < end ? 1 + (end - position) : 1;
    }
    case CONCLAVE_COST_REMOVE: {
        luaL_checktype(L, 1, LUA_TTABLE);
        long long end = (long long)lua_objlen(L, 1);
        long long position = (long long)luaL_optinteger(L, 2, (lua_Integer)end);
        return 1 <= position && position <= end ? 1 + (end - position) : 1;
    }
    case CONCLAVE_COST_CONCAT: {
        luaL_checktype(L, 1, LUA_TTABLE);
        long long first = (long long)luaL_optinteger(L, 3, 1);
        long long last = (long long)luaL_optinteger(L, 4, (lua_Integer)lua_objlen(L, 1));
        return last >= first ? 1 + (last - first) : 1;
    }
    case CONCLAVE_COST_SORT: {
        luaL_checktype(L, 1, LUA_TTABLE);
        long long count = (long long)lua_objlen(L, 1);
        long long levels = 1;
        while (levels < 62 && (1LL << levels) < count) levels++;
        return 1 + saturating_product(count, levels);
    }
    case CONCLAVE_COST_LENGTH:
        luaL_checktype(L, 1, LUA_TTABLE);
        return 1 + (long long)lua_objlen(L, 1);
    }
    return 1;
}

static int metered(lua_State *L) {
    conclave_charge(L, cost_of(L, (conclave_cost)lua_tointeger(L, lua_upvalueindex(2))));
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
    return lua_gettop(L);
}

void conclave_wrap_metered(lua_State *L, conclave_cost cost) {
    lua_pushinteger(L, (lua_Integer)cost);
    lua_pushcclosure(L, metered, 2);
}

static void wrap_field(lua_State *L, const char *name, conclave_cost cost) {
    lua_getfield(L, -1, name);
    conclave_wrap_metered(L, cost);
    lua_setfield(L, -2, name);
}

/* table.maxn and table.foreach walk every key with lua_next: the same loops, charged per key. */
static int metered_maxn(lua_State *L) {
    lua_Number largest = 0;
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_pushnil(L);
    while (lua_next(L, 1)) {
        conclave_charge(L, 1);
        lua_pop(L, 1);
        if (lua_type(L, -1) == LUA_TNUMBER) {
            lua_Number value = lua_tonumber(L, -1);
            if (value > largest) largest = value;
        }
    }
    lua_pushnumber(L, largest);
    return 1;
}

static int metered_foreach(lua_State *L) {
    luaL_checktype(L, 1, LUA_TTABLE);
    luaL_checktype(L, 2, LUA_TFUNCTION);
    lua_pushnil(L);
    while (lua_next(L, 1)) {
        conclave_charge(L, 1);
        lua_pushvalue(L, 2);
        lua_pushvalue(L, -3);
        lua_pushvalue(L, -3);
        lua_call(L, 2, 1);
        if (!lua_isnil(L, -1)) return 1;
        lua_pop(L, 2);
    }
    return 0;
}

void conclave_meter_table_library(lua_State *L) {
    wrap_field(L, "insert", CONCLAVE_COST_INSERT);
    wrap_field(L, "remove", CONCLAVE_COST_REMOVE);
    wrap_field(L, "concat", CONCLAVE_COST_CONCAT);
    wrap_field(L, "sort", CONCLAVE_COST_SORT);
    wrap_field(L, "foreachi", CONCLAVE_COST_LENGTH);
    lua_pushcfunction(L, metered_maxn);
    lua_setfield(L, -2, "maxn");
    lua_pushcfunction(L, metered_foreach);
    lua_setfield(L, -2, "foreach");
}

void conclave_meter_string_library(lua_State *L) {
    wrap_field(L, "rep", CONCLAVE_COST_REP);
    conclave_meter_patterns(L);
    /* string.dump makes bytecode, which loadstring refuses anyway; gfind is 5.0's gmatch. */
    lua_pushnil(L);
    lua_setfield(L, -2, "dump");
    lua_pushnil(L);
    lua_setfield(L, -2, "gfind");
}
