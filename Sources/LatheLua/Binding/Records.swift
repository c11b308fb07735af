import CLua
import CLuaShim
import LatheCore

extension LuaCall {
    /// Pushes a result record: a table of named fields that prints readably with plain
    /// `print()` in a script, as `show()` does at the prompt. With `text`, printing shows that
    /// (a report's own layout); without, the fields as the prompt prints tables. `name` is the
    /// record's kind (`__name`), which help and error messages show.
    public func pushRecord(_ fields: [(String, LuaValue)], name: String, text: String? = nil) throws {
        try push(.record(fields))
        try reserve()
        if let text {
            lua_createtable(L, 0, 2)
            push(name)
            lua_setfield(L, -2, "__name")
            LuaVM.pushFunction(L, name + ".__tostring") { c in
                c.push(text)
                return 1
            }
            lua_setfield(L, -2, "__tostring")
            lua_setmetatable(L, -2)
            return
        }
        // records without their own text share one metatable per kind
        let key = "lathe.record." + name
        if lua_getfield(L, lp_registryindex(), key) != LUA_TTABLE {
            lp_pop(L, 1)
            lua_createtable(L, 0, 2)
            push(name)
            lua_setfield(L, -2, "__name")
            LuaVM.pushFunction(L, name + ".__tostring") { c in
                c.push(name + " " + Printer.fields(L: c.L, index: 1))
                return 1
            }
            lua_setfield(L, -2, "__tostring")
            lua_pushvalue(L, -1)
            lua_setfield(L, lp_registryindex(), key)
        }
        lua_setmetatable(L, -2)
    }
}
