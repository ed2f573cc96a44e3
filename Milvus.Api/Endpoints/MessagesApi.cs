using FluentValidation;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
using Milvus.Api.Infrastructure;
using Milvus.Domain.Mq;
using Milvus.Domain.Mq.RocksMq;

namespace Milvus.Api.Endpoints;

/// <summary>
/// The messages of one channel at the message-queue level: produce, consumer groups, consume (with long poll)
/// and seek. Creating, listing and destroying channels is <see cref="ChannelsApi"/>. Payloads are base64; msg ids are JSON numbers.
/// </summary>
public static class MessagesApi
{
    /// <summary>The most messages one produce or consume may carry.</summary>
    public const int MaxBatch = 10_000;

    public static IEndpointRouteBuilder MapMessagesApi(this IEndpointRouteBuilder app)
    {
        var channels = app.MapGroup("/api/v1/channels").WithTags("Messages")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        channels.MapPost("/{channel}/messages", Produce)
            .WithValidation<ProduceRequest>()
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status422UnprocessableEntity)
            .WithName("ProduceMessages")
            .WithSummary("Appends 1 to 10000 base64 payloads in one atomic batch; 201 with their msg ids in order. The batch is in the write-ahead log when this answers (and fsynced with rocksmq.syncWrites). A payload over Milvus:Limits:MaxMessageBytes gets 413. " +
                "With an Idempotency-Key header the batch is stored at most once per key and channel (for Milvus:Mq:IdempotencyKeySeconds): a retry answers the first call's msg ids with Idempotent-Replayed: true, and the key with another batch is a 422.");
        channels.MapPost("/{channel}/groups", CreateGroup)
            .WithValidation<CreateGroupRequest>()
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .WithName("CreateConsumerGroup")
            .WithSummary("Creates a consumer group at the earliest retained message (the default) or after the latest; 201, or 409 if it exists.");
        channels.MapDelete("/{channel}/groups/{group}", DestroyGroup)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .WithName("DestroyConsumerGroup")
            .WithSummary("Destroys a consumer group and its persisted position; 204.");
        channels.MapGet("/{channel}/groups/{group}/messages", Consume)
            .AddEndpointFilter<SameOriginFilter>()
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .WithName("ConsumeMessages")
            .WithSummary("Up to n (1 to 10000, default 1) messages from the group's position, which then moves past them; [] when caught up. With waitMs > 0 (at most Milvus:RocksMq:MaxWaitMs) it waits that long for a first message. " +
                "A client that leaves before the answer (its timeout, a closed connection) gets its messages again on the next consume: the group goes back to them. Since it moves the group, a browser's request from another site (Sec-Fetch-Site or Origin) is a 403.");
        channels.MapPost("/{channel}/groups/{group}/seek", Seek)
            .WithValidation<SeekRequest>()
            .ProducesProblem(StatusCodes.Status404NotFound)
            .WithName("SeekConsumerGroup")
            .WithSummary("Moves the group: to msgId (inclusive, forwards or backwards; 404 if no such message is stored), or to position earliest or latest; 204.");
        return app;
    }

    /// <summary>Produces a batch.</summary>
    public static async Task<Results<Created<ProduceResponse>, ValidationProblem>> Produce(
        string channel,
        ProduceRequest request,
        [FromHeader(Name = IdempotencyKeys.Header)] string? idempotencyKey,
        IMqClient mq,
        IOptionsMonitor<LimitsOptions> limits,
        IOptions<MqOptions> mqOptions,
        HttpResponse response,
        CancellationToken cancellationToken)
    {
        if (IdempotencyKeys.Check(idempotencyKey, response.HttpContext.Request) is { } invalid)
        {
            return TypedResults.ValidationProblem(invalid, title: "One or more fields are invalid.");
        }
        var max = limits.CurrentValue.MaxMessageBytes;
        var payloads = new ReadOnlyMemory<byte>[request.Messages!.Count];
        for (var i = 0; i < payloads.Length; i++)
        {
            var payload = request.Messages[i]!.Payload ?? [];
            if (payload.Length > max)
            {
                throw new MqMessageTooLargeException(payload.Length, max);
            }
            payloads[i] = payload;
        }
        if (idempotencyKey is null)
        {
            return TypedResults.Created((string?)null, new ProduceResponse(await mq.ProduceAsync(channel, payloads, cancellationToken)));
        }
        var key = new MqProduceKey(idempotencyKey, MqProduceKey.FingerprintOf(payloads), mqOptions.Value.IdempotencyKeyLifetime);
        var produced = await mq.ProduceAsync(channel, payloads, key, cancellationToken);
        if (produced.Replayed)
        {
            IdempotencyKeys.MarkReplayed(response);
        }
        return TypedResults.Created((string?)null, new ProduceResponse(produced.Ids));
    }

    /// <summary>Creates a consumer group.</summary>
    public static async Task<Created> CreateGroup(string channel, CreateGroupRequest request, IMqClient mq, CancellationToken cancellationToken)
    {
        await mq.CreateConsumerGroupAsync(channel, request.GroupName!, request.Position ?? MqStartPosition.Earliest, cancellationToken);
        return TypedResults.Created($"/api/v1/channels/{channel}/groups/{request.GroupName}");
    }

    /// <summary>Destroys a consumer group.</summary>
    public static async Task<NoContent> DestroyGroup(string channel, string group, IMqClient mq, CancellationToken cancellationToken)
    {
        await mq.DestroyConsumerGroupAsync(channel, group, cancellationToken);
        return TypedResults.NoContent();
    }

    /// <summary>Consumes up to n messages, waiting up to waitMs for a first one.</summary>
    public static async Task<Results<Ok<ConsumeResponse>, ValidationProblem>> Consume(
        string channel, string group, int? n, int? waitMs, IMqClient mq, IOptions<RocksMqOptions> options, CancellationToken cancellationToken)
    {
        var count = n ?? 1;
        var wait = waitMs ?? 0;
        var maxWait = options.Value.MaxWaitMs;
        var errors = new Dictionary<string, string[]>();
        if (count is < 1 or > MaxBatch)
        {
            errors["n"] = [$"n must be between 1 and {MaxBatch}."];
        }
        if (wait < 0 || wait > maxWait)
        {
            errors["waitMs"] = [$"waitMs must be between 0 and {maxWait}."];
        }
        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors, title: "One or more fields are invalid.");
        }
        var messages = await mq.ConsumeAsync(channel, group, count, TimeSpan.FromMilliseconds(wait), cancellationToken);
        if (messages.Count > 0 && cancellationToken.IsCancellationRequested)
        {
            // The client left (its own timeout, a closed connection) while the group moved: it will never see these
            // msgs, so the group goes back to the first of them and the next consume gets them.
            await mq.SeekAsync(channel, group, messages[0].MsgId, CancellationToken.None);
        }
        return TypedResults.Ok(new ConsumeResponse([.. messages.Select(m => new ConsumedMessage(m.MsgId, m.Payload.ToArray()))]));
    }

    /// <summary>Moves a consumer group.</summary>
    public static async Task<NoContent> Seek(string channel, string group, SeekRequest request, IMqClient mq, CancellationToken cancellationToken)
    {
        if (request.MsgId is { } msgId)
        {
            await mq.SeekAsync(channel, group, msgId, cancellationToken);
        }
        else
        {
            await mq.SeekToAsync(channel, group, request.Position!.Value, cancellationToken);
        }
        return TypedResults.NoContent();
    }

}

