import CLatheCore
import CLua
import CLuaShim
import Foundation
import LatheCore

/// Tags that identify the Swift class behind a Lathe userdata. One per class, never reused.
public enum LuaTag {
    public static let tensor: Int32 = 1
    public static let table: Int32 = 2
    public static let tokenizer: Int32 = 3
    public static let module: Int32 = 4
    public static let optimizer: Int32 = 5
    public static let schedule: Int32 = 6
    public static let history: Int32 = 7
    public static let report: Int32 = 8
    public static let experiment: Int32 = 9
    public static let metricsReport: Int32 = 20
    public static let metricsConfusion: Int32 = 21
    public static let metricsSlices: Int32 = 22
    public static let metricsDrift: Int32 = 23
    public static let costResult: Int32 = 25
    public static let costCatalog: Int32 = 26
    public static let run: Int32 = 45
    public static let trackState: Int32 = 46
    public static let study: Int32 = 47
    public static let trial: Int32 = 48
    // Ranges reserved per area (pick the next free number in yours):
    //   10-19 nn / optim / train / lora      20-24 metrics     25-29 cost
    //   30-34 data                            35-39 text        40-44 formats (gguf, ...)
    //   45-46 track   47-49 tune   50-63 free

    /// Tags by Lua class name: a declared argument of a class listed here is checked by its tag
    /// on every call; other classes by their metatable's name, more slowly.
    static let byClassName: [String: Int32] = [
        "Tensor": tensor, "DataTable": table, "Tokenizer": tokenizer, "Module": module, "Optimizer": optimizer, "Schedule": schedule,
        "Report": metricsReport, "ConfusionMatrix": metricsConfusion, "Slices": metricsSlices, "DriftReport": metricsDrift, "Run": run,
    ]
}

/// A Swift class that can live in Lua as a full userdata.
public protocol LuaObject: AnyObject {
    /// Unique per class (see `LuaTag`).
    static var luaTag: Int32 { get }
    /// Bytes the object holds outside Lua's heap; the collector is told, so big temporaries
    /// are reclaimed promptly.
    var luaByteSize: Int { get }
}
extension LuaObject {
    public var luaByteSize: Int { 0 }
}

/// The body of a binding. Arguments and results go through `LuaCall`; the return value is the
/// number of results pushed. Throwing raises a Lua error naming the function.
public typealias LuaBody = (LuaCall) throws -> Int32

/// One Swift binding as Lua holds it (the context of its C closure).
final class FunctionBox {
    let name: String
    let isMethod: Bool
    let body: LuaBody
    /// The declaration the function was made from, when it has one.
    let decl: LuaFunc?
    /// Its arguments' checks as plain values, read on every call without reference counting
    /// (`LuaCall.checkArgs`), and where its options table goes (0: no options).
    let checks: UnsafeMutableBufferPointer<ArgCheck>
    let optionsIndex: Int32
    /// The declared options (empty without a declaration), read without touching `decl`.
    let options: [LuaOpt]
    init(name: String, isMethod: Bool, decl: LuaFunc? = nil, body: @escaping LuaBody) {
        self.name = name
        self.isMethod = isMethod
        self.decl = decl
        self.body = body
        let checks = decl.map { $0.tableCall ? [] : $0.params.map(\.check) } ?? []
        self.checks = .allocate(capacity: checks.count)
        _ = self.checks.initialize(from: checks)
        optionsIndex = decl.map { $0.options.isEmpty || $0.tableCall ? 0 : $0.optionsIndex(isMethod: isMethod) } ?? 0
        options = decl?.options ?? []
    }
    deinit { checks.deallocate() }
    /// The context of `LuaCall(L:)`, used outside bindings.
    nonisolated(unsafe) static let unnamed = FunctionBox(name: "", isMethod: false) { _ in 0 }
}

