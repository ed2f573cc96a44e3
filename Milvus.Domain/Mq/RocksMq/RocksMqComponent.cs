using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Milvus.Domain.Components;
using Milvus.Domain.Params;

namespace Milvus.Domain.Mq.RocksMq;

/// <summary>
/// RocksMQ as a component (role <c>rocksmq</c>): Init opens the database under <c>&lt;Milvus:DataDir&gt;/rocksmq</c>
/// and loads the queue's state; Stop wakes waiting consumers, waits for calls in progress and closes the
/// database. A RocksDB failure at any time leaves the component Abnormal with the error as its reason.
/// </summary>
public sealed partial class RocksMqComponent : ComponentBase
{
    /// <summary>The component's role.</summary>
    public const string ComponentRole = "rocksmq";

    /// <summary>The database's folder under the data directory.</summary>
    public const string Folder = "rocksmq";

    private readonly RocksMqDatabase _database;
    private readonly RocksMq _mq;
    private readonly MilvusOptions _milvus;
    private readonly RocksMqOptions _options;
    private readonly ILogger<RocksMqComponent> _logger;

    public RocksMqComponent(RocksMqDatabase database, RocksMq mq, IOptions<MilvusOptions> milvus, IOptions<RocksMqOptions> options, ILogger<RocksMqComponent> logger)
    {
        _database = database;
        _mq = mq;
        _milvus = milvus.Value;
        _options = options.Value;
        _logger = logger;
        _database.Faulted += OnFaulted;
    }

    public override string Role => ComponentRole;

    /// <summary>Where the database lives.</summary>
    public string DatabasePath => Path.Combine(_milvus.DataDirFullPath, Folder);

    protected override Task OnInitAsync(CancellationToken cancellationToken)
    {
        _database.Open(DatabasePath, _options.SyncWrites);
        _mq.Load();
        Tracker.SetExtra("path", DatabasePath);
        Tracker.SetExtra("syncWrites", _options.SyncWrites ? "true" : "false");
        Tracker.SetExtra("pageSize", _options.PageSize.ToString(System.Globalization.CultureInfo.InvariantCulture));
        return Task.CompletedTask;
    }

    protected override Task OnStopAsync(CancellationToken cancellationToken)
    {
        _mq.Unload();
        _database.Close();
        return Task.CompletedTask;
    }

    private void OnFaulted(Exception error)
    {
        Log.Faulted(_logger, error);
        Tracker.TryTransitionTo(StateCode.Abnormal, $"RocksDB failed: {error.Message}");
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 5101, Level = LogLevel.Error, Message = "RocksMQ's database failed; the component is Abnormal.")]
        public static partial void Faulted(ILogger logger, Exception exception);
    }
}