/// <summary>A batch of messages to produce.</summary>
public sealed record ProduceRequest(List<ProduceMessage?>? Messages);

/// <summary>One message to produce; a missing payload is an empty one.</summary>
public sealed record ProduceMessage(byte[]? Payload);

/// <summary>The ids of a produced batch, in order.</summary>
public sealed record ProduceResponse(IReadOnlyList<long> MsgIds);

/// <summary>A consumer group to create.</summary>
public sealed record CreateGroupRequest(string? GroupName, MqStartPosition? Position);

/// <summary>Consumed messages.</summary>
public sealed record ConsumeResponse(IReadOnlyList<ConsumedMessage> Messages);

/// <summary>One consumed message.</summary>
public sealed record ConsumedMessage(long MsgId, byte[] Payload);

/// <summary>Where to move a group: a msg id, or earliest or latest.</summary>
public sealed record SeekRequest(long? MsgId, MqStartPosition? Position);

/// <summary>Checks a <see cref="ProduceRequest"/>.</summary>
public sealed class ProduceRequestValidator : AbstractValidator<ProduceRequest>
{
    public ProduceRequestValidator()
    {
        RuleFor(r => r.Messages).NotNull().WithMessage("messages is required.")
            .Must(m => m is { Count: > 0 and <= MessagesApi.MaxBatch }).WithMessage($"messages must hold 1 to {MessagesApi.MaxBatch} messages.");
        RuleForEach(r => r.Messages).NotNull().WithMessage("A message must be an object with a base64 payload.");
    }
}

/// <summary>Checks a <see cref="CreateGroupRequest"/>.</summary>
public sealed class CreateGroupRequestValidator : AbstractValidator<CreateGroupRequest>
{
    public CreateGroupRequestValidator()
    {
        RuleFor(r => r.GroupName).Must(MqNames.IsValid)
            .WithMessage(r => $"'{r.GroupName}' is not a valid group name: use 1 to 255 letters, digits, '_', '-' or '.'.");
        RuleFor(r => r.Position).IsInEnum().WithMessage("position must be earliest or latest.");
    }
}

/// <summary>Checks a <see cref="SeekRequest"/>.</summary>
public sealed class SeekRequestValidator : AbstractValidator<SeekRequest>
{
    public SeekRequestValidator()
    {
        RuleFor(r => r).Must(r => r.MsgId.HasValue != r.Position.HasValue)
            .WithName("msgId").WithMessage("Give exactly one of msgId and position.");
        RuleFor(r => r.Position).IsInEnum().WithMessage("position must be earliest or latest.");
    }
}