/// The one C-callable entry of every Swift binding: runs the body and always returns.
func luaDispatch(_ L: OpaquePointer?, _ ctx: UnsafeMutableRawPointer?) -> Int32 {
    guard let L, let ctx else { return 0 }
    let box = Unmanaged<FunctionBox>.fromOpaque(ctx).takeUnretainedValue()
    let call = LuaCall(L: L, box: box)
    do {
        // declared arguments are checked before the body runs (functions without any skip this)
        if !box.checks.isEmpty { try call.checkArgs() }
        return try box.body(call)
    } catch let e as LuaError {
        if e.asIs {
            call.push(e.message)
            return Int32(LP_RAISE_AS_IS)
        }
        call.push(qualify(box.name, e.message))
        return Int32(LP_RAISE)
    } catch let e as LatheError {
        if e == LatheError.interrupted {
            call.push("interrupted!")
            return Int32(LP_RAISE)
        }
        call.push(qualify(box.name, e.message))
        return Int32(LP_RAISE)
    } catch {
        call.push(qualify(box.name, "\(error)"))
        return Int32(LP_RAISE)
    }
}

func qualify(_ name: String, _ message: String) -> String {
    if message.hasPrefix(name + ":") || message.hasPrefix(name + " ") { return message }
    // the engine names its operation ("narrow: ..."); the Lua name replaces it
    let short = name.split(whereSeparator: { $0 == "." || $0 == ":" }).last.map(String.init) ?? name
    if message.hasPrefix(short + ": ") { return name + message.dropFirst(short.count) }
    return name + ": " + message
}

func releaseBox(_ ctx: UnsafeMutableRawPointer?) {
    guard let ctx else { return }
    Unmanaged<FunctionBox>.fromOpaque(ctx).release()
}

func releaseObject(_ ctx: UnsafeMutableRawPointer?) {
    guard let ctx else { return }
    Unmanaged<AnyObject>.fromOpaque(ctx).release()
}

/// Something that installs Lua functions into a VM (one per Lua module).
public protocol LuaInstaller {
    static func install(_ vm: LuaVM) throws
}

/// One Lua state with Lathe's modules, documentation and printer.
public final class LuaVM {
    public let L: OpaquePointer
    public let docs = DocRegistry()
    /// Names of the globals that exist after start-up (`:who` lists the others).
    public private(set) var builtinGlobals: Set<String> = []
    /// Where the shipped Lua modules live (on package.path), if found.
    public private(set) var stdlibPath: String?

    /// Every module installer, in order. Later issues add theirs here.
    public nonisolated(unsafe) static var installers: [LuaInstaller.Type] = [
        LatheFunctions.self,
        CaptureModule.self,
        TensorFunctions.self,
        NNFunctions.self,
        OptimFunctions.self,
        TrainFunctions.self,
        LoRAFunctions.self,
        CostFunctions.self,
        MetricsFunctions.self,
        TextFunctions.self,
        HFFunctions.self,
        DataFunctions.self,
        JSONFunctions.self,
        TrackFunctions.self,
        TuneFunctions.self,
    ]

    public init(stdlib: String? = LuaVM.findStdlib()) throws {
        guard let L = lp_newstate() else { throw LuaError("could not create a Lua state") }
        self.L = L
        // declared bindings are static; the ones that need the VM (help, docs) find it here
        lua_pushlightuserdata(L, Unmanaged.passUnretained(self).toOpaque())
        lua_setfield(L, lp_registryindex(), "lathe.vm")
        luaL_openlibs(L)
        stdlibPath = stdlib
        if let stdlib { addToPackagePath(stdlib) }
        installDocsTables()
        for inst in LuaVM.installers {
            try inst.install(self)
        }
        try HelpModule.install(self)
        try runStdlibInit()
        builtinGlobals = Set(globalNames())
    }

    private var closed = false

    /// Closes the Lua state as stock `lua` does at exit: pending to-be-closed variables are
    /// closed and every `__gc` finalizer runs. The VM is unusable afterwards.
    /// Work to do when the state closes (track finishes a run left open); the argument says
    /// whether the script ended with an error.
    public var onClose: [(Bool) -> Void] = []
    /// The session so far as a replayable script (the shell's recorder, or the script being
    /// run); train.fit keeps it with its run.
    public var sessionText: (() -> String)?
    /// Set by the runner when the script ended with an error.
    public var endedWithError = false

