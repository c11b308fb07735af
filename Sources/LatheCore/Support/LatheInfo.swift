/// Version and build facts.
public enum LatheInfo {
    public static let version = "0.1.0"
}
