import Foundation

extension HF {
    /// A model or data set that scripts/fetch_models.sh fetches into the cache.
    public struct CachedItem: Sendable {
        public let name: String
        /// Path inside the cache folder.
        public let path: String
        /// The fetch script's argument that fetches it.
        public let fetch: String
        public let about: String
    }

    public static let cachedItems: [CachedItem] = [
        CachedItem(name: "minilm", path: "models/all-MiniLM-L6-v2", fetch: "minilm", about: "sentence-transformers/all-MiniLM-L6-v2 (a model folder)"),
        CachedItem(name: "smollm2", path: "models/smollm2-135m-instruct/SmolLM2-135M-Instruct.Q4_1.gguf", fetch: "smollm2",
                   about: "SmolLM2-135M-Instruct (a GGUF file)"),
        CachedItem(name: "sms-spam", path: "data/sms-spam.csv", fetch: "data", about: "SMS spam collection (CSV: ,spam,text)"),
        CachedItem(name: "movie-reviews", path: "data/movieReviewSnippets_GroundTruth.txt", fetch: "data",
                   about: "movie-review sentiment snippets (TSV: id, score, text)"),
        CachedItem(name: "trec", path: "data/question_labels.txt", fetch: "data", about: "TREC question types (COARSE:fine question)"),
        CachedItem(name: "chatterbot", path: "data/chatterbot/english", fetch: "data", about: "chatterbot English Q/A pairs (a folder of YAML files)"),
    ]

    /// The folder scripts/fetch_models.sh fills: $LATHE_CACHE, else ~/.cache/lathe.
    public static var cacheDir: String {
        if let c = ProcessInfo.processInfo.environment["LATHE_CACHE"], !c.isEmpty { return c }
        return (NSHomeDirectory() as NSString).appendingPathComponent(".cache/lathe")
    }

    /// The path of a fetched item; an unknown name or an item not fetched yet is an error that
    /// says what there is or how to fetch it.
    public static func cachedPath(_ name: String) throws(LatheError) -> String {
        guard let item = cachedItems.first(where: { $0.name == name }) else {
            throw LatheError("unknown item '\(name)' (expected one of: \(cachedItems.map(\.name).joined(separator: ", ")))")
        }
        let p = (cacheDir as NSString).appendingPathComponent(item.path)
        guard FileManager.default.fileExists(atPath: p) else {
            throw LatheError("'\(name)' is not in the cache (\(p)); fetch it with scripts/fetch_models.sh \(item.fetch)")
        }
        return p
    }
}
