using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Milvus.Domain.Mq;
using Milvus.Domain.Mq.RocksMq;
using Milvus.Domain.Params;
using Milvus.Tests.Infrastructure;
using RocksDbSharp;

namespace Milvus.Tests.Mq.RocksMq;

/// <summary>
/// A real RocksMQ on RocksDB in a throwaway data directory, driven through its component as the host drives it,
/// with its own persistent id allocator. <see cref="RestartAsync"/> stops it and opens the same directory again.
/// </summary>
internal sealed class RocksMqHost : IMqTestBackend
{
    private readonly TempDirectory _dataDir = new();
    private readonly IOptions<RocksMqOptions> _options;

    private RocksMqHost(RocksMqOptions options, TimeProvider time)
    {
        _options = Options.Create(options);
        Time = time;
        Build();
    }

    public TimeProvider Time { get; }

    public RocksMqDatabase Database { get; private set; } = null!;

    public Domain.Mq.RocksMq.RocksMq Mq { get; private set; } = null!;

    public RocksMqComponent Component { get; private set; } = null!;

    IMqClient IMqTestBackend.Mq => Mq;

    /// <summary>The folder of the database.</summary>
    public string DatabasePath => Component.DatabasePath;

    public static async Task<RocksMqHost> StartAsync(RocksMqOptions? options = null, TimeProvider? time = null)
    {
        var host = new RocksMqHost(options ?? new RocksMqOptions(), time ?? TimeProvider.System);
        await host.StartComponentAsync();
        return host;
    }

    /// <summary>Stops the queue and opens the same directory with new objects, as a process restart would.</summary>
    public async Task RestartAsync()
    {
        await Component.StopAsync(CancellationToken.None);
        Build();
        await StartComponentAsync();
    }

    /// <summary>How many keys of the data family start with <c>channel/</c>.</summary>
    public int CountDataKeys(string channel) => CountKeys(Database.Data, k => k.StartsWith(channel + "/", StringComparison.Ordinal));

    /// <summary>How many meta keys belong to the channel: its ids, its pages and its groups' positions.</summary>
    public int CountMetaKeys(string channel) => CountKeys(Database.Meta, k => k.Split('/') switch
    {
        [var c, _] => c == channel,
        [_, var c, "current_id"] => c == channel,
        [var c, "page", _] => c == channel,
        _ => false,
    });

    /// <summary>Flushes the memtables to files, so that the size on disk holds what was written.</summary>
    public void Flush()
    {
        using var lease = Database.Acquire();
        Database.FlushAll();
    }

    /// <summary>The bytes of every file under the database's folder.</summary>
    public long SizeOnDisk() =>
        new DirectoryInfo(DatabasePath).EnumerateFiles("*", SearchOption.AllDirectories).Sum(f => f.Exists ? f.Length : 0);

    public async ValueTask DisposeAsync()
    {
        await Component.StopAsync(CancellationToken.None);
        _dataDir.Dispose();
    }

    private int CountKeys(ColumnFamilyHandle family, Func<string, bool> match)
    {
        using var lease = Database.Acquire();
        using var it = Database.Db.NewIterator(family);
        var count = 0;
        for (it.SeekToFirst(); it.Valid(); it.Next())
        {
            if (match(System.Text.Encoding.Latin1.GetString(it.GetKeySpan())))
            {
                count++;
            }
        }
        return count;
    }

    private void Build()
    {
        Database = new RocksMqDatabase();
        Mq = new Domain.Mq.RocksMq.RocksMq(Database, new RocksMqIdAllocator(Database), _options, Time, NullLogger<Domain.Mq.RocksMq.RocksMq>.Instance);
        Component = new RocksMqComponent(Database, Mq, Options.Create(new MilvusOptions { DataDir = _dataDir.Path }), _options, NullLogger<RocksMqComponent>.Instance);
    }

    private async Task StartComponentAsync()
    {
        await Component.InitAsync(CancellationToken.None);
        await Component.StartAsync(CancellationToken.None);
    }
}
