namespace Milvus.Domain.Params;

/// <summary>General settings (section <c>Milvus</c>).</summary>
public sealed class MilvusOptions
{
    public const string SectionName = "Milvus";

    /// <summary>Where the embedded backends persist; relative paths are relative to the working directory.</summary>
    public string DataDir { get; set; } = "./data";

    /// <summary>Comma-separated YAML parameter files, lowest first; defaults to <c>configs/milvus.yaml</c>.</summary>
    public string? ConfigFiles { get; set; }

    /// <summary>The data directory as an absolute path.</summary>
    public string DataDirFullPath => Path.GetFullPath(DataDir);

    /// <summary>The first invalid setting, named by its key, or null when all are valid.</summary>
    public string? Validate() => string.IsNullOrWhiteSpace(DataDir) ? "Milvus:DataDir must not be empty." : null;
}
