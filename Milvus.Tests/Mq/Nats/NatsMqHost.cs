using Milvus.Domain.Mq;
using Milvus.Domain.Mq.Nats;
using Milvus.Tests.Infrastructure;
using NATS.Client.Core;
using NATS.Client.JetStream;

namespace Milvus.Tests.Mq.Nats;

/// <summary>A NATS JetStream queue on the real NATS of scripts/test.sh (or another), under a stream prefix of its own.</summary>
internal sealed class NatsMqHost : IMqTestBackend
{
    private readonly TimeProvider _time;

    private NatsMqHost(NatsMqOptions options, TimeProvider time, NatsMqClient client)
    {
        Options = options;
        _time = time;
        Client = client;
    }

    public NatsMqOptions Options { get; }

    public NatsMqClient Client { get; private set; }

    public IMqClient Mq => Client;

    /// <summary>A queue under a fresh stream prefix, so that it starts empty.</summary>
    public static async Task<NatsMqHost> StartAsync(TimeProvider? time = null, string? url = null, int replicas = 1)
    {
        var options = new NatsMqOptions { Url = url ?? TestServers.Nats, StreamPrefix = "t" + Guid.NewGuid().ToString("N")[..16], Replicas = replicas };
        time ??= TimeProvider.System;
        return new NatsMqHost(options, time, await NatsMqClient.ConnectAsync(options, time));
    }

    /// <summary>Another client on the same queue, which the caller disposes.</summary>
    public Task<NatsMqClient> ConnectAnotherAsync(TimeProvider? time = null) => NatsMqClient.ConnectAsync(Options, time ?? _time);

    /// <summary>A raw JetStream context on the queue's NATS, for looking under the queue.</summary>
    public static NatsConnection Raw(string? url = null) => new(new NatsOpts { Url = url ?? TestServers.Nats });

    public async Task RestartAsync()
    {
        await Client.DisposeAsync();
        Client = await NatsMqClient.ConnectAsync(Options, _time);
    }

    public async ValueTask DisposeAsync()
    {
        var streams = new[] { Client.DataStream, Client.MetaStream };
        await Client.DisposeAsync();
        await using var raw = Raw(Options.Url);
        var js = new NatsJSContext(raw);
        foreach (var stream in streams)
        {
            try
            {
                await js.DeleteStreamAsync(stream);
            }
            catch (NatsJSApiException)
            {
                // Never created (the test's NATS was down).
            }
        }
    }
}

/// <summary>The message-queue contract on NATS JetStream.</summary>
public sealed class NatsMqTests : MqClientContractTests
{
    protected override async Task<IMqTestBackend> StartAsync(TimeProvider time) => await NatsMqHost.StartAsync(time);
}
