import CLua
import CLuaShim
import Foundation
import LatheCore

enum DataCleanModule {
    static func install(_ vm: LuaVM) throws {}
}