    public func close() {
        if closed { return }
        closed = true
        for f in onClose { f(endedWithError) }
        onClose.removeAll()
        lp_close(L)
        fflush(nil)
    }

    deinit {
        close()
    }

    // MARK: - Finding stdlib/

    /// The `stdlib` folder: $LATHE_STDLIB, then `../share/lathe/stdlib` beside the binary, then
    /// a `stdlib/lathe` folder in the binary's folder or up to five levels above (a source
    /// checkout's `.build/<triple>/release/lathe`).
    public static func findStdlib() -> String? {
        let fm = FileManager.default
        if let env = ProcessInfo.processInfo.environment["LATHE_STDLIB"], !env.isEmpty {
            return env
        }
        let exe = (try? fm.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
            ?? CommandLine.arguments.first ?? ""
        var dir = FilePath.parent(exe)
        let share = (dir as NSString).appendingPathComponent("../share/lathe/stdlib")
        if fm.fileExists(atPath: share + "/lathe") { return (share as NSString).standardizingPath }
        for _ in 0..<6 {
            let cand = (dir as NSString).appendingPathComponent("stdlib")
            if fm.fileExists(atPath: cand + "/lathe") { return cand }
            dir = FilePath.parent(dir)
            if dir == "/" || dir.isEmpty { break }
        }
        return nil
    }

    func addToPackagePath(_ dir: String) {
        let top = lua_gettop(L)
        defer { lua_settop(L, top) }
        guard lua_getglobal(L, "package") == LUA_TTABLE else { return }
        lua_getfield(L, -1, "path")
        var len = 0
        let cur = lp_tostring(L, -1, &len).map { String(cString: $0) } ?? ""
        lp_pop(L, 1)
        let add = "\(dir)/?.lua;\(dir)/?/init.lua"
        push(add + ";" + cur)
        lua_setfield(L, -2, "path")
    }

    func runStdlibInit() throws {
        guard let dir = stdlibPath else { return }
        let initFile = dir + "/lathe/init.lua"
        guard FileManager.default.fileExists(atPath: initFile) else { return }
        let top = lua_gettop(L)
        defer { lua_settop(L, top) }
        if luaL_loadfilex(L, initFile, nil) != LUA_OK {
            throw LuaError(string(at: -1) ?? "cannot load \(initFile)")
        }
        if lp_docall(L, 0, 0) != LUA_OK {
            throw LuaError(string(at: -1) ?? "error in \(initFile)")
        }
    }

    // MARK: - Stack helpers (never raise)

    public func push(_ s: String) {
        var s = s
        s.withUTF8 { buf in
            _ = buf.withMemoryRebound(to: CChar.self) { lua_pushlstring(L, $0.baseAddress, $0.count) }
        }
    }

    public func string(at idx: Int32) -> String? {
        guard lua_type(L, idx) == LUA_TSTRING || lua_type(L, idx) == LUA_TNUMBER else { return nil }
        var len = 0
        guard let p = lp_tostring(L, idx, &len) else { return nil }
        return String(decoding: UnsafeRawBufferPointer(start: p, count: len), as: UTF8.self)
    }

    /// The names of all global variables (raw traversal).
    public func globalNames() -> [String] {
        let top = lua_gettop(L)
        defer { lua_settop(L, top) }
        lp_pushglobaltable(L)
        var names: [String] = []
        lua_pushnil(L)
        while lua_next(L, -2) != 0 {
            if lua_type(L, -2) == LUA_TSTRING, let s = string(at: -2) { names.append(s) }
            lp_pop(L, 1)
        }
        return names
    }

    // MARK: - Defining functions, modules and classes

    /// Pushes a Lua function that runs `body`. `name` is how errors and help name it.
    public func pushFunction(_ name: String, isMethod: Bool = false, _ body: @escaping LuaBody) {
        LuaVM.pushFunction(L, name, isMethod: isMethod, body)
    }

    /// The same for any state (bindings that create functions while they run).
    public static func pushFunction(_ L: OpaquePointer, _ name: String, isMethod: Bool = false, _ body: @escaping LuaBody) {
        push(L, FunctionBox(name: name, isMethod: isMethod, body: body))
    }

    static func push(_ L: OpaquePointer, _ box: FunctionBox) {
        lp_pushfunction(L, luaDispatch, Unmanaged.passRetained(box).toOpaque(), releaseBox)
    }

    /// Creates (or fetches) the global module table `name` and returns a builder for it.
    @discardableResult
    public func module(_ name: String, summary: String, details: String = "") -> LuaModuleBuilder {
        docs.addModule(name, summary: summary, details: details)
        let top = lua_gettop(L)
        if lua_getglobal(L, name) != LUA_TTABLE {
            lp_pop(L, 1)
            lp_newtable(L)
            lua_pushvalue(L, -1)
            lua_setglobal(L, name)
        }
        registerDocKey(at: -1, name: name)
        // require("lathe.NAME") (and require("NAME")) return the module; package.loaded also
        // gives tracebacks their `NAME.function` names.
        let modIdx = lua_gettop(L)
        if lua_getglobal(L, "package") == LUA_TTABLE {
            lua_getfield(L, -1, "loaded")
            lua_pushvalue(L, modIdx)
            lua_setfield(L, -2, name)
            lp_pop(L, 1)
            lp_pop(L, 1)
            // require("lathe.NAME") too
            let code = "local m = ...; package.preload['lathe.\(name)'] = function() return m end"
            if load(code, chunkname: "=(lathe)").ok {
                lua_pushvalue(L, modIdx)
                _ = lp_pcall(L, 1, 0, 0)
            }
        }
        lua_settop(L, top)
        return LuaModuleBuilder(vm: self, name: name)
    }

    /// Loads stdlib/lathe's Lua conveniences that load themselves on first use (see
    /// stdlib/lathe/init.lua), so help, the reference and completion know every function.
    public func loadConveniences() throws {
        if conveniencesLoaded { return }
        conveniencesLoaded = true
        if let err = run("if lathe.load_conveniences then lathe.load_conveniences() end", chunkname: "=(lathe)") {
            throw LuaError("loading stdlib/lathe: \(err)")
        }
    }
    var conveniencesLoaded = false

    /// Installs a declared function as a global (`help`, `show`).
    public func global(_ f: LuaFunc) {
        docs.add(f.name, declared: f, isMethod: false)
        LuaVM.push(L, FunctionBox(name: f.name, isMethod: false, decl: f, body: f.body))
        registerDocKey(at: -1, name: f.name)
        lua_setglobal(L, f.name)
    }

    /// Records `value at idx` -> `name` in the weak-keyed table `help` uses to find docs.
    func registerDocKey(at idx: Int32, name: String) {
        let abs = lua_absindex(L, idx)
        lua_getfield(L, lp_registryindex(), "lathe.docnames")
        lua_pushvalue(L, abs)
        push(name)
        lua_rawset(L, -3)
        lp_pop(L, 1)
    }

    private func installDocsTables() {
        lp_newtable(L)
        lp_newtable(L)
        push("k")
        lua_setfield(L, -2, "__mode")
        lua_setmetatable(L, -2)
        lua_setfield(L, lp_registryindex(), "lathe.docnames")
    }

    /// Defines a class: its metatable holds `__index` (methods, then getters, then `index`
    /// for other keys), `__newindex` if given, `__gc`, `__name`, and any metamethods.
    public func defineClass<T: LuaObject>(
        _ type: T.Type, name: String, summary: String,
        configure: (LuaClassBuilder<T>) -> Void
    ) {
        docs.addClass(name, summary: summary)
        let b = LuaClassBuilder<T>(vm: self, name: name)
        configure(b)
        b.finish()
    }

    /// Pushes a Swift object as a Lathe userdata (a new Lua value each time).
    public func pushObject<T: LuaObject>(_ obj: T) {
        let p = Unmanaged.passRetained(obj as AnyObject).toOpaque()
        lp_pushobject(L, p, T.luaTag, releaseObject, obj.luaByteSize)
    }

    /// The object of class T at idx, or nil.
    public func object<T: LuaObject>(at idx: Int32, _ type: T.Type) -> T? {
        guard let p = lp_toobject(L, idx, T.luaTag) else { return nil }
        return Unmanaged<T>.fromOpaque(p).takeUnretainedValue()
    }

    // MARK: - Running code

    /// Loads `code` as chunk `chunkname`; on success the function is on the stack.
    public func load(_ code: String, chunkname: String) -> (ok: Bool, error: String?) {
        var code = code
        let st: Int32 = code.withUTF8 { buf in
            buf.withMemoryRebound(to: CChar.self) {
                lp_loadbuffer(L, $0.baseAddress, $0.count, chunkname)
            }
        }
        if st == LUA_OK { return (true, nil) }
        let msg = string(at: -1) ?? "syntax error"
        lp_pop(L, 1)
        return (false, msg)
    }

    /// Runs the function under `nargs` arguments with a traceback handler and Ctrl-C handling.
    /// Returns the number of results left on the stack, or the error message.
    public func call(nargs: Int32, base: Int32) -> Result<Int32, LuaError> {
        let st = lp_docall(L, nargs, LUA_MULTRET)
        if st != LUA_OK {
            let msg: String
            if let s = string(at: -1) {
                msg = s
            } else if let s = lp_safe_tolstring(L, -1, nil) {
                msg = String(cString: s)
                lp_pop(L, 1)
            } else {
                msg = "(error object is a \(String(cString: lua_typename(L, lua_type(L, -1)))) value)"
            }
            lua_settop(L, base)
            return .failure(LuaError(msg))
        }
        return .success(lua_gettop(L) - base)
    }

    /// Runs a string of code; returns nil on success or the error message (with traceback).
    @discardableResult
    public func run(_ code: String, chunkname: String = "=(lathe)") -> String? {
        let base = lua_gettop(L)
        let (ok, err) = load(code, chunkname: chunkname)
        guard ok else { return err }
        switch call(nargs: 0, base: base) {
        case .success: lua_settop(L, base); return nil
        case .failure(let e): return e.message
        }
    }

    /// Sets a global string (the `lathe runs` command passes its arguments this way).
    public func setGlobal(_ name: String, string value: String) {
        push(value)
        lua_setglobal(L, name)
    }

    /// Runs a full garbage collection.
    public func collectGarbage() { lp_gc_collect(L) }
}

/// Builds a module table's functions with their help entries.
public struct LuaModuleBuilder {
    let vm: LuaVM
    public let name: String

