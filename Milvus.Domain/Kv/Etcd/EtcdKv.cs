using System.Runtime.CompilerServices;
using System.Text;
using Etcdserverpb;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Milvus.Domain.Kv.Etcd;

/// <summary>
/// <see cref="IMetaKv"/> on etcd v3 through dotnet-etcd (seed A.7.5). Every key is the root path followed by the
/// caller's key. Every atomic operation is one etcd transaction, so etcd's limit on operations per transaction
/// (<c>--max-txn-ops</c>, 128 by default) bounds one call. Every request carries a deadline, and the channel does
/// not retry, so an etcd that is down or hung gives <see cref="KvUnavailableException"/> quickly, never a hang.
/// The hot paths call the generated gRPC clients straight, with one async layer, no closure and no copy of the key
/// beyond its UTF-8 encoding, and take their deadline from <see cref="EtcdDeadline"/>.
/// </summary>
public sealed partial class EtcdKv : TxnKvBase, IMetaKv
{
    private const string Backend = "etcd";

    /// <summary>etcd's default <c>--max-txn-ops</c>.</summary>
    private const int MaxTxnOps = 128;
    private static readonly TimeSpan DefaultRequestTimeout = TimeSpan.FromSeconds(5);

    /// <summary>The range start and end "\0" that together mean every key.</summary>
    private static readonly ByteString Zero = ByteString.CopyFrom(0);

    private readonly GrpcChannel _channel;
    private readonly KV.KVClient _kvClient;
    private readonly Watch.WatchClient _watchClient;
    private readonly Lease.LeaseClient _leaseClient;
    private readonly EtcdDeadline _deadline;
    private readonly string _root;
    private readonly byte[] _rootUtf8;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    /// <summary>A store on the etcd at <paramref name="endpoints"/> whose keys live under <paramref name="rootPath"/>.</summary>
    /// <param name="endpoints">Comma-separated etcd URLs, e.g. <c>http://127.0.0.1:2379</c>.</param>
    /// <param name="rootPath">The prefix of every key, e.g. <c>by-dev</c>.</param>
    /// <param name="requestTimeout">The deadline of each request (5 s by default).</param>
    /// <param name="timeProvider">The clock that paces keep-alives; deadlines always use the system clock, as gRPC does.</param>
    /// <param name="logger">Where failures are logged.</param>
    public EtcdKv(string endpoints, string rootPath, TimeSpan? requestTimeout = null, TimeProvider? timeProvider = null, ILogger<EtcdKv>? logger = null)
    {
        var timeout = requestTimeout ?? DefaultRequestTimeout;
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(timeout, TimeSpan.Zero, nameof(requestTimeout));
        _time = timeProvider ?? TimeProvider.System;
        _logger = logger ?? NullLogger<EtcdKv>.Instance;
        _root = KvPaths.NormalizeRoot(rootPath);
        _rootUtf8 = Encoding.UTF8.GetBytes(_root);
        _channel = EtcdChannels.Create(endpoints, timeout);
        _deadline = new EtcdDeadline(timeout);
        var invoker = _channel.CreateCallInvoker();
        _kvClient = new KV.KVClient(invoker);
        _watchClient = new Watch.WatchClient(invoker);
        _leaseClient = new Lease.LeaseClient(invoker);
    }

    public string GetPath(string key) => _root + key;

    public override async Task<string> LoadAsync(string key, CancellationToken cancellationToken = default)
    {
        KvGuard.Key(key);
        var response = await CallAsync(static (kv, r, o) => kv._kvClient.RangeAsync(r, o), new RangeRequest { Key = Bytes(key) }, cancellationToken).ConfigureAwait(false);
        return response.Kvs.Count > 0 ? response.Kvs[0].Value.ToStringUtf8() : throw new KvKeyNotFoundException(key);
    }

