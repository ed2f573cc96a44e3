using Milvus.Domain;
using Milvus.Domain.Components;
using Milvus.Domain.Mq;

namespace Milvus.Tests.Mq.RocksMq;

/// <summary>What only RocksMQ promises beyond the <see cref="MqClientContractTests"/>: key counts and its component.</summary>
public sealed class RocksMqTests : IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private RocksMqHost _host = null!;

    private IMqClient Mq => _host.Mq;

    public async Task InitializeAsync() => _host = await RocksMqHost.StartAsync();

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task DestroyingAChannelLeavesNoKeyOfItAndSparesItsNeighbours()
    {
        foreach (var name in new[] { "a", "a.b", "a-" })
        {
            await Mq.CreateChannelAsync(name);
            await Mq.ProduceAsync(name, Payloads("1", "2", "3"));
            await Mq.CreateConsumerGroupAsync(name, "g", MqStartPosition.Earliest);
            await Mq.CreateConsumerGroupAsync(name, "a", MqStartPosition.Latest);
        }
        var before = (_host.CountDataKeys("a"), _host.CountMetaKeys("a"));

        await Mq.DestroyChannelAsync("a");

        Assert.Equal((3, 4), before);
        Assert.Equal(0, _host.CountDataKeys("a"));
        Assert.Equal(0, _host.CountMetaKeys("a"));
        Assert.Equal(["a-", "a.b"], await Mq.ListChannelsAsync());
        Assert.Equal(3, _host.CountDataKeys("a.b"));
        Assert.Equal(["1", "2", "3"], Texts(await Mq.ConsumeAsync("a.b", "g", 10)));
        await Assert.ThrowsAsync<MqChannelNotFoundException>(() => Mq.ConsumeAsync("a", "g", 1));
    }

    [Fact]
    public async Task TheComponentIsHealthyWhenOpenAndCallsFailAsUnavailableOnceStopped()
    {
        var healthy = (await _host.Component.GetComponentStatesAsync(CancellationToken.None)).State;

        await _host.Component.StopAsync(CancellationToken.None);
        var error = await Assert.ThrowsAsync<MqUnavailableException>(() => Mq.ListChannelsAsync());
        await _host.RestartAsync();

        Assert.Equal("rocksmq", healthy.Role);
        Assert.Equal(StateCode.Healthy, healthy.StateCode);
        Assert.Equal(ErrorKind.Unavailable, error.Kind);
        Assert.Empty(await Mq.ListChannelsAsync());
    }

    internal static IReadOnlyList<ReadOnlyMemory<byte>> Payloads(params string[] texts) => MqClientContractTests.Payloads(texts);

    [Fact]
    public async Task ConcurrentSingleProducesCommittedTogetherEachGetTheIdsOfTheirOwnMessages()
    {
        await Mq.CreateChannelAsync("together");
        await Mq.CreateConsumerGroupAsync("together", "g", MqStartPosition.Earliest);

        // 16 callers at once queue behind one another's writes, so their calls are committed in shared batches.
        var calls = await Task.WhenAll(Enumerable.Range(0, 16).Select(caller => Task.Run(async () =>
        {
            var sent = new List<(long Id, string Text)>();
            for (var i = 0; i < 40; i++)
            {
                var texts = Enumerable.Range(0, 1 + (i % 3)).Select(j => $"{caller}:{i}:{j}").ToArray();
                var ids = await Mq.ProduceAsync("together", Payloads(texts));
                sent.AddRange(ids.Zip(texts));
            }
            return sent;
        }))).WaitAsync(Patience);
        var stored = await Mq.ConsumeAsync("together", "g", 10_000);

        var expected = calls.SelectMany(c => c).OrderBy(m => m.Id).ToList();
        Assert.Equal(expected.Count, expected.Select(m => m.Id).Distinct().Count());
        Assert.Equal(expected.Select(m => m.Id), stored.Select(m => m.MsgId));
        Assert.Equal(expected.Select(m => m.Text), Texts(stored));
    }

    internal static List<string> Texts(IEnumerable<MqMessage> messages) => MqClientContractTests.Texts(messages);
}

/// <summary>The message-queue contract on RocksMQ.</summary>
public sealed class RocksMqContractTests : MqClientContractTests
{
    protected override async Task<IMqTestBackend> StartAsync(TimeProvider time) => await RocksMqHost.StartAsync(time: time);
}