    /// Adds `name.fname` with its documentation.
    public func function(_ fname: String, _ doc: Doc, _ body: @escaping LuaBody) {
        let L = vm.L
        let full = name + "." + fname
        vm.docs.add(full, doc)
        let top = lua_gettop(L)
        defer { lua_settop(L, top) }
        lua_getglobal(L, name)
        vm.pushFunction(full, body)
        vm.registerDocKey(at: -1, name: full)
        lua_setfield(L, -2, fname)
    }

    /// Adds declared functions (a module's `luaL_Reg`-like list).
    public func add(_ funcs: [LuaFunc]) {
        let L = vm.L
        for f in funcs {
            let full = name + "." + f.name
            vm.docs.add(full, declared: f, isMethod: false)
            let top = lua_gettop(L)
            lua_getglobal(L, name)
            LuaVM.push(L, FunctionBox(name: full, isMethod: false, decl: f, body: f.body))
            vm.registerDocKey(at: -1, name: full)
            lua_setfield(L, -2, f.name)
            lua_settop(L, top)
        }
    }

    /// Sets a plain value field (a number, string...) of the module.
    public func constant(_ fname: String, _ value: LuaValue) {
        let L = vm.L
        let top = lua_gettop(L)
        defer { lua_settop(L, top) }
        lua_getglobal(L, name)
        // constants are small literal values made by Lathe itself
        try! LuaCall(L: L).push(value)
        lua_setfield(L, -2, fname)
    }
}

/// Builds a class metatable.
public final class LuaClassBuilder<T: LuaObject> {
    let vm: LuaVM
    let name: String
    // bodies go into boxes at once: a closure kept in a generic container is stored maximally
    // abstracted and comes back out wrapped in reabstraction thunks, paid on every call
    var methods: [(String, Doc?, FunctionBox)] = []
    var getters: [(String, FunctionBox)] = []
    var metas: [(String, FunctionBox)] = []
    var indexFallback: FunctionBox?

