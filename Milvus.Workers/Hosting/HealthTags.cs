namespace Milvus.Workers.Hosting;

/// <summary>The tags of the gateway's health checks.</summary>
public static class HealthTags
{
    /// <summary>The checks that <c>/health/ready</c> runs: each backend the gateway needs to serve.</summary>
    public const string Ready = "ready";
}
