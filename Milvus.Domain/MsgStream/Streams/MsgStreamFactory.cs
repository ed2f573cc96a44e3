using Microsoft.Extensions.Logging;
using Milvus.Domain.Mq;

namespace Milvus.Domain.MsgStream.Streams;

/// <summary>Makes message streams over the registered <see cref="IMqClient"/> (message-stream seed, A.3).</summary>
public sealed class MsgStreamFactory
{
    private readonly IMqClient _mq;
    private readonly TimeProvider _time;
    private readonly ILoggerFactory _loggerFactory;
    private readonly UnmarshalDispatcher _dispatcher;
    private readonly MsgStreamSettings _settings;

    /// <summary>A factory over <paramref name="mq"/>; without a dispatcher, the built-in message types are read.</summary>
    public MsgStreamFactory(IMqClient mq, TimeProvider time, ILoggerFactory loggerFactory, UnmarshalDispatcher? dispatcher = null, MsgStreamSettings? settings = null)
    {
        _mq = mq ?? throw new ArgumentNullException(nameof(mq));
        _time = time ?? throw new ArgumentNullException(nameof(time));
        _loggerFactory = loggerFactory ?? throw new ArgumentNullException(nameof(loggerFactory));
        _dispatcher = dispatcher ?? new UnmarshalDispatcher();
        _settings = settings ?? new MsgStreamSettings();
    }

    /// <summary>A plain stream: packs as they are read, from every channel.</summary>
    public IMsgStream NewMsgStream() => new MqMsgStream(_mq, _dispatcher, _time, _loggerFactory.CreateLogger<MqMsgStream>(), _settings);

    /// <summary>A time-ticked stream: packs between two ticks that every channel has reached.</summary>
    public IMsgStream NewTtMsgStream() => new TtMsgStream(_mq, _dispatcher, _time, _loggerFactory.CreateLogger<TtMsgStream>(), _settings);
}
