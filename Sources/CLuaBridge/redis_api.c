/*
 * The `redis` table scripts see, after Redis 7's script_lua.c: call, pcall, error_reply,
 * status_reply, sha1hex, log, and the constants and no-op switches scripts written for Redis use.
 */
#include "bridge_internal.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void conclave_push_error_table(lua_State *L, const char *text, size_t length, int has_code) {
    const char *code = "ERR";
    size_t code_length = 3;
    const char *space = has_code ? memchr(text, ' ', length) : NULL;
    if (space != NULL) {
        code = text;
        code_length = (size_t)(space - text);
        length -= code_length + 1;
        text = space + 1;
    }
    while (length > 0 && (*text == '\r' || *text == '\n')) text++, length--;
    while (length > 0 && (text[length - 1] == '\r' || text[length - 1] == '\n')) length--;
    lua_createtable(L, 0, 1);
    lua_pushliteral(L, "err");
    luaL_Buffer buffer;
    luaL_buffinit(L, &buffer);
    luaL_addlstring(&buffer, code, code_length);
    luaL_addchar(&buffer, ' ');
    luaL_addlstring(&buffer, text, length);
    luaL_pushresult(&buffer);
    lua_rawset(L, -3);
}

static void push_error_literal(lua_State *L, const char *text) { conclave_push_error_table(L, text, strlen(text), 0); }

/* ---- Host replies -> Lua values --------------------------------------------------------------- */

typedef struct {
    const unsigned char *at;
    const unsigned char *end;
} reader;

static int read_u64(reader *r, uint64_t *value) {
    if (r->end - r->at < 8) return 0;
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v |= (uint64_t)r->at[i] << (8 * i);
    r->at += 8;
    *value = v;
    return 1;
}

static int read_text(reader *r, const char **text, size_t *length) {
    uint64_t n = 0;
    if (!read_u64(r, &n) || n > (uint64_t)(r->end - r->at)) return 0;
    *text = (const char *)r->at;
    *length = (size_t)n;
    r->at += n;
    return 1;
}

/* Pushes the reply at r as Redis converts replies for scripts: integer -> number, bulk -> string,
   nil -> false, array -> table, status -> {ok=...}, error -> {err=...}. Returns 0 (pushing nothing)
   if the bytes are malformed. */
static int push_reply(lua_State *L, reader *r, int depth) {
    if (r->at >= r->end || depth > CONCLAVE_REPLY_DEPTH_MAX) return 0;
    lua_checkstack(L, 4);
    const char *text;
    size_t length;
    uint64_t value;
    switch (*r->at++) {
    case 'I':
        if (!read_u64(r, &value)) return 0;
        lua_pushnumber(L, (lua_Number)(int64_t)value);
        return 1;
    case 'B':
        if (!read_text(r, &text, &length)) return 0;
        lua_pushlstring(L, text, length);
        return 1;
    case 'N':
        lua_pushboolean(L, 0);
        return 1;
    case 'S':
        if (!read_text(r, &text, &length)) return 0;
        lua_createtable(L, 0, 1);
        lua_pushliteral(L, "ok");
        lua_pushlstring(L, text, length);
        lua_rawset(L, -3);
        return 1;
    case 'E':
        if (!read_text(r, &text, &length)) return 0;
        conclave_push_error_table(L, text, length, 1);
        return 1;
    case 'A':
        /* Each element takes at least one byte: a count the bytes cannot hold is malformed. */
        if (!read_u64(r, &value) || value > (uint64_t)(r->end - r->at) || value > INT32_MAX) return 0;
        lua_createtable(L, (int)value, 0);
        for (uint64_t i = 0; i < value; i++) {
            if (!push_reply(L, r, depth + 1)) {
                lua_pop(L, 1);
                return 0;
            }
            lua_rawseti(L, -2, (int)(i + 1));
        }
        return 1;
    default:
        return 0;
    }
}

/* ---- redis.call / redis.pcall ----------------------------------------------------------------- */

/* A number argument as Redis 7 writes it: an integer when it is one (within +-2^62), otherwise the
   shortest text that reads back as the same double. */
