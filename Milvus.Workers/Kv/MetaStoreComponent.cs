using Microsoft.Extensions.Logging;
using Milvus.Domain.Components;
using Milvus.Domain.Kv;

namespace Milvus.Workers.Kv;

/// <summary>
/// The meta store, role <c>meta-kv</c>, the first component to start: its Init opens the stores (<see cref="KvStores"/>,
/// the meta store and the object store), which every other component and route reads through. A store that cannot
/// open (another process holds its files) leaves it Abnormal, and the host opens it again with a backoff.
/// </summary>
public sealed partial class MetaStoreComponent(KvStores stores, ILogger<MetaStoreComponent> logger) : ComponentBase
{
    /// <summary>The role the component reports.</summary>
    public const string RoleName = "meta-kv";

    public override string Role => RoleName;

    protected override async Task OnInitAsync(CancellationToken cancellationToken)
    {
        Tracker.SetExtra("backend", stores.MetaBackend);
        await stores.OpenAsync(cancellationToken).ConfigureAwait(false);
        Log.Opened(logger, stores.MetaBackend, stores.ObjectBackend);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 3402, Level = LogLevel.Information, Message = "The meta store ({MetaBackend}) and the object store ({ObjectBackend}) are open.")]
        public static partial void Opened(ILogger logger, string metaBackend, string objectBackend);
    }
}
