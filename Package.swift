// swift-tools-version:6.0
import PackageDescription

// Release builds of the numeric core skip exclusivity checks in hot loops; everything else
// keeps Swift's default safety.
let coreSwiftSettings: [SwiftSetting] = [
    .unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release)),
]

// Linux on x86-64 only: the matrix kernels dispatch on CPUID (AVX2, AVX-512, AVX512_BF16, AMX)
// and the system libraries come from Debian packages (scripts/setup).
let package = Package(
    name: "Lathe",
    products: [
        .executable(name: "lathe", targets: ["lathe"]),
        .library(name: "LatheCore", targets: ["LatheCore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // System libraries (Debian: liblua5.4-dev, libedit-dev). OpenBLAS is loaded lazily
        // with dlopen by CLatheCore, so it is not linked here (fast start-up).
        .systemLibrary(name: "CLua", pkgConfig: "lua5.4", providers: [.apt(["liblua5.4-dev"])]),
        .systemLibrary(name: "CEditline", pkgConfig: "libedit", providers: [.apt(["libedit-dev"])]),
        // The run store (track): SQLite (Debian: libsqlite3-dev). Artifacts' SHA-256 comes from
        // libcrypto, loaded with dlopen on first use by CLatheCore.
        .systemLibrary(name: "CTrackLibs", providers: [.apt(["libsqlite3-dev"])]),

        // Tiny C for the engine: lazy BLAS loader, SIMD kernels, the interrupt flag.
        .target(
            name: "CLatheCore",
            cSettings: [.unsafeFlags(["-O3", "-fno-math-errno"])],
            linkerSettings: [.linkedLibrary("dl"), .linkedLibrary("pthread"), .linkedLibrary("m")]
        ),
        // Lathe's matrix kernels (fp32 AVX-512/AVX2, bf16 AMX/AVX512_BF16, runtime-dispatched)
        // and its thread pool. Instruction sets are chosen per function with target
        // attributes, so the library runs on any x86-64.
        .target(
            name: "CGemm",
            cSettings: [.unsafeFlags(["-O3", "-fno-math-errno"])],
            linkerSettings: [.linkedLibrary("pthread")]
        ),
        // Tiny C for Lua: macro wrappers, the error trampoline, the allocator, SIGINT.
        .target(name: "CLuaShim", dependencies: ["CLua", "CLatheCore"]),

        .target(name: "LatheCore", dependencies: ["CLatheCore", "CGemm", "CTrackLibs"], swiftSettings: coreSwiftSettings),
        .target(name: "LatheLua", dependencies: ["LatheCore", "CLua", "CLuaShim", "CLatheCore"]),
        .target(name: "CShellShim", dependencies: ["CEditline"]),
        .target(name: "LatheShell", dependencies: ["LatheLua", "CLua", "CLuaShim", "CShellShim", "CLatheCore"]),
        .executableTarget(
            name: "lathe",
            dependencies: [
                "LatheShell", "LatheLua",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        // the comparison helpers every Swift test uses (NaN never passes)
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "LatheCoreTests", dependencies: ["LatheCore", "CLatheCore", "TestSupport"]),
        .testTarget(name: "LatheShellTests", dependencies: ["LatheShell", "LatheLua", "LatheCore", "TestSupport"]),
    ]
)