static size_t format_number(double number, char *buffer, size_t size) {
    if (number != number) return (size_t)snprintf(buffer, size, "nan");
    if (isinf(number)) return (size_t)snprintf(buffer, size, number > 0 ? "inf" : "-inf");
    if (number >= -4611686018427387904.0 && number <= 4611686018427387904.0 && number == floor(number)) {
        return (size_t)snprintf(buffer, size, "%lld", (long long)number);
    }
    int written = 0;
    for (int precision = 1; precision <= 17; precision++) {
        written = snprintf(buffer, size, "%.*g", precision, number);
        if (strtod(buffer, NULL) == number) break;
    }
    return (size_t)written;
}

static int redis_generic_call(lua_State *L, int raise) {
    conclave_lua *ctx = conclave_context(L);
    if (conclave_aborting(ctx)) return conclave_raise_abort(L);
    if (ctx->host_call == NULL) return luaL_error(L, "redis.call is only available while a script runs");
    int count = lua_gettop(L);
    if (count == 0) {
        push_error_literal(L, "Please specify at least one argument for this redis lib call");
        return raise ? lua_error(L) : 1;
    }
    conclave_charge(L, count);
    const char **arguments = lua_newuserdata(L, (size_t)count * (sizeof(char *) + sizeof(size_t)));
    size_t *lengths = (size_t *)(arguments + count);
    for (int i = 1; i <= count; i++) {
        int type = lua_type(L, i);
        if (type == LUA_TNUMBER) {
            char text[64];
            size_t length = format_number(lua_tonumber(L, i), text, sizeof text);
            lua_pushlstring(L, text, length);
            lua_replace(L, i);
        } else if (type != LUA_TSTRING) {
            lua_settop(L, 0);
            push_error_literal(L, "Lua redis lib command arguments must be strings or integers");
            return raise ? lua_error(L) : 1;
        }
        arguments[i - 1] = lua_tolstring(L, i, &lengths[i - 1]);
    }
    /* Swift runs the command. It touches no Lua state, and nothing below raises until it returns. */
    const unsigned char *reply = NULL;
    size_t reply_length = 0;
    ctx->host_call(ctx->host, count, arguments, lengths, &reply, &reply_length);
    lua_settop(L, 0);
    reader r = {reply, reply + reply_length};
    if (!push_reply(L, &r, 0) || r.at != r.end) {
        lua_settop(L, 0);
        push_error_literal(L, "malformed reply from the command host");
    }
    if (raise && lua_istable(L, -1)) {
        lua_pushliteral(L, "err");
        lua_rawget(L, -2);
        int is_error = lua_isstring(L, -1);
        lua_pop(L, 1);
        if (is_error) return lua_error(L);
    }
    return 1;
}

static int redis_call(lua_State *L) { return redis_generic_call(L, 1); }
static int redis_pcall(lua_State *L) { return redis_generic_call(L, 0); }

/* ---- The rest of the redis table ------------------------------------------------------------- */

static int redis_sha1hex(lua_State *L) {
    if (lua_gettop(L) != 1) {
        push_error_literal(L, "wrong number of arguments");
        return lua_error(L);
    }
    size_t length = 0;
    const char *text = lua_tolstring(L, 1, &length);
    if (text == NULL) {
        text = "";
        length = 0;
    }
    conclave_charge(L, 1 + (long long)(length / 64));
    char hex[40];
    conclave_context(L)->limits.sha1_hex(text, length, hex);
    lua_pushlstring(L, hex, 40);
    return 1;
}

/* redis.error_reply(text): {err = text}, with a leading '-' dropped and the code ERR added when the
   text has no space (Redis's luaPushErrorBuff). A wrong argument is returned as an error, not raised. */
static int redis_error_reply(lua_State *L) {
    if (lua_gettop(L) != 1 || lua_type(L, -1) != LUA_TSTRING) {
        push_error_literal(L, "wrong number or type of arguments");
        return 1;
    }
    size_t length = 0;
    const char *text = lua_tolstring(L, 1, &length);
    if (length > 0 && text[0] == '-') text++, length--;
    conclave_push_error_table(L, text, length, 1);
    return 1;
}

