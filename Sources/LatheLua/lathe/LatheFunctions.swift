import CLatheCore
import CLua
import CLuaShim
import LatheCore

/// The `lathe` global: version, the one seed, threads, kernel facts, clocks and memory, and
/// the documentation registry (`lathe.doc` for functions written in Lua).
enum LatheFunctions: LuaInstaller {
    static func install(_ vm: LuaVM) throws {
        let m = vm.module("lathe", summary: "Lathe itself: version, the random seed, threads, documentation.")
        m.constant("version", .string(LatheInfo.version))
        m.add([seed, threads, blas, clock, memory, doc, helpEntries, example, apiReference, swiftDepth])
    }

    static let seed = LuaFunc(
        "seed", "Sets the one seed that drives every random draw in Lathe (or returns the current seed).",
        params: [LuaParam("n", .integer(0...Int.max), optional: true, "the new seed")],
        returns: "integer or nothing: with no argument, the seed in force; with n, nothing",
        details: "Every random function (tensor.randn, data.split, dropout, shuffling...) draws from one\ngenerator; the same seed gives the same numbers on every run. Saved sessions record the\nseed in force when the session started. The default seed is \(Runtime.defaultSeed).",
        example: "lathe.seed(1234)\nprint(lathe.seed())"
    ) { c in
        if !c.isNoneOrNil(1) {
            Runtime.seed(UInt64(try c.checkInt(1, "n")))
            return 0
        }
        c.push(Int(bitPattern: UInt(Runtime.seed)))
        return 1
    }

    static let threads = LuaFunc(
        "threads", "Sets how many threads Lathe's math uses (or returns the current number).",
        params: [LuaParam("n", .integer(1...256), optional: true, "the new thread count")],
        returns: "integer or nothing: with no argument, the thread count in force; with n, nothing",
        details: "Applies to Lathe's own parallel kernels and to OpenBLAS, so the two never\noversubscribe the cores. The default is the number of cores.",
        example: "local old = lathe.threads()\nlathe.threads(1)\nprint(lathe.threads())\nlathe.threads(old)"
    ) { c in
        if !c.isNoneOrNil(1) {
            Runtime.setThreads(try c.checkInt(1, "n"))
            return 0
        }
        c.push(Runtime.threads)
        return 1
    }

    static let blas = LuaFunc(
        "blas", "Tells which kernel serves which matrix product on this CPU (fp32, bf16, the OpenBLAS fallback).",
        returns: "{fp32=, bf16=, fallback=, cpu=, caches=, threads=, override=}: strings",
        details: "Lathe's own kernels serve matrix products: fp32 on AVX-512 (14x32 micro-kernel) or\nAVX2+FMA (6x16), bf16 (precision=\"bf16\") on AMX tiles or AVX512_BF16, chosen at run time from\nCPUID. OpenBLAS serves fp32 on CPUs without AVX2 or when LATHE_GEMM=openblas is set (for\ncomparisons); LATHE_GEMM=avx2|avx512 forces an fp32 kernel, LATHE_GEMM_BF16=avx512bf16|amx|none the\nbf16 one (amx-emulated: the AMX code path with its tile instructions modelled in C, for\ntesting without AMX). A forced kernel this CPU cannot run is not used: a warning says so and\nthe field `override` keeps the reason. OpenBLAS is held to one thread while Lathe's kernels are in use.\nThe fields are strings: fp32, bf16 and fallback name the kernel for each; cpu lists the\ninstruction sets found; caches the L1d/L2 sizes the blocking uses; threads the pool size.",
        example: "local b = lathe.blas()\nprint(b.fp32)\nprint(b.bf16)"
    ) { c in
        try c.ret(.record(Gemm.report().map { ($0.op, .string($0.kernel)) }))
    }

    static let clock = LuaFunc(
        "clock", "Wall-clock and CPU seconds since an arbitrary start (for timing code).",
        returns: "wall, cpu: wall seconds (monotonic) and process CPU seconds",
        example: "local w0, c0 = lathe.clock()\nfor i = 1, 1e5 do end\nlocal w1, c1 = lathe.clock()\nprint(w1 - w0 >= 0, c1 - c0 >= 0)"
    ) { c in
        c.push(monotonicSeconds())
        c.push(lk_cpu_seconds())
        return 2
    }

