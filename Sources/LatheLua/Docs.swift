import CLua
import CLuaShim
import LatheCore

/// Documentation of one Lua-visible function: what `help(f)` prints. Every binding has one,
/// and tests run every example.
public struct Doc: Sendable {
    public var summary: String
    public var signature: String
    public var details: String
    public var returns: String
    public var errors: String
    public var example: String
    /// Made from a `LuaFunc` declaration (its signature and options come from the code's own
    /// checks), not written by hand.
    public var declared: Bool

    public init(_ summary: String, signature: String, details: String = "", returns: String = "",
                errors: String = "", example: String, declared: Bool = false) {
        self.summary = summary
        self.signature = signature
        self.details = details
        self.returns = returns
        self.errors = errors
        self.example = example
        self.declared = declared
    }

    /// The text `help()` prints.
    public func render(name: String) -> String {
        var out = signature.isEmpty ? name : signature
        out += "\n  " + summary.replacingOccurrences(of: "\n", with: "\n  ")
        func section(_ title: String, _ body: String) {
            guard !body.isEmpty else { return }
            out += "\n\n" + title + ":\n    " + body.replacingOccurrences(of: "\n", with: "\n    ")
        }
        if !details.isEmpty { out += "\n\n  " + details.replacingOccurrences(of: "\n", with: "\n  ") }
        section("Returns", returns)
        section("Errors", errors)
        section("Example", example)
        return out
    }
}

/// All documentation known to one VM: modules, classes and functions.
public final class DocRegistry {
    public struct ModuleInfo {
        public var name: String
        public var summary: String
        public var details: String
    }
    /// Every entry by name. Declared functions' entries are made from their declarations the
    /// first time anyone reads this (help, the reference), not at start-up.
    public var entries: [String: Doc] {
        if !pending.isEmpty {
            for (name, p) in pending { stored[name] = p.f.doc(name, isMethod: p.isMethod) }
            pending.removeAll()
        }
        return stored
    }
    private var stored: [String: Doc] = [:]
    private var pending: [String: (f: LuaFunc, isMethod: Bool)] = [:]
    public private(set) var modules: [String: ModuleInfo] = [:]
    public private(set) var classes: [String: (summary: String, methods: [String], fields: [String])] = [:]

    /// Declared functions and methods by full name (`lora.apply`, `Tensor:reshape`).
    public private(set) var declarations: [String: LuaFunc] = [:]

    public func add(_ name: String, _ doc: Doc) { pending[name] = nil; stored[name] = doc }
    func add(_ name: String, declared f: LuaFunc, isMethod: Bool) {
        stored[name] = nil
        pending[name] = (f, isMethod)
        declarations[name] = f
    }

    /// The reference section of docs/API.md: every declared function, its signature, summary,
    /// arguments and options, made from the declarations (a test keeps the file equal to it).
    public func reference() -> String {
        var out = ""
        let groups = Dictionary(grouping: declarations.keys) { name -> String in
            if let i = name.firstIndex(where: { $0 == "." || $0 == ":" }) { return String(name[..<i]) }
            return ""
        }
        for group in groups.keys.sorted() {
            out += group.isEmpty ? "### Globals\n" : "### `\(group)`\n"
            for name in groups[group]!.sorted() {
                let f = declarations[name]!
                let isMethod = name.contains(":")
                out += "\n#### `\(f.signature(name, isMethod: isMethod))`\n\n"
                out += f.summary.replacingOccurrences(of: "\n", with: " ") + "\n"
                let rows = f.params.map { p in
                    "| `\(p.shown)` | \(mdCell(p.kind.text))\(p.optional ? ", optional" : "") | | \(mdCell(p.doc)) |"
                } + f.options.map { o in
                    "| `\(o.name)` | \(mdCell(o.kind.text)) | \(mdCell(o.defaultValue.text ?? "")) | \(mdCell(o.doc)) |"
                }
                if !rows.isEmpty {
                    out += "\n| argument or option | accepts | default | meaning |\n|---|---|---|---|\n" + rows.joined(separator: "\n") + "\n"
                }
            }
            out += "\n"
        }
        let lua = entries.filter { !$0.value.declared && writtenInLua.contains($0.key) }.keys.sorted()
        if !lua.isEmpty {
            out += "### Written in Lua (stdlib/lathe)\n"
            for name in lua {
                let d = entries[name]!
                out += "\n#### `\(d.signature)`\n\n" + d.summary.replacingOccurrences(of: "\n", with: " ") + "\n"
                if !d.details.isEmpty { out += "\n" + d.details + "\n" }
            }
            out += "\n"
        }
        return out
    }

    /// Names documented by lathe.doc from Lua (stdlib/lathe's conveniences).
    public private(set) var writtenInLua: Set<String> = []
    func addWrittenInLua(_ name: String, _ doc: Doc) {
        add(name, doc)
        writtenInLua.insert(name)
    }

    func mdCell(_ s: String) -> String {
        s.replacingOccurrences(of: "|", with: "\\|").replacingOccurrences(of: "\n", with: " ")
    }
    public func addModule(_ name: String, summary: String, details: String) {
        if modules[name] == nil || !summary.isEmpty {
            modules[name] = ModuleInfo(name: name, summary: summary, details: details)
        }
    }
    public func addClass(_ name: String, summary: String) {
        classes[name] = (summary, classes[name]?.methods ?? [], classes[name]?.fields ?? [])
    }
    func setClassMembers(_ name: String, methods: [String], fields: [String]) {
        classes[name]?.methods = methods
        classes[name]?.fields = fields
    }

