using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using FluentValidation;
using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using JsonOptions = Microsoft.AspNetCore.Http.Json.JsonOptions;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
using Milvus.Api.Infrastructure;
using Milvus.Domain.Mq;
using Milvus.Domain.MsgStream;
using Milvus.Domain.MsgStream.Gateway;
using Milvus.Domain.Tso;

namespace Milvus.Api.Endpoints;

/// <summary>
/// Message streams at the time-ticked level (API.md): produce and broadcast with TSO timestamps, consume through
/// server-side subscriptions (plain or time-ticked), seek, delete a subscription, and a Server-Sent Events route
/// that streams packs as they become ready. A msg (<see cref="StreamMsg"/>) carries a typed body as JSON or an
/// opaque payload, and is answered in the form it was produced in.
/// </summary>
public static class MsgStreamApi
{
    /// <summary>What an Idempotency-Key does on produce and broadcast.</summary>
    private const string IdempotentWrite =
        "With an Idempotency-Key header each channel's part is stored at most once per key (for Milvus:Mq:IdempotencyKeySeconds): a retry answers the positions that the first call stored, with Idempotent-Replayed: true when it stored nothing new, " +
        "and writes only the channels that an interrupted first call did not reach (their msgs get the retry's timestamps). The key with another body is a 422.";

    /// <summary>The most channels one request may name.</summary>
    public const int MaxChannels = 1024;

    /// <summary>The most msgs one produce or broadcast may carry.</summary>
    public const int MaxMsgs = 10_000;

    /// <summary>The event type of every event of <c>/msgstream/subscribe</c>.</summary>
    public const string PackEventType = "msgpack";