    init(vm: LuaVM, name: String) {
        self.vm = vm
        self.name = name
    }

    /// A method `obj:mname(...)`; the body's argument 1 is the object (checked for you by
    /// `call.selfObject(T.self)`), error numbering skips it.
    public func method(_ mname: String, _ doc: Doc?, _ body: @escaping LuaBody) {
        methods.append((mname, doc, FunctionBox(name: name + ":" + mname, isMethod: true, body: body)))
    }
    /// Adds declared methods.
    public func add(_ funcs: [LuaFunc]) {
        for f in funcs {
            let full = name + ":" + f.name
            vm.docs.add(full, declared: f, isMethod: true)
            methods.append((f.name, nil, FunctionBox(name: full, isMethod: true, decl: f, body: f.body)))
        }
    }
    /// A read-only field `obj.fname` computed by `body` (argument 1 is the object).
    public func getter(_ fname: String, _ body: @escaping LuaBody) {
        getters.append((fname, FunctionBox(name: name + "." + fname, isMethod: true, body: body)))
    }
    /// A metamethod such as `__tostring`, `__add`, `__len`, `__newindex`, `__call`.
    public func meta(_ mname: String, _ body: @escaping LuaBody) {
        metas.append((mname, FunctionBox(name: name + "." + mname, isMethod: mname == "__call", body: body)))
    }
    /// Handles `obj[key]` for keys that are not methods or getters (e.g. numbers).
    public func index(_ body: @escaping LuaBody) {
        indexFallback = FunctionBox(name: name + " index", isMethod: true, body: body)
    }

