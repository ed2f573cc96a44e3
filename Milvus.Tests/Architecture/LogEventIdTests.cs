using System.Reflection;
using Microsoft.Extensions.Logging;

namespace Milvus.Tests.Architecture;

/// <summary>
/// Every <c>[LoggerMessage]</c> of the gateway has an event id of its own, in the range of its subsystem (the table in
/// <c>docs/architecture.md</c>), so that an operator can filter the log by id and a new message cannot take an id
/// that is already used.
/// </summary>
public sealed class LogEventIdTests
{
    /// <summary>Subsystems by namespace prefix (the longest prefix wins), with their event-id ranges.</summary>
    private static readonly (string Namespace, int First, int Last)[] Ranges =
    [
        ("Milvus.Workers.Hosting", 1000, 1999),
        ("Milvus.Api", 2000, 2999),
        ("Milvus.Api.Security", 3000, 3099),
        ("Milvus.Domain.Kv", 3100, 3399),
        ("Milvus.Workers.Kv", 3400, 3499),
        ("Milvus.Domain.Tso", 4000, 4199),
        ("Milvus.Domain.Allocation", 4200, 4299),
        ("Milvus.Workers.Tso", 4300, 4999),
        ("Milvus.Domain.Mq", 5000, 5149),
        ("Milvus.Domain.Mq.Nats", 5150, 5199),
        ("Milvus.Workers.Mq", 5200, 5299),
        ("Milvus.Domain.Mq.Redis", 5300, 5399),
        ("Milvus.Domain.Channels", 5400, 5999),
        ("Milvus.Domain.MsgStream", 6000, 6199),
        ("Milvus.Workers.TimeTick", 6200, 6299),
        ("Milvus.Workers.Statistics", 6400, 6999),
        ("Milvus.Workers.Params", 7000, 7499),
        ("Milvus.Domain.Sessions", 7500, 7999),
        ("Milvus.Domain.Archive", 8000, 8999),
        ("Milvus.Workers.Archive", 8000, 8999),
        ("Milvus.Workers.Jobs", 9000, 9999),
    ];

    [Fact]
    public void EveryLogEventIdIsUniqueAndInItsSubsystemsRange()
    {
        var messages = new[] { typeof(Program).Assembly, typeof(Workers.Hosting.PeriodicService).Assembly, typeof(Domain.IMilvusError).Assembly }
            .SelectMany(a => a.GetTypes())
            .SelectMany(t => t.GetMethods(BindingFlags.Static | BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly)
                .Select(m => (Type: t, Method: m, Attribute: m.GetCustomAttribute<LoggerMessageAttribute>())))
            .Where(m => m.Attribute is not null)
            .Select(m => (Name: $"{m.Type.FullName}.{m.Method.Name}", Namespace: m.Type.Namespace ?? "", Id: m.Attribute!.EventId))
            .ToList();

        Assert.True(messages.Count > 50, $"only {messages.Count} log messages were found");
        var shared = messages.GroupBy(m => m.Id).Where(g => g.Count() > 1).Select(g => $"{g.Key}: {string.Join(", ", g.Select(m => m.Name))}").ToList();
        Assert.True(shared.Count == 0, $"event ids used twice:\n{string.Join("\n", shared)}");
        var misplaced = messages
            .Select(m => (m.Name, m.Id, Range: Ranges.Where(r => m.Namespace == r.Namespace || m.Namespace.StartsWith(r.Namespace + ".", StringComparison.Ordinal)).MaxBy(r => r.Namespace.Length)))
            .Where(m => m.Range.Namespace is null || m.Id < m.Range.First || m.Id > m.Range.Last)
            .Select(m => m.Range.Namespace is null ? $"{m.Name} ({m.Id}): no range for its namespace" : $"{m.Name} ({m.Id}): outside {m.Range.Namespace}'s {m.Range.First}–{m.Range.Last}")
            .ToList();
        Assert.True(misplaced.Count == 0, $"event ids outside their subsystem's range:\n{string.Join("\n", misplaced)}");
    }
}