    public static IEndpointRouteBuilder MapMsgStreamApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/v1/msgstream").WithTags("MsgStream")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        group.MapPost("/produce", Produce)
            .WithValidation<StreamProduceRequest>()
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .WithName("ProduceMsgStream")
            .ProducesProblem(StatusCodes.Status422UnprocessableEntity)
            .WithSummary("Repacks 1 to 10000 msgs onto existing channels (channels[hashKey % n], Insert/Delete rows split per key); msgs without endTs get TSO timestamps. Answers the written positions in request order; 404 for an unknown channel. " + IdempotentWrite);
        group.MapPost("/broadcast", Broadcast)
            .WithValidation<StreamProduceRequest>()
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .WithName("BroadcastMsgStream")
            .ProducesProblem(StatusCodes.Status422UnprocessableEntity)
            .WithSummary("Writes every msg into every channel; positions channel by channel. " + IdempotentWrite);
        group.MapPost("/consume", Consume)
            .WithValidation<StreamConsumeRequest>()
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .WithName("ConsumeMsgStream")
            .WithSummary("The next pack of subscription subName, opened at the earliest msg (or position: \"latest\") on first use and kept between calls. With timeTickAligned the pack holds exactly the msgs with endTs in (beginTs, endTs]. Waits up to waitMs; empty msgs when nothing is ready. A queue message that is not a stream message is passed over and listed in skipped; the subscription goes on. A call on any gateway is served by the gateway that holds the subscription. Each consume acknowledges the answer before it: the subscription is kept in the meta KV, and after a gateway restart it resumes past the last acknowledged answer (so the last answer may come again; 409 if asked with other channels or alignment). A client that retries a consume whose answer it lost should seek to the last positions it processed first. 503 when the gateway holds Milvus:MsgStream:MaxSubscriptions subscriptions.");
        group.MapPost("/seek", Seek)
            .WithValidation<StreamSeekRequest>()
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .WithName("SeekMsgStream")
            .WithSummary("Resumes subscription subName from the positions, one per channel (inclusive), as Milvus's TtMsgStream does: a time-ticked subscription applies each channel's own position, dropping that channel's msgs whose endTs is at or below the position's timestamp until a tick at or above it, so a msg whose beginTs is at or below the position but whose endTs is above it is delivered; 204. msgId must name a msg the channel holds (400 for 0, 404 for one no longer stored); a position of a channel not in channels is a 400. A failed seek changes nothing.");
        group.MapDelete("/subscriptions/{subName}", DeleteSubscription)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .WithName("DeleteMsgStreamSubscription")
            .WithSummary("Ends a subscription, also one kept from before a restart, and destroys its consumer groups and checkpoint; 204, or 404 when unknown.");
        group.MapGet("/subscribe", Subscribe)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .WithName("SubscribeMsgStream")
            .WithSummary("Server-Sent Events: one 'msgpack' event per pack as it becomes ready, from channels (comma-separated) as subscription subName (default: a fresh name), time-ticked unless timeTickAligned=false, at the earliest msg unless position=latest. Ends when the client disconnects.");
        return app;
    }

    /// <summary>Produces msgs by the default repack.</summary>
    public static Task<Results<Ok<StreamPositionsResponse>, ValidationProblem>> Produce(
        StreamProduceRequest request, [FromHeader(Name = IdempotencyKeys.Header)] string? idempotencyKey, [AsParameters] StreamProduceServices writer, CancellationToken cancellationToken) =>
        WriteAsync(request, broadcast: false, idempotencyKey, writer, cancellationToken);

    /// <summary>Writes msgs into every channel.</summary>
    public static Task<Results<Ok<StreamPositionsResponse>, ValidationProblem>> Broadcast(
        StreamProduceRequest request, [FromHeader(Name = IdempotencyKeys.Header)] string? idempotencyKey, [AsParameters] StreamProduceServices writer, CancellationToken cancellationToken) =>
        WriteAsync(request, broadcast: true, idempotencyKey, writer, cancellationToken);

    /// <summary>The next pack of a subscription.</summary>
    public static async Task<Results<Ok<StreamPackResponse>, ForwardedResult>> Consume(
        StreamConsumeRequest request, StreamSubscriptions subscriptions, SubscriptionForwarder holder, HttpContext httpContext, CancellationToken cancellationToken)
    {
        if (await holder.ThroughHolderAsync(request.SubName!, httpContext, request) is { } forwarded)
        {
            return forwarded;
        }
        var pack = await holder.ServeHereAsync(request.SubName!, () => subscriptions.ConsumeAsync(request.SubName!, Names(request.Channels), request.TimeTickAligned ?? false,
            StartOf(request.Position), TimeSpan.FromMilliseconds(request.WaitMs ?? 0), ClientIdentity.Of(httpContext), cancellationToken));
        return TypedResults.Ok(pack is null ? StreamPackResponse.Empty : ToResponse(pack));
    }

    /// <summary>Moves a subscription.</summary>
    public static async Task<Results<NoContent, ForwardedResult>> Seek(
        StreamSeekRequest request, StreamSubscriptions subscriptions, SubscriptionForwarder holder, HttpContext httpContext, CancellationToken cancellationToken)
    {
        if (await holder.ThroughHolderAsync(request.SubName!, httpContext, request) is { } forwarded)
        {
            return forwarded;
        }
        var positions = request.Positions!.Select(p => new MsgPosition(p!.ChannelName!, p.MsgId ?? 0, p.MsgGroup ?? request.SubName!, p.Timestamp ?? 0)).ToArray();
        await holder.ServeHereAsync(request.SubName!, async () =>
        {
            await subscriptions.SeekAsync(request.SubName!, Names(request.Channels), positions, ClientIdentity.Of(httpContext), cancellationToken);
            return true;
        });
        return TypedResults.NoContent();
    }

    /// <summary>Ends a subscription.</summary>
    public static async Task<Results<NoContent, ForwardedResult>> DeleteSubscription(
        string subName, StreamSubscriptions subscriptions, SubscriptionForwarder holder, HttpContext httpContext, CancellationToken cancellationToken)
    {
        if (await holder.ThroughHolderAsync(subName, httpContext, body: null) is { } forwarded)
        {
            return forwarded;
        }
        await holder.ServeHereAsync(subName, async () =>
        {
            await subscriptions.RemoveAsync(subName, cancellationToken);
            return true;
        });
        return TypedResults.NoContent();
    }

    /// <summary>Streams a subscription's packs as Server-Sent Events.</summary>
    public static async Task<Results<EventStreamResult<StreamPackResponse>, ValidationProblem, ForwardedResult>> Subscribe(
        string? channels, string? subName, bool? timeTickAligned, string? position, StreamSubscriptions subscriptions, SubscriptionForwarder holder, HttpContext httpContext)
    {
        var names = (channels ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        var name = string.IsNullOrEmpty(subName) ? $"sse-{Guid.NewGuid():N}" : subName;
        var errors = new Dictionary<string, string[]>();
        if (StreamRules.ChannelErrors(names) is { } channelError)
        {
            errors["channels"] = [channelError];
        }
        if (!MqNames.IsValid(name))
        {
            errors["subName"] = [$"'{name}' is not a valid subscription name: use 1 to 255 letters, digits, '_', '-' or '.'."];
        }
        if (!StreamRules.IsStartPosition(position))
        {
            errors["position"] = ["position must be earliest or latest."];
        }
        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors, title: "One or more fields are invalid.");
        }
        if (await holder.ThroughHolderAsync(name, httpContext, body: null, streaming: true) is { } forwarded)
        {
            return forwarded;
        }
        var lease = await holder.ServeHereAsync(name, () => subscriptions.OpenStreamingAsync(name, names, timeTickAligned ?? true, StartOf(position), ClientIdentity.Of(httpContext), httpContext.RequestAborted));
        // Ends the subscription when the response is done, however it ends.
        httpContext.Response.RegisterForDisposeAsync(lease);
        return new EventStreamResult<StreamPackResponse>(Packs(lease, httpContext.RequestAborted));
    }

    private static async Task<Results<Ok<StreamPositionsResponse>, ValidationProblem>> WriteAsync(
        StreamProduceRequest request, bool broadcast, string? idempotencyKey, [AsParameters] StreamProduceServices writer, CancellationToken cancellationToken)
    {
        if (IdempotencyKeys.Check(idempotencyKey, writer.Http.Request) is { } invalid)
        {
            return TypedResults.ValidationProblem(invalid, title: "One or more fields are invalid.");
        }
        var (producer, ids, limits) = (writer.Producer, writer.Ids, writer.Limits.CurrentValue);
        // The fingerprint is of the request as sent, before the msgs get ids and timestamps, which a retry gets anew.
        var key = idempotencyKey is null ? null : new GatewayProduceKey(
            idempotencyKey,
            MqProduceKey.FingerprintOf([broadcast ? "broadcast"u8.ToArray() : "produce"u8.ToArray(), JsonSerializer.SerializeToUtf8Bytes(request, writer.Json.Value.SerializerOptions)]),
            writer.Mq.Value.IdempotencyKeyLifetime);
        var bodies = request.Msgs!;
        if (!broadcast && UnroutedMsgs(bodies) is { Count: > 0 } unrouted)
        {
            return TypedResults.ValidationProblem(unrouted, title: "One or more fields are invalid.");
        }
        foreach (var body in bodies)
        {
            if (StreamMsgs.BodyBytes(body!) is var size && size > limits.MaxMessageBytes)
            {
                throw new MqMessageTooLargeException(size, limits.MaxMessageBytes);
            }
        }
        var missingIds = bodies.Count(b => b!.Id is null);
        var nextId = missingIds > 0 ? (await ids.AllocAsync((uint)missingIds, cancellationToken)).Begin : 0;
        var msgs = new TsMsg[bodies.Count];
        for (var i = 0; i < msgs.Length; i++)
        {
            var body = bodies[i]!;
            msgs[i] = StreamMsgs.ToMsg(body, body.Id ?? nextId++);
        }
        var produced = await producer.ProduceAsync(Names(request.Channels), msgs, broadcast, key, cancellationToken);
        if (produced.Replayed)
        {
            IdempotencyKeys.MarkReplayed(writer.Http.Response);
        }
        return TypedResults.Ok(new StreamPositionsResponse([.. produced.Positions.Select(ToBody)]));
    }

    /// <summary>The msgs a produce cannot route: any but a JSON Insert or Delete needs a hash key.</summary>
    private static Dictionary<string, string[]> UnroutedMsgs(List<StreamMsg?> msgs)
    {
        var errors = new Dictionary<string, string[]>();
        for (var i = 0; i < msgs.Count; i++)
        {
            if (msgs[i] is { Insert: null, Delete: null, HashKeys: null or { Count: 0 } })
            {
                errors[$"msgs[{i}].hashKeys"] = ["hashKeys must hold at least one key: a produced msg goes to channels[hashKeys[0] % channels.length] (broadcast needs none)."];
            }
        }
        return errors;
    }

    private static async IAsyncEnumerable<SseItem<StreamPackResponse>> Packs(SubscriptionLease lease, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var reader = lease.Stream.Chan();
        while (true)
        {
            bool more;
            try
            {
                more = await reader.WaitToReadAsync(cancellationToken);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                // The client left.
                more = false;
            }
            if (!more)
            {
                yield break;
            }
            while (reader.TryRead(out var pack))
            {
                yield return new SseItem<StreamPackResponse>(ToResponse(pack), PackEventType);
            }
        }
    }

    private static string[] Names(List<string?>? channels) => [.. channels!.Select(c => c!)];

    private static MqStartPosition StartOf(string? position) =>
        string.Equals(position, "latest", StringComparison.OrdinalIgnoreCase) ? MqStartPosition.Latest : MqStartPosition.Earliest;

    private static StreamPackResponse ToResponse(MsgPack pack)
    {
        var msgs = new List<StreamMsg>(pack.Msgs.Count);
        var skipped = pack.Skipped.Select(s => new StreamSkippedMsg(s.ChannelName, s.MsgId, s.Reason)).ToList();
        foreach (var msg in pack.Msgs)
        {
            try
            {
                msgs.Add(StreamMsgs.ToJson(msg));
            }
            catch (MsgUnmarshalException ex)
            {
                // A valid header over a body that does not decode: passed over like any other bad message.
                skipped.Add(new StreamSkippedMsg(msg.Position?.ChannelName ?? "", msg.Position?.MsgId ?? 0, ex.Message));
            }
        }
        return new(pack.BeginTs, pack.EndTs, msgs, [.. pack.StartPositions.Select(ToBody)], [.. pack.EndPositions.Select(ToBody)], skipped);
    }

    private static StreamPosition ToBody(MsgPosition position) => new(position.ChannelName, position.MsgId, position.MsgGroup, position.Timestamp);
}

