namespace Milvus.Domain.Kv;

/// <summary>Root-path handling shared by the backends.</summary>
internal static class KvPaths
{
    /// <summary>
    /// The prefix every stored key carries: the root path with one trailing slash, or nothing for an empty root.
    /// </summary>
    public static string NormalizeRoot(string? rootPath)
    {
        var trimmed = (rootPath ?? "").Trim('/');
        return trimmed.Length == 0 ? "" : trimmed + "/";
    }
}
