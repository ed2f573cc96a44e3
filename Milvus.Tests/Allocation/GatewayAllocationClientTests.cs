using System.Net;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Milvus.Domain;
using Milvus.Domain.Allocation;
using Milvus.Domain.Kv;
using Milvus.Domain.Tso;
using Milvus.Tests.Api;
using Milvus.Tests.Infrastructure;
using Milvus.Tests.Tso;
using Milvus.Workers.Tso.Http;

namespace Milvus.Tests.Allocation;

public sealed class GatewayAllocationClientTests(GatewayAllocationClientTests.Fixture fixture) : IClassFixture<GatewayAllocationClientTests.Fixture>
{
    private readonly GatewayAllocationClient _client = new(fixture.Factory.CreateClient());

    public sealed class Fixture : IDisposable
    {
        public GatewayFactory Factory { get; } = new();

        public void Dispose() => Factory.Dispose();
    }

    [Fact]
    public async Task TheClientGetsTimestampBatchesAndIdRangesFromTheGateway()
    {
        var first = await _client.AllocAsync(5);
        var second = await _client.AllocOneAsync();
        var ids = await _client.AllocIdsAsync(7);

        Assert.True(second.Value >= first.Value + 5);
        Assert.Equal(7, ids.Count);
    }

    [Fact]
    public async Task TheBatchingAllocatorsWorkOverHttp()
    {
        await using var timestamps = new TimestampAllocator(_client, TimeProvider.System);
        await using var ids = new IdAllocator(_client);
        timestamps.Start();
        ids.Start();

        var stamps = await Task.WhenAll(Enumerable.Range(0, 500).Select(_ => Task.Run(() => timestamps.AllocOneAsync().AsTask())));
        var first = await ids.AllocAsync(10);
        var second = await ids.AllocAsync(10);

        Assert.Equal(500, stamps.Distinct().Count());
        Assert.Equal(first.End, second.Begin);
        Assert.Equal(IdAllocator.PrefetchCount - 20, ids.Cached);
    }

    [Theory]
    [InlineData(0u)]
    [InlineData(262_145u)]
    public async Task ATimestampCountOutOfRangeIsRefusedBeforeAnyCall(uint count)
    {
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => _client.AllocAsync(count).AsTask());
    }

    [Fact]
    public async Task AGatewayWhoseOracleIsNotReadyRaisesAnUnavailableError()
    {
        var kv = new FaultyKv { FailLoads = true };
        using var gateway = new GatewayFactory();
        using var broken = gateway.WithWebHostBuilder(b => b.ConfigureTestServices(s => s.AddSingleton<ITxnKv>(kv)));
        var client = new GatewayAllocationClient(broken.CreateClient());

        var error = await Assert.ThrowsAsync<GatewayAllocationException>(() => client.AllocAsync(1).AsTask());

        Assert.Equal(ErrorKind.Unavailable, error.Kind);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, error.StatusCode);
        Assert.Contains("not ready", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AGatewayThatCannotBeReachedRaisesAnUnavailableError()
    {
        var port = LoopbackPorts.Unused();
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/") };

        var error = await Assert.ThrowsAsync<GatewayAllocationException>(() => ((IIdAllocator)new GatewayAllocationClient(http)).AllocOneAsync().AsTask());

        Assert.Equal(ErrorKind.Unavailable, error.Kind);
        Assert.Null(error.StatusCode);
    }

    [Fact]
    public async Task TimestampsFromTheClientFollowThoseOfTheOracleItself()
    {
        var oracle = fixture.Factory.Services.GetRequiredService<TimestampOracle>();

        var local = await oracle.GenerateTsoAsync(1);
        var remote = await _client.AllocOneAsync();

        Assert.True(remote > local);
    }
}
