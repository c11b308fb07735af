import CLatheCore
import Foundation

/// A client of an MLflow tracking server's REST API (MLflow 2.x and 3.x), over libcurl.
/// Authentication as MLflow's own client reads it from the environment:
/// `MLFLOW_TRACKING_TOKEN` (a bearer token) or `MLFLOW_TRACKING_USERNAME`/`_PASSWORD`.
public final class MLflowClient: @unchecked Sendable {
    public let uri: String
    let handle: UnsafeMutableRawPointer
    let lock = NSLock()
    let headers: [String]
    let userpwd: String?
    let timeoutMs: Int

    /// `uri` is the server's address, e.g. `http://127.0.0.1:5000`.
    public init(uri: String, timeout: Double = 60) throws(LatheError) {
        var base = uri.trimmingCharacters(in: .whitespaces)
        while base.hasSuffix("/") { base.removeLast() }
        let lower = base.lowercased()
        guard lower.hasPrefix("http://") || lower.hasPrefix("https://"), base.count > 8 else {
            throw LatheError("an MLflow tracking server is reached over HTTP: give its address as \"http://host:port\" (or https://), got \"\(uri)\"")
        }
        guard let h = lk_http_open() else {
            throw LatheError("talking to an MLflow server needs libcurl (libcurl.so.4; Debian: apt install libcurl4), which could not be loaded")
        }
        self.uri = base
        handle = h
        timeoutMs = Int(timeout * 1000)
        var hs = ["Content-Type: application/json", "Accept: application/json", "User-Agent: lathe"]
        let env = ProcessInfo.processInfo.environment
        if let token = env["MLFLOW_TRACKING_TOKEN"], !token.isEmpty { hs.append("Authorization: Bearer \(token)") }
        headers = hs
        if let user = env["MLFLOW_TRACKING_USERNAME"], let pw = env["MLFLOW_TRACKING_PASSWORD"] {
            userpwd = "\(user):\(pw)"
        } else {
            userpwd = nil
        }
    }

    deinit { lk_http_close(handle) }

    /// A REST call: `path` under `/api/2.0/mlflow/`, a JSON body for POST, query parameters for
    /// GET. Errors name the server and say what it answered.
    @discardableResult
    public func call(_ method: String, _ path: String, _ body: JSONValue? = nil, query: [(String, String)] = []) throws(LatheError) -> JSONValue {
        try call(method, path, body, query: query, allowing: [])!
    }

    /// As `call`, but nil when the server answers one of the error codes `allowing`
    /// (e.g. RESOURCE_DOES_NOT_EXIST).
    public func call(_ method: String, _ path: String, _ body: JSONValue? = nil, query: [(String, String)] = [],
                     allowing: Set<String>) throws(LatheError) -> JSONValue? {
        var url = uri + "/api/2.0/mlflow/" + path
        if !query.isEmpty {
            url += "?" + query.map { "\(MLflowClient.escape($0.0))=\(MLflowClient.escape($0.1))" }.joined(separator: "&")
        }
        let bytes = body.map { $0.text() }
        let (status, text) = try request(method, url, body: bytes, file: nil)
        return try decode(status, text, what: "\(method) \(path)", allowing: allowing)
    }

    /// Uploads a file through the server's artifact proxy (`mlflow server --serve-artifacts`,
    /// the default since MLflow 2.0) to `path` (below `/api/2.0/mlflow-artifacts/artifacts/`).
    public func upload(file: String, to path: String) throws(LatheError) {
        let url = uri + "/api/2.0/mlflow-artifacts/artifacts/" + path.split(separator: "/").map { MLflowClient.escape(String($0)) }.joined(separator: "/")
        let (status, text) = try request("PUT", url, body: nil, file: file)
        _ = try decode(status, text, what: "uploading \(path)", allowing: [])
    }

    func request(_ method: String, _ url: String, body: [UInt8]?, file: String?) throws(LatheError) -> (Int, String) {
        lock.lock()
        defer { lock.unlock() }
        var resp = lk_http_response()
        var cHeaders = headers.map { strdup($0) }
        defer {
            cHeaders.forEach { free($0) }
            lk_http_free(&resp)
        }
        let rc: Int32 = cHeaders.withUnsafeMutableBufferPointer { hp in
            hp.baseAddress!.withMemoryRebound(to: UnsafePointer<CChar>?.self, capacity: hp.count) { h in
                if let body {
                    return body.withUnsafeBytes { b in
                        lk_http_request(handle, method, url, h, Int32(hp.count), b.baseAddress ?? UnsafeRawPointer(bitPattern: 1), b.count,
                                        nil, userpwd, timeoutMs, &resp)
                    }
                }
                return lk_http_request(handle, method, url, h, Int32(hp.count), nil, 0, file, userpwd, timeoutMs, &resp)
            }
        }
        let errorText = withUnsafeBytes(of: resp.error) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        if rc == -1 { throw LatheError("talking to an MLflow server needs libcurl (libcurl.so.4), which could not be loaded") }
        if rc != 0 {
            if let file, errorText.hasPrefix("cannot read") { throw LatheError("cannot read the artifact \(file) to upload it") }
            throw LatheError("cannot reach the MLflow server at \(uri): \(errorText) (is `mlflow server` running there?)")
        }
        let text = resp.body.map { String(cString: $0) } ?? ""
        return (resp.status, text)
    }

    func decode(_ status: Int, _ text: String, what: String, allowing: Set<String>) throws(LatheError) -> JSONValue? {
        let json = text.isEmpty ? JSONValue.object([]) : (try? JSONValue.parse(text))
        if (200..<300).contains(status) {
            guard let json else {
                throw LatheError("the server at \(uri) answered \(what) with something that is not JSON (is it an MLflow tracking server?): \(text.prefix(120))")
            }
            return json
        }
        if let code = json?["error_code"]?.string {
            if allowing.contains(code) { return nil }
            throw LatheError("the MLflow server at \(uri) answered \(what) with \(status) \(code): \(json?["message"]?.string ?? "")")
        }
        // one line: HTML error pages without their tags, whitespace collapsed
        let plain = text.replacingOccurrences(of: "<[^>]*>", with: " ", options: .regularExpression)
            .split(whereSeparator: { $0.isWhitespace }).joined(separator: " ")
        let snippet = plain.count > 200 ? String(plain.prefix(200)) + "..." : plain
        throw LatheError("the server at \(uri) answered \(what) with HTTP \(status)\(snippet.isEmpty ? "" : ": " + snippet)")
    }

    static func escape(_ s: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return s.addingPercentEncoding(withAllowedCharacters: allowed) ?? s
    }
}
