import CLua
import CLuaShim
import Foundation
import LatheCore

enum DataPrepModule {
    static func install(_ vm: LuaVM) throws {}
}