    /// Functions of a module, sorted.
    public func functions(of module: String) -> [String] {
        entries.keys.filter { $0.hasPrefix(module + ".") && !$0.dropFirst(module.count + 1).contains(".") }.sorted()
    }

    /// The help text for a name: a function, a module, or a class.
    public func text(for name: String) -> String? {
        if let d = entries[name] { return d.render(name: name) }
        if let m = modules[name] {
            var out = "\(name): \(m.summary)"
            if !m.details.isEmpty { out += "\n\n" + m.details }
            let fns = functions(of: name)
            if !fns.isEmpty {
                out += "\n\nFunctions:"
                let w = fns.map { $0.count }.max() ?? 0
                for f in fns {
                    out += "\n  " + f.padding(toLength: w, withPad: " ", startingAt: 0) + "  " + (entries[f]?.summary.split(separator: "\n").first.map(String.init) ?? "")
                }
            }
            let cls = classes.keys.filter { c in classes[c]!.methods.contains { entries["\(c):\($0)"] != nil } && c.lowercased().hasPrefix(name.lowercased()) }
            for c in cls.sorted() { out += "\n\n" + (classText(c) ?? "") }
            out += "\n\nhelp(\(name).NAME) shows one function with an example."
            return out
        }
        if classes[name] != nil { return classText(name) }
        return nil
    }

    func classText(_ name: String) -> String? {
        guard let c = classes[name] else { return nil }
        var out = "\(name): \(c.summary)\n\nMethods:"
        let ms = c.methods.sorted()
        let w = ms.map { $0.count + 1 }.max() ?? 0
        for m in ms {
            let s = entries["\(name):\(m)"]?.summary.split(separator: "\n").first.map(String.init) ?? ""
            out += "\n  " + (":" + m).padding(toLength: w, withPad: " ", startingAt: 0) + "  " + s
        }
        if !c.fields.isEmpty { out += "\n\nFields: " + c.fields.sorted().joined(separator: ", ") }
        return out
    }

    /// `help()` with no argument: the modules and how to get further.
    public func overview() -> String {
        var out = "Lathe \(LatheInfo.version): fine-tune language models on your own data.\n\nModules:"
        let ms = modules.keys.sorted()
        let w = ms.map { $0.count }.max() ?? 0
        for m in ms {
            out += "\n  " + m.padding(toLength: w, withPad: " ", startingAt: 0) + "  " + (modules[m]?.summary ?? "")
        }
        out += "\n\nhelp(module) or ?module lists its functions; help(module.fn) shows one with an example."
        out += "\nAt the prompt, :help lists the shell commands (:save, :load, :time, :who, ...)."
        return out
    }
}

/// `help`, `show` and `lathe.doc`: the documentation entry points.
enum HelpModule: LuaInstaller {
    static func install(_ vm: LuaVM) throws {
        vm.global(help)
        vm.global(show)
    }

    static let help = LuaFunc(
        "help", "Shows the documentation of a Lathe function, module or object; help() lists the modules.",
        params: [LuaParam("x", .any, optional: true, "a function, a module, an object or a name as a string")],
        returns: "nothing; prints the text",
        details: "x may be a function (help(tensor.zeros)), a module (help(tensor)), an object\n(help(t) for a tensor t) or a name as a string (help(\"tensor.zeros\")).\nAt the prompt, ?x is the same as help(x).",
        errors: "none: an undocumented value prints what it is.",
        example: "help(lathe.seed)\nhelp(\"lathe\")"
    ) { c in
        try c.vm.loadConveniences()
        Output.write(helpText(vm: c.vm, call: c) + "\n")
        return 0
    }

    static let show = LuaFunc(
        "show", "Prints values the way the prompt does: tables nested and aligned, objects through their summary.",
        params: [LuaParam("values", .any, optional: true, variadic: true, "the values to print")],
        returns: "nothing",
        details: "Saved sessions use show(expr) where an expression was typed alone at the prompt,\nso `lathe run` prints what the session printed.",
        example: "show({1, 2, 3}, {name = \"lathe\", nested = {ok = true}})"
    ) { c in
        let n = c.top
        if n == 0 { return 0 }
        var parts: [String] = []
        for i in 1...n { parts.append(Printer.format(L: c.L, index: i, topLevel: true)) }
        Output.write(parts.joined(separator: "\t") + "\n")
        return 0
    }

    static func helpText(vm: LuaVM, call c: LuaCall) -> String {
        let L = c.L
        if c.top == 0 || c.isNoneOrNil(1) && c.top == 0 {
            return vm.docs.overview()
        }
        if let s = c.string(1) {
            let key = s.hasPrefix("?") ? String(s.dropFirst()) : s
            if let t = vm.docs.text(for: key) { return t }
            return "no help for '\(key)'. help() lists the modules."
        }
        // function/table: look it up by value
        lua_getfield(L, lp_registryindex(), "lathe.docnames")
        lua_pushvalue(L, 1)
        lua_rawget(L, -2)
        let name = c.string(-1)
        lp_pop(L, 2)
        if let name, let t = vm.docs.text(for: name) { return t }
        // an object: its class
        if lua_getmetatable(L, 1) != 0 {
            let cname = lua_rawgetp_string(L, -1, "__name")
            lp_pop(L, 1)
            if let cname, let t = vm.docs.text(for: cname) { return t }
        }
        if c.type(1) == LUA_TNIL { return "help(nil): nothing to show (is the name spelled right?). help() lists the modules." }
        return "no documentation for this \(c.typeName(1)). help() lists the modules."
    }
}