static int redis_status_reply(lua_State *L) {
    if (lua_gettop(L) != 1 || lua_type(L, -1) != LUA_TSTRING) {
        push_error_literal(L, "wrong number or type of arguments");
        return 1;
    }
    lua_createtable(L, 0, 1);
    lua_pushliteral(L, "ok");
    lua_pushvalue(L, 1);
    lua_rawset(L, -3);
    return 1;
}

/* redis.log(level, ...): checked as Redis checks it, then dropped: a replicated state machine has
   no log of its own, and every replica would write the same lines. */
static int redis_log(lua_State *L) {
    int count = lua_gettop(L);
    if (count < 2) {
        push_error_literal(L, "redis.log() requires two arguments or more.");
        return lua_error(L);
    }
    if (!lua_isnumber(L, 1)) {
        push_error_literal(L, "First argument must be a number (log level).");
        return lua_error(L);
    }
    lua_Number level = lua_tonumber(L, 1);
    if (level < 0 || level > 3) {
        push_error_literal(L, "Invalid log level.");
        return lua_error(L);
    }
    return 0;
}

static int redis_setresp(lua_State *L) {
    if (lua_gettop(L) != 1) {
        push_error_literal(L, "redis.setresp() requires one argument.");
        return lua_error(L);
    }
    lua_Number version = lua_tonumber(L, 1);
    if (version == 2) return 0;
    push_error_literal(L, version == 3 ? "Conclave scripts speak RESP2 only: redis.setresp(3) is not supported."
                                       : "RESP version must be 2 or 3.");
    return lua_error(L);
}

/* redis.set_repl(flags): Conclave replicates scripts, not their effects, so there is nothing to
   switch; the flags are still checked. */
static int redis_set_repl(lua_State *L) {
    if (lua_gettop(L) != 1) {
        push_error_literal(L, "redis.set_repl() requires one argument.");
        return lua_error(L);
    }
    lua_Number flags = lua_tonumber(L, 1);
    if (flags < 0 || flags > 3 || flags != floor(flags)) {
        push_error_literal(L, "Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.");
        return lua_error(L);
    }
    return 0;
}

static int redis_true(lua_State *L) {
    lua_pushboolean(L, 1);
    return 1;
}

static int redis_false(lua_State *L) {
    lua_pushboolean(L, 0);
    return 1;
}

static int redis_nothing(lua_State *L) {
    (void)L;
    return 0;
}

static void set_number(lua_State *L, const char *name, lua_Number value) {
    lua_pushnumber(L, value);
    lua_setfield(L, -2, name);
}

void conclave_open_redis_api(lua_State *L) {
    static const luaL_Reg functions[] = {
        {"call", redis_call},
        {"pcall", redis_pcall},
        {"sha1hex", redis_sha1hex},
        {"error_reply", redis_error_reply},
        {"status_reply", redis_status_reply},
        {"log", redis_log},
        {"setresp", redis_setresp},
        {"set_repl", redis_set_repl},
        {"replicate_commands", redis_true},
        {"breakpoint", redis_false},
        {"debug", redis_nothing},
        {NULL, NULL},
    };
    lua_newtable(L);
    for (const luaL_Reg *function = functions; function->name != NULL; function++) {
        lua_pushcfunction(L, function->func);
        lua_setfield(L, -2, function->name);
    }
    set_number(L, "LOG_DEBUG", 0);
    set_number(L, "LOG_VERBOSE", 1);
    set_number(L, "LOG_NOTICE", 2);
    set_number(L, "LOG_WARNING", 3);
    set_number(L, "REPL_NONE", 0);
    set_number(L, "REPL_AOF", 1);
    set_number(L, "REPL_SLAVE", 2);
    set_number(L, "REPL_REPLICA", 2);
    set_number(L, "REPL_ALL", 3);
    set_number(L, "REDIS_VERSION_NUM", 0x070000);
    lua_pushliteral(L, "7.0.0");
    lua_setfield(L, -2, "REDIS_VERSION");
}
