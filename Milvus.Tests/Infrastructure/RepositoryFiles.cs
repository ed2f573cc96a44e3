namespace Milvus.Tests.Infrastructure;

/// <summary>Files checked into the repository that tests read (the OpenAPI document, the Grafana dashboard).</summary>
internal static class RepositoryFiles
{
    /// <summary>The path of <paramref name="relative"/> under the folder that holds Milvus.sln, found from the test assembly upwards.</summary>
    public static string PathOf(params string[] relative)
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Milvus.sln")))
            {
                return Path.Combine([directory.FullName, .. relative]);
            }
        }
        throw new InvalidOperationException("Milvus.sln was not found above the test assembly.");
    }
}