    static let memory = LuaFunc(
        "memory", "Memory use of this process: resident bytes now and at the peak, and Lua's heap.",
        returns: "{rss=, peak_rss=, lua=}: byte counts",
        example: "local m = lathe.memory()\nprint(m.rss > 0, m.peak_rss >= m.rss)"
    ) { c in
        try c.ret(.record([
            ("rss", .int(lk_current_rss_bytes())),
            ("peak_rss", .int(lk_peak_rss_bytes())),
            ("lua", .int(Int(lp_gc_count_kb(c.L)) * 1024)),
        ]))
    }

    static let doc = LuaFunc(
        "doc", "Registers help for a function written in Lua, so help(f) and the tests know it.",
        params: [LuaParam("f", .either([.function, .table]), "the function (or table) to document"),
                 LuaParam("name", .string, "the name help() shows")],
        options: [
            LuaOpt("summary", .string, .none, "one line: what it does (required)"),
            LuaOpt("signature", .string, .computed("the name"), "how it is called"),
            LuaOpt("details", .string, .string(""), "more lines"),
            LuaOpt("returns", .string, .string(""), "what it returns"),
            LuaOpt("errors", .string, .string(""), "the errors it raises"),
            LuaOpt("example", .string, .none, "runnable Lua (required; the tests run it)"),
        ],
        returns: "f",
        details: "Used by the Lua modules shipped in stdlib/.",
        errors: "a missing summary or example.",
        example: "local function twice(x) return 2 * x end\nlathe.doc(twice, \"twice\", {summary = \"Doubles x.\", example = \"print(twice(2))\"})\nhelp(twice)"
    ) { c in
        let name = try c.checkString(2, "name")
        let o = try c.opts()
        guard let summary = try o.stringIfGiven("summary") else { throw c.error("option 'summary' is required") }
        guard let example = try o.stringIfGiven("example") else { throw c.error("option 'example' is required (runnable Lua)") }
        let vm = c.vm
        let doc = Doc(summary, signature: try o.stringIfGiven("signature") ?? name, details: try o.string("details"),
                      returns: try o.string("returns"), errors: try o.string("errors"), example: example)
        // functions of stdlib/lathe's files are part of Lathe's API (and its reference); a user's are not
        let source = lp_function_source(c.L, 1).map { String(cString: $0) } ?? ""
        if let dir = vm.stdlibPath, source.hasPrefix("@" + dir) { vm.docs.addWrittenInLua(name, doc) } else { vm.docs.add(name, doc) }
        vm.registerDocKey(at: 1, name: name)
        lua_pushvalue(c.L, 1)
        return 1
    }

    static let helpEntries = LuaFunc(
        "help_entries", "Names of every documented function, module and class (sorted).",
        returns: "{name, ...}: help(name) prints each",
        example: "local names = lathe.help_entries()\nprint(#names > 0, names[1])"
    ) { c in
        try c.vm.loadConveniences()
        return try c.ret(.strings(Array(c.vm.docs.entries.keys).sorted()))
    }

    static let example = LuaFunc(
        "example", "The runnable example of a documented function (what help() shows under Example).",
        params: [LuaParam("name", .string, "a name from lathe.help_entries()")],
        returns: "string or nil: the example's Lua source",
        example: "print(lathe.example(\"lathe.seed\"))"
    ) { c in
        if let d = c.vm.docs.entries[try c.checkString(1, "name")] { c.push(d.example) } else { c.pushNil() }
        return 1
    }

    static let apiReference = LuaFunc(
        "api_reference", "The reference of every declared function as Markdown (docs/API.md holds it).",
        returns: "string: Markdown",
        details: "Made from the declarations the bindings are built from: signatures, arguments, options with\ntheir kinds and defaults. scripts/gen/api_reference.sh writes it into docs/API.md, and a test\nfails when the committed file differs.",
        example: "local md = lathe.api_reference()\nprint(md:match(\"#### `lora.apply%(.-%)`\") ~= nil)"
    ) { c in
        try c.vm.loadConveniences()
        c.push(c.vm.docs.reference())
        return 1
    }

    static let swiftDepth = LuaFunc(
        "swift_depth", "Internal check: Swift binding frames entered and not returned (always 0 between calls).",
        returns: "integer: 0 when every Swift frame returned normally",
        details: "Lua errors must never unwind through Swift frames; tests assert this stays 0\nafter many failing calls.",
        example: "pcall(lathe.seed, \"x\")\nprint(lathe.swift_depth())"
    ) { c in
        c.push(lp_swift_depth() - 1)  // this call's own frame
        return 1
    }
}
