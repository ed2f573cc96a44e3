using Microsoft.Extensions.Logging;
using Milvus.Domain.Kv;
using Milvus.Domain.Mq;
using Milvus.Domain.MsgStream.Streams;

namespace Milvus.Domain.MsgStream.Gateway;

/// <summary>
/// What the subscriptions of one gateway share: the registry, each subscription and the sweeper read the same
/// queue, meta KV, clock, settings and log. It holds no state of its own, and so no lock.
/// </summary>
/// <param name="Factory">Makes each subscription's stream.</param>
/// <param name="Mq">The queue the streams read.</param>
/// <param name="Meta">Where the consume subscriptions' checkpoints are kept.</param>
/// <param name="Time">The clock of last use, of checkpoint saves and of the idle sweep.</param>
/// <param name="Options">The limits and the idle timeout.</param>
/// <param name="Logger">The log of <see cref="StreamSubscriptions"/>, which all three write.</param>
internal sealed record SubscriptionContext(
    MsgStreamFactory Factory, IMqClient Mq, ITxnKv Meta, TimeProvider Time, StreamSubscriptionOptions Options, ILogger Logger);