/// <summary>Where a msg sits: channel, queue msg id, consumer group and timestamp.</summary>
public sealed record StreamPosition(string? ChannelName, long? MsgId, string? MsgGroup, ulong? Timestamp);

/// <summary>The services of a msgstream produce, bound as one parameter.</summary>
public sealed record StreamProduceServices(
    GatewayProducer Producer, IIdAllocator Ids, IOptionsMonitor<LimitsOptions> Limits, IOptions<MqOptions> Mq, IOptions<JsonOptions> Json, HttpContext Http);

/// <summary>The body of produce and broadcast.</summary>
public sealed record StreamProduceRequest(List<string?>? Channels, List<StreamMsg?>? Msgs);

/// <summary>Where the written msgs landed.</summary>
public sealed record StreamPositionsResponse(IReadOnlyList<StreamPosition> Positions);

/// <summary>The body of consume: position is <c>earliest</c> (the default) or <c>latest</c>, for a new subscription.</summary>
public sealed record StreamConsumeRequest(List<string?>? Channels, string? SubName, bool? TimeTickAligned, int? WaitMs, string? Position);

/// <summary>
/// A pack: for a time-ticked subscription, exactly the msgs with endTs in (beginTs, endTs]. <c>skipped</c> lists the
/// queue messages the stream passed over since the pack before (not stream messages, or undecodable); a subscription
/// never stops for one.
/// </summary>
public sealed record StreamPackResponse(
    ulong BeginTs, ulong EndTs, IReadOnlyList<StreamMsg> Msgs, IReadOnlyList<StreamPosition> StartPositions, IReadOnlyList<StreamPosition> EndPositions,
    IReadOnlyList<StreamSkippedMsg> Skipped)
{
    /// <summary>The answer when nothing is ready.</summary>
    public static StreamPackResponse Empty { get; } = new(0, 0, [], [], [], []);
}