    func finish() {
        let L = vm.L
        let top = lua_gettop(L)
        defer { lua_settop(L, top) }
        lp_newmetatable(L, T.luaTag, name)
        let mt = lua_gettop(L)
        // methods table
        lp_newtable(L)
        let mtab = lua_gettop(L)
        for (mname, doc, box) in methods {
            let full = box.name
            if let doc { vm.docs.add(full, doc) }
            LuaVM.push(L, box)
            vm.registerDocKey(at: -1, name: full)
            lua_setfield(L, mtab, mname)
        }
        lp_newtable(L)
        let gtab = lua_gettop(L)
        for (gname, box) in getters {
            LuaVM.push(L, box)
            lua_setfield(L, gtab, gname)
        }
        if let f = indexFallback {
            LuaVM.push(L, f)
        } else {
            lua_pushnil(L)
        }
        let fb = lua_gettop(L)
        lp_push_index_dispatch(L, mtab, gtab, fb)
        lua_setfield(L, mt, "__index")
        lua_pushvalue(L, mtab)
        lua_setfield(L, mt, "__methods")
        lua_pushvalue(L, gtab)
        lua_setfield(L, mt, "__getters")
        for (mname, box) in metas {
            LuaVM.push(L, box)
            lua_setfield(L, mt, mname)
        }
        vm.docs.setClassMembers(name, methods: methods.map { $0.0 }, fields: getters.map { $0.0 })
    }
}
