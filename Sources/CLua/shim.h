#ifndef CONCLAVE_CLUA_SHIM_H
#define CONCLAVE_CLUA_SHIM_H
/* Lua 5.1 as Debian ships it (liblua5.1-0-dev), the version Redis embeds. Only CLuaBridge includes
   these headers: Swift never calls the Lua API itself, because a Lua error is a longjmp and must
   never cross a Swift frame (see CLuaBridge.h). */
#include <lua.h>
#include <lualib.h>
#include <lauxlib.h>
#endif
