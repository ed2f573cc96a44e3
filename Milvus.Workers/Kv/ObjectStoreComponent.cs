using Microsoft.Extensions.Logging;
using Milvus.Domain.Components;
using Milvus.Domain.Kv;

namespace Milvus.Workers.Kv;

/// <summary>
/// The object store, role <c>object-store</c>: its start makes the store ready to write (on MinIO or S3 it creates
/// the bucket when missing). A server that is down fails the start, and the host starts the component again with
/// a backoff, so it is Abnormal (and <c>/health/ready</c> names the object store) until the bucket is there; the
/// readiness check itself only looks.
/// </summary>
public sealed partial class ObjectStoreComponent(KvStores stores, ILogger<ObjectStoreComponent> logger) : ComponentBase
{
    /// <summary>The role the component reports.</summary>
    public const string RoleName = "object-store";

    public override string Role => RoleName;

    // The stores open once, whichever of the two components asks first.
    protected override Task OnInitAsync(CancellationToken cancellationToken) => stores.OpenAsync(cancellationToken);

    protected override async Task<StateCode> OnStartAsync(CancellationToken cancellationToken)
    {
        Tracker.SetExtra("backend", stores.ObjectBackend);
        await stores.PrepareObjectsAsync(cancellationToken).ConfigureAwait(false);
        Log.Ready(logger, stores.ObjectBackend);
        return StateCode.Healthy;
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 3401, Level = LogLevel.Information, Message = "The object store ({Backend}) is ready to write.")]
        public static partial void Ready(ILogger logger, string backend);
    }
}
