namespace Milvus.Tests.Infrastructure;

/// <summary>A directory under the system temp folder that is deleted on dispose.</summary>
public sealed class TempDirectory : IDisposable
{
    public TempDirectory()
    {
        Path = Directory.CreateTempSubdirectory("milvus-tests-").FullName;
    }

    public string Path { get; }

    public string Combine(params string[] parts) => System.IO.Path.Combine([Path, .. parts]);

    /// <summary>
    /// Deletes the directory. Whatever used it must be closed first: a store or gateway still writing into it is a
    /// bug in the test (or in the store's dispose), and the failed delete says so instead of being retried.
    /// </summary>
    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
            // Nothing left to delete.
        }
    }
}