/// <summary>A queue message that a stream passed over, and why.</summary>
public sealed record StreamSkippedMsg(string ChannelName, long MsgId, string Reason);

/// <summary>The body of seek.</summary>
public sealed record StreamSeekRequest(string? SubName, List<string?>? Channels, List<StreamPosition?>? Positions);

/// <summary>Rules the message-stream requests share.</summary>
internal static class StreamRules
{
    /// <summary>What is wrong with a channel list, or null.</summary>
    public static string? ChannelErrors(IReadOnlyCollection<string?>? channels)
    {
        if (channels is null || channels.Count == 0)
        {
            return "channels must name at least one channel.";
        }
        if (channels.Count > MsgStreamApi.MaxChannels)
        {
            return $"channels may name at most {MsgStreamApi.MaxChannels} channels.";
        }
        foreach (var channel in channels)
        {
            if (!MqNames.IsValid(channel))
            {
                return $"'{channel}' is not a valid channel name: use 1 to 255 letters, digits, '_', '-' or '.'.";
            }
        }
        return channels.Distinct(StringComparer.Ordinal).Count() != channels.Count ? "channels names a channel twice." : null;
    }

    /// <summary>Whether <paramref name="position"/> is a start position (missing means earliest).</summary>
    public static bool IsStartPosition(string? position) =>
        position is null || string.Equals(position, "earliest", StringComparison.OrdinalIgnoreCase) || string.Equals(position, "latest", StringComparison.OrdinalIgnoreCase);