    public override async Task<IReadOnlyList<string>> MultiLoadAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken = default)
    {
        KvGuard.Keys(keys);
        var found = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var chunk in keys.Distinct(StringComparer.Ordinal).Chunk(MaxTxnOps))
        {
            var txn = new TxnRequest();
            txn.Success.AddRange(chunk.Select(k => new RequestOp { RequestRange = new RangeRequest { Key = Bytes(k) } }));
            var response = await TxnAsync(txn, 0, cancellationToken).ConfigureAwait(false);
            foreach (var kv in response.Responses.SelectMany(r => r.ResponseRange.Kvs))
            {
                found[Relative(kv.Key)] = kv.Value.ToStringUtf8();
            }
        }
        var missing = keys.Where(k => !found.ContainsKey(k)).ToList();
        return missing.Count > 0 ? throw new KvKeyNotFoundException(missing) : keys.Select(k => found[k]).ToList();
    }

    public override async Task<KvPairs> LoadWithPrefixAsync(string prefix, CancellationToken cancellationToken = default)
    {
        var response = await RangePrefixAsync(prefix, cancellationToken).ConfigureAwait(false);
        return ToPairs(response);
    }

    public async Task<KvVersionedPairs> LoadWithPrefix2Async(string prefix, CancellationToken cancellationToken = default)
    {
        var response = await RangePrefixAsync(prefix, cancellationToken).ConfigureAwait(false);
        var pairs = ToPairs(response);
        return new KvVersionedPairs(pairs.Keys, pairs.Values, response.Kvs.Select(kv => kv.Version).ToList());
    }

    public async Task<KvPairsAtRevision> LoadWithRevisionAsync(string prefix, CancellationToken cancellationToken = default)
    {
        var response = await RangePrefixAsync(prefix, cancellationToken).ConfigureAwait(false);
        return new KvPairsAtRevision(ToPairs(response), response.Header.Revision);
    }

    public override Task SaveAsync(string key, string value, CancellationToken cancellationToken = default)
    {
        KvGuard.Key(key);
        ArgumentNullException.ThrowIfNull(value);
        return CallAsync(static (kv, r, o) => kv._kvClient.PutAsync(r, o), Put(key, value, 0), cancellationToken);
    }

    public override Task RemoveAsync(string key, CancellationToken cancellationToken = default)
    {
        KvGuard.Key(key);
        return CallAsync(static (kv, r, o) => kv._kvClient.DeleteRangeAsync(r, o), new DeleteRangeRequest { Key = Bytes(key) }, cancellationToken);
    }

    public override async Task MultiSaveAndRemoveAsync(IReadOnlyDictionary<string, string> saves, IReadOnlyList<string> removals, CancellationToken cancellationToken = default)
    {
        KvGuard.Disjoint(saves, removals);
        var txn = new TxnRequest();
        txn.Success.AddRange(saves.Select(p => new RequestOp { RequestPut = Put(p.Key, p.Value, 0) }));
        txn.Success.AddRange(removals.Distinct(StringComparer.Ordinal).Select(k => new RequestOp { RequestDeleteRange = new DeleteRangeRequest { Key = Bytes(k) } }));
        await TxnAsync(txn, 0, cancellationToken).ConfigureAwait(false);
    }

    public override async Task MultiSaveAndRemoveWithPrefixAsync(IReadOnlyDictionary<string, string> saves, IReadOnlyList<string> removalPrefixes, CancellationToken cancellationToken = default)
    {
        KvGuard.DisjointPrefixes(saves, removalPrefixes);
        var txn = new TxnRequest();
        foreach (var prefix in removalPrefixes.Distinct(StringComparer.Ordinal))
        {
            var (key, end) = PrefixRange(prefix);
            txn.Success.Add(new RequestOp { RequestDeleteRange = new DeleteRangeRequest { Key = key, RangeEnd = end } });
        }
        txn.Success.AddRange(saves.Select(p => new RequestOp { RequestPut = Put(p.Key, p.Value, 0) }));
        await TxnAsync(txn, 0, cancellationToken).ConfigureAwait(false);
    }

    public IAsyncEnumerable<KvWatchResponse> WatchAsync(string key, CancellationToken cancellationToken = default)
    {
        KvGuard.Key(key);
        return WatchCoreAsync(Bytes(key), ByteString.Empty, 0, cancellationToken);
    }

    public IAsyncEnumerable<KvWatchResponse> WatchWithPrefixAsync(string prefix, CancellationToken cancellationToken = default)
    {
        var (key, end) = PrefixRange(prefix);
        return WatchCoreAsync(key, end, 0, cancellationToken);
    }

    public IAsyncEnumerable<KvWatchResponse> WatchWithRevisionAsync(string prefix, long revision, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(revision);
        var (key, end) = PrefixRange(prefix);
        return WatchCoreAsync(key, end, revision, cancellationToken);
    }

    public async Task<long> GrantAsync(long ttlSeconds, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(ttlSeconds);
        var response = await CallAsync(static (kv, r, o) => kv._leaseClient.LeaseGrantAsync(r, o), new LeaseGrantRequest { TTL = ttlSeconds }, cancellationToken).ConfigureAwait(false);
        return string.IsNullOrEmpty(response.Error) ? response.ID : throw new KvException($"etcd refused the lease: {response.Error}");
    }

    public Task SaveWithLeaseAsync(string key, string value, long leaseId, CancellationToken cancellationToken = default)
    {
        KvGuard.Key(key);
        ArgumentNullException.ThrowIfNull(value);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(leaseId);
        return CallAsync(static (kv, r, o) => kv._kvClient.PutAsync(r, o), Put(key, value, leaseId), cancellationToken, leaseId);
    }

    public async IAsyncEnumerable<KvLeaseKeepAlive> KeepAliveAsync(long leaseId, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(leaseId);
        using var call = _leaseClient.LeaseKeepAlive(cancellationToken: cancellationToken);
        while (true)
        {
            var request = new LeaseKeepAliveRequest { ID = leaseId };
            var response = await ExchangeAsync(call, request, withDeadline: true, "keep-alive", leaseId, cancellationToken).ConfigureAwait(false);
            if (response.TTL <= 0)
            {
                Log.LeaseLost(_logger, leaseId);
                throw new KvLeaseNotFoundException(leaseId);
            }
            yield return new KvLeaseKeepAlive(leaseId, response.TTL);
            await Task.Delay(MetaKvLeases.KeepAliveInterval(response.TTL), _time, cancellationToken).ConfigureAwait(false);
        }
    }

    public async Task RevokeAsync(long leaseId, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(leaseId);
        try
        {
            await CallAsync(static (kv, r, o) => kv._leaseClient.LeaseRevokeAsync(r, o), new LeaseRevokeRequest { ID = leaseId }, cancellationToken, leaseId).ConfigureAwait(false);
        }
        catch (KvLeaseNotFoundException)
        {
            // Revoking a lease that is already gone is the outcome the caller wants.
        }
    }

    public async Task<bool> CompareValueAndSwapAsync(string key, string expected, string target, long leaseId = 0, CancellationToken cancellationToken = default)
    {
        KvGuard.Key(key);
        ArgumentNullException.ThrowIfNull(expected);
        var compare = new Compare { Key = Bytes(key), Target = Compare.Types.CompareTarget.Value, Result = Compare.Types.CompareResult.Equal, Value = ByteString.CopyFromUtf8(expected) };
        return await CompareAndSwapAsync(compare, key, target, leaseId, cancellationToken).ConfigureAwait(false);
    }

    public async Task<bool> CompareVersionAndSwapAsync(string key, long version, string target, long leaseId = 0, CancellationToken cancellationToken = default)
    {
        KvGuard.Key(key);
        ArgumentOutOfRangeException.ThrowIfNegative(version);
        var compare = new Compare { Key = Bytes(key), Target = Compare.Types.CompareTarget.Version, Result = Compare.Types.CompareResult.Equal, Version = version };
        return await CompareAndSwapAsync(compare, key, target, leaseId, cancellationToken).ConfigureAwait(false);
    }

    public override ValueTask DisposeAsync()
    {
        _channel.Dispose();
        _deadline.Dispose();
        return ValueTask.CompletedTask;
    }

    private async Task<bool> CompareAndSwapAsync(Compare compare, string key, string target, long leaseId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentOutOfRangeException.ThrowIfNegative(leaseId);
        var txn = new TxnRequest();
        txn.Compare.Add(compare);
        txn.Success.Add(new RequestOp { RequestPut = Put(key, target, leaseId) });
        var response = await TxnAsync(txn, leaseId, cancellationToken).ConfigureAwait(false);
        return response.Succeeded;
    }

    private async IAsyncEnumerable<KvWatchResponse> WatchCoreAsync(ByteString key, ByteString rangeEnd, long startRevision, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var call = _watchClient.Watch(cancellationToken: cancellationToken);
        var create = new WatchRequest { CreateRequest = new WatchCreateRequest { Key = key, RangeEnd = rangeEnd, StartRevision = startRevision, PrevKv = true } };
        // The first answer (the watch's creation) must come within the deadline; later ones come when keys change,
        // and a dead connection is found by the channel's HTTP/2 keep-alive pings.
        var response = await ExchangeAsync(call, create, withDeadline: true, "watch", 0, cancellationToken).ConfigureAwait(false);
        while (true)
        {
            if (response.CompactRevision != 0)
            {
                Log.WatchCompacted(_logger, key.ToStringUtf8(), response.CompactRevision);
                throw new KvWatchCompactedException(response.CompactRevision, "etcd compacted its history past the requested revision");
            }
            if (response.Canceled)
            {
                throw new KvUnavailableException(Backend, $"etcd cancelled the watch: {response.CancelReason}");
            }
            if (response.Events.Count > 0)
            {
                yield return new KvWatchResponse(response.Header.Revision, response.Events.Select(ToEvent).ToList());
            }
            response = await ExchangeAsync(call, null, withDeadline: false, "watch", 0, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Sends <paramref name="request"/> (when there is one) on a stream and reads the next answer, within the
    /// request deadline when <paramref name="withDeadline"/>. A broken stream is <see cref="KvUnavailableException"/>.
    /// </summary>
    private async Task<TResponse> ExchangeAsync<TRequest, TResponse>(AsyncDuplexStreamingCall<TRequest, TResponse> call, TRequest? request, bool withDeadline,
        string stream, long leaseId, CancellationToken cancellationToken)
        where TRequest : class
    {
        using var linked = withDeadline ? CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _deadline.Token) : null;
        var token = linked?.Token ?? cancellationToken;
        try
        {
            if (request is not null)
            {
                await call.RequestStream.WriteAsync(request, token).ConfigureAwait(false);
            }
            return await call.ResponseStream.MoveNext(token).ConfigureAwait(false)
                ? call.ResponseStream.Current
                : throw new KvUnavailableException(Backend, $"the {stream} stream ended");
        }
        catch (RpcException e)
        {
            throw Map(e, cancellationToken, leaseId);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            Log.StreamFailed(_logger, stream, "no answer in time");
            throw new KvUnavailableException(Backend, $"no answer on the {stream} stream within {_deadline.Longest}");
        }
        catch (Exception e) when (e is IOException or HttpRequestException or InvalidOperationException)
        {
            // The connection broke under the stream (IOException), or the call had already failed when we wrote.
            Log.StreamFailed(_logger, stream, e.Message);
            throw new KvUnavailableException(Backend, $"the {stream} stream broke: {e.Message}", e);
        }
    }

    private Task<RangeResponse> RangePrefixAsync(string prefix, CancellationToken cancellationToken)
    {
        var (key, end) = PrefixRange(prefix);
        return CallAsync(static (kv, r, o) => kv._kvClient.RangeAsync(r, o), new RangeRequest { Key = key, RangeEnd = end }, cancellationToken);
    }

    private Task<TxnResponse> TxnAsync(TxnRequest txn, long leaseId, CancellationToken cancellationToken) =>
        txn.Success.Count == 0 && txn.Compare.Count == 0
            ? Task.FromResult(new TxnResponse { Succeeded = true })
            : CallAsync(static (kv, r, o) => kv._kvClient.TxnAsync(r, o), txn, cancellationToken, leaseId);

    /// <summary>
    /// Starts one unary call with <paramref name="start"/> (a static lambda, so nothing is allocated for it) under
    /// the request deadline, and turns its failures into the domain's typed errors.
    /// </summary>
    private async Task<TResponse> CallAsync<TRequest, TResponse>(Func<EtcdKv, TRequest, CallOptions, AsyncUnaryCall<TResponse>> start, TRequest request,
        CancellationToken cancellationToken, long leaseId = 0)
    {
        using var linked = _deadline.Link(cancellationToken);
        try
        {
            return await start(this, request, new CallOptions(cancellationToken: linked?.Token ?? _deadline.Token)).ConfigureAwait(false);
        }
        catch (RpcException e)
        {
            throw Map(e, cancellationToken, leaseId);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            Log.Unavailable(_logger, StatusCode.DeadlineExceeded, "no answer in time");
            throw new KvUnavailableException(Backend, $"no answer from etcd within {_deadline.Longest}");
        }
    }

    /// <summary>Turns a gRPC failure into the domain's typed errors.</summary>
    private Exception Map(RpcException e, CancellationToken cancellationToken, long leaseId = 0)
    {
        if (e.StatusCode == StatusCode.Cancelled && cancellationToken.IsCancellationRequested)
        {
            return new OperationCanceledException("The etcd request was cancelled.", e, cancellationToken);
        }
        if (e.StatusCode == StatusCode.NotFound && leaseId != 0)
        {
            return new KvLeaseNotFoundException(leaseId);
        }
        if (e.StatusCode is StatusCode.InvalidArgument or StatusCode.OutOfRange or StatusCode.FailedPrecondition or StatusCode.ResourceExhausted)
        {
            return new KvException($"etcd refused the request: {e.Status.Detail}", e);
        }
        Log.Unavailable(_logger, e.StatusCode, e.Status.Detail);
        return new KvUnavailableException(Backend, $"{e.StatusCode}: {e.Status.Detail}", e);
    }

    private KvEvent ToEvent(Mvccpb.Event e)
    {
        var kv = e.Kv;
        var previous = e.PrevKv?.Value.ToStringUtf8();
        return e.Type == Mvccpb.Event.Types.EventType.Delete
            ? new KvEvent(KvEventType.Delete, Relative(kv.Key), "", 0, kv.ModRevision, 0, previous)
            : new KvEvent(KvEventType.Put, Relative(kv.Key), kv.Value.ToStringUtf8(), kv.CreateRevision, kv.ModRevision, kv.Version, previous);
    }

    private KvPairs ToPairs(RangeResponse response)
    {
        var keys = new List<string>(response.Kvs.Count);
        var values = new List<string>(response.Kvs.Count);
        foreach (var kv in response.Kvs)
        {
            keys.Add(Relative(kv.Key));
            values.Add(kv.Value.ToStringUtf8());
        }
        return new KvPairs(keys, values);
    }

    private PutRequest Put(string key, string value, long leaseId) =>
        new() { Key = Bytes(key), Value = ByteString.CopyFromUtf8(value), Lease = leaseId };

    /// <summary>The root path and <paramref name="key"/> in UTF-8, wrapped without a copy: the array is never reused.</summary>
    private ByteString Bytes(string key) => UnsafeByteOperations.UnsafeWrap(KeyBytes(key));

    private byte[] KeyBytes(string key)
    {
        var bytes = new byte[_rootUtf8.Length + Encoding.UTF8.GetByteCount(key)];
        _rootUtf8.CopyTo(bytes, 0);
        Encoding.UTF8.GetBytes(key, bytes.AsSpan(_rootUtf8.Length));
        return bytes;
    }

    private string Relative(ByteString key) => Encoding.UTF8.GetString(key.Span[_rootUtf8.Length..]);

    /// <summary>The etcd range [key, end) that holds every key starting with the root path and <paramref name="prefix"/>.</summary>
    private (ByteString Key, ByteString End) PrefixRange(string prefix)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        var start = KeyBytes(prefix);
        if (start.Length == 0)
        {
            // Every key: from "\0" with the special end "\0", which means "no upper bound".
            return (Zero, Zero);
        }
        var end = KvKeyBytes.PrefixEnd(start);
        return (UnsafeByteOperations.UnsafeWrap(start), end is null ? Zero : UnsafeByteOperations.UnsafeWrap(end));
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 3101, Level = LogLevel.Debug, Message = "An etcd request failed with {Status}: {Detail}")]
        public static partial void Unavailable(ILogger logger, StatusCode status, string detail);

        [LoggerMessage(EventId = 3102, Level = LogLevel.Information, Message = "The etcd watch on {Key} was compacted at revision {CompactRevision}")]
        public static partial void WatchCompacted(ILogger logger, string key, long compactRevision);

        [LoggerMessage(EventId = 3103, Level = LogLevel.Warning, Message = "The etcd lease {LeaseId} is gone")]
        public static partial void LeaseLost(ILogger logger, long leaseId);

        [LoggerMessage(EventId = 3104, Level = LogLevel.Warning, Message = "The etcd {Stream} stream failed: {Reason}")]
        public static partial void StreamFailed(ILogger logger, string stream, string reason);
    }
}
