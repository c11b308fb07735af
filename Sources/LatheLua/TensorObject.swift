import LatheCore

extension Tensor: LuaObject {
    public static var luaTag: Int32 { LuaTag.tensor }
    public var luaByteSize: Int { byteSize }
}