    /// <summary>Whether <paramref name="name"/> names a sendable type of the MsgType list (by name, not number).</summary>
    public static bool IsMsgType(string? name) =>
        name is { Length: > 0 } && char.IsLetter(name[0]) && Enum.TryParse<MsgType>(name, ignoreCase: false, out var type) && MsgBodies.IsSendable(type);

    /// <summary>The channel list rule.</summary>
    public static void Channels<T>(IRuleBuilder<T, List<string?>?> rule) =>
        rule.Must(c => ChannelErrors(c) is null).WithMessage((_, c) => ChannelErrors(c));

    /// <summary>The subscription name rule.</summary>
    public static void SubName<T>(IRuleBuilder<T, string?> rule) =>
        rule.Must(MqNames.IsValid).WithMessage((_, n) => $"'{n}' is not a valid subscription name: use 1 to 255 letters, digits, '_', '-' or '.'.");
}

/// <summary>Checks a <see cref="StreamProduceRequest"/>.</summary>
public sealed class StreamProduceRequestValidator : AbstractValidator<StreamProduceRequest>
{
    public StreamProduceRequestValidator()
    {
        StreamRules.Channels(RuleFor(r => r.Channels));
        RuleFor(r => r.Msgs).Must(m => m is { Count: > 0 and <= MsgStreamApi.MaxMsgs }).WithMessage($"msgs must hold 1 to {MsgStreamApi.MaxMsgs} msgs.");
        RuleForEach(r => r.Msgs).NotNull().WithMessage("A msg must be an object.").DependentRules(() =>
            RuleForEach(r => r.Msgs).SetValidator(new StreamMsgValidator()!));
    }
}

/// <summary>Checks a <see cref="StreamConsumeRequest"/>.</summary>
public sealed class StreamConsumeRequestValidator : AbstractValidator<StreamConsumeRequest>
{
    public StreamConsumeRequestValidator(IOptions<StreamSubscriptionOptions> options)
    {
        var maxWait = options.Value.MaxWaitMs;
        StreamRules.Channels(RuleFor(r => r.Channels));
        StreamRules.SubName(RuleFor(r => r.SubName));
        RuleFor(r => r.WaitMs).InclusiveBetween(0, maxWait).When(r => r.WaitMs is not null).WithMessage($"waitMs must be between 0 and {maxWait}.");
        RuleFor(r => r.Position).Must(StreamRules.IsStartPosition).WithMessage("position must be earliest or latest.");
    }
}

/// <summary>Checks a <see cref="StreamSeekRequest"/>.</summary>
public sealed class StreamSeekRequestValidator : AbstractValidator<StreamSeekRequest>
{
    public StreamSeekRequestValidator()
    {
        StreamRules.Channels(RuleFor(r => r.Channels));
        StreamRules.SubName(RuleFor(r => r.SubName));
        RuleFor(r => r.Positions).Must(p => p is { Count: > 0 and <= MsgStreamApi.MaxChannels }).WithMessage($"positions must hold 1 to {MsgStreamApi.MaxChannels} positions.");
        RuleForEach(r => r.Positions).Must(p => p is not null && MqNames.IsValid(p.ChannelName) && p.MsgId is > 0)
            .WithMessage((_, p) => $"A position needs a valid channelName and the msgId of a msg the channel holds (above 0, as a consume answer's positions give it); this one has channelName '{p?.ChannelName}' and msgId {p?.MsgId?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "missing"}.");
    }
}
