using FluentValidation;
using Microsoft.AspNetCore.Http.HttpResults;
using Milvus.Api.Infrastructure;
using Milvus.Domain.Channels;
using Milvus.Domain.Mq;

namespace Milvus.Api.Endpoints;

/// <summary>
/// The channel service (seed 8.2): create channels with fresh names for an owner, create one with a chosen name,
/// describe owners, destroy atomically, and list.
/// </summary>
public static class ChannelsApi
{
    public static IEndpointRouteBuilder MapChannelsApi(this IEndpointRouteBuilder app)
    {
        var channels = app.MapGroup("/api/v1/channels").WithTags("Channels")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        channels.MapPost("/", CreateChannels)
            .WithValidation<CreateChannelsRequest>()
            .WithName("CreateChannels")
            .WithSummary("Creates numChannels (1 to 1024) channels with new, unique names, owned by ownerDescription (role required); 201 with their names.");
        channels.MapPost("/describe", DescribeChannels)
            .WithValidation<ChannelNamesRequest>()
            .ProducesProblem(StatusCodes.Status404NotFound)
            .WithName("DescribeChannels")
            .WithSummary("Each named channel (1 to 1024) with its owner; 404 naming every unknown channel.");
        channels.MapPost("/destroy", DestroyChannels)
            .WithValidation<ChannelNamesRequest>()
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable)
            .WithName("DestroyChannels")
            .WithSummary("Destroys channels (1 to 1024) with their messages, groups and owners, atomically: 404 naming the unknown ones, and then nothing is destroyed. Their archived segments go too (metadata, then objects); 503 when a store is down, and then the objects the channels left behind are deleted once it answers.");
        channels.MapGet("/", ListChannels)
            .WithName("ListChannels")
            .WithSummary("Every channel name, in ordinal order.");
        channels.MapPut("/{channel}", CreateChannel)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .WithName("CreateNamedChannel")
            .WithSummary("Creates one channel with a chosen name and an optional ownerDescription, which is stored like the owners of created channels; 201, or 409 if it exists.");
        return app;
    }

    /// <summary>Creates channels with fresh names.</summary>
    public static async Task<Created<ChannelNamesResponse>> CreateChannels(CreateChannelsRequest request, IChannelService service, CancellationToken cancellationToken)
    {
        var names = await service.CreateChannelsAsync(request.OwnerDescription!.ToOwner(), request.NumChannels!.Value, cancellationToken);
        return TypedResults.Created((string?)null, new ChannelNamesResponse(names));
    }

    /// <summary>Describes channels.</summary>
    public static async Task<Ok<DescribeChannelsResponse>> DescribeChannels(ChannelNamesRequest request, IChannelService service, CancellationToken cancellationToken) =>
        TypedResults.Ok(new DescribeChannelsResponse(await service.DescribeChannelsAsync(request.ChannelNames!.Cast<string>().ToList(), cancellationToken)));

    /// <summary>Destroys channels atomically.</summary>
    public static async Task<NoContent> DestroyChannels(ChannelNamesRequest request, IChannelService service, CancellationToken cancellationToken)
    {
        await service.DestroyChannelsAsync(request.ChannelNames!.Cast<string>().ToList(), cancellationToken);
        return TypedResults.NoContent();
    }

    /// <summary>Every channel name.</summary>
    public static async Task<Ok<ChannelNamesResponse>> ListChannels(IChannelService service, CancellationToken cancellationToken) =>
        TypedResults.Ok(new ChannelNamesResponse(await service.ListChannelsAsync(cancellationToken)));

    /// <summary>Creates one channel with a chosen name; the body is optional.</summary>
    public static async Task<Results<Created<ChannelNameResponse>, ValidationProblem>> CreateChannel(
        string channel, PutChannelRequest? request, IValidator<PutChannelRequest> validator, IChannelService service, CancellationToken cancellationToken)
    {
        if (request is not null && await validator.ValidateAsync(request, cancellationToken) is { IsValid: false } result)
        {
            return TypedResults.ValidationProblem(result.ToDictionary(), title: "One or more fields are invalid.");
        }
        await service.CreateChannelAsync(channel, request?.OwnerDescription?.ToOwner(), cancellationToken);
        return TypedResults.Created($"/api/v1/channels/{channel}", new ChannelNameResponse(channel));
    }
}

/// <summary>Who owns a channel (seed 8.2); role is required, address and descriptionText are optional.</summary>
public sealed record OwnerDescriptionBody(string? Role, string? Address, string? DescriptionText)
{
    /// <summary>The longest value of each field.</summary>
    public const int MaxLength = 4096;

    /// <summary>The owner this body describes.</summary>
    public OwnerDescription ToOwner() => new(Role ?? "", Address ?? "", DescriptionText ?? "");
}

/// <summary>The body of <c>POST /api/v1/channels</c>.</summary>
public sealed record CreateChannelsRequest(OwnerDescriptionBody? OwnerDescription, int? NumChannels);

/// <summary>The optional body of <c>PUT /api/v1/channels/{channel}</c>.</summary>
public sealed record PutChannelRequest(OwnerDescriptionBody? OwnerDescription);

/// <summary>The channels to describe or destroy.</summary>
public sealed record ChannelNamesRequest(List<string?>? ChannelNames);

/// <summary>One channel's name.</summary>
public sealed record ChannelNameResponse(string ChannelName);

/// <summary>Channel names.</summary>
public sealed record ChannelNamesResponse(IReadOnlyList<string> ChannelNames);

/// <summary>Channels with their owners.</summary>
public sealed record DescribeChannelsResponse(IReadOnlyList<ChannelDescription> Descriptions);

/// <summary>Checks an <see cref="OwnerDescriptionBody"/>.</summary>
public sealed class OwnerDescriptionBodyValidator : AbstractValidator<OwnerDescriptionBody>
{
    public OwnerDescriptionBodyValidator()
    {
        RuleFor(o => o.Role).NotEmpty().WithMessage("role must not be empty.")
            .MaximumLength(OwnerDescriptionBody.MaxLength).WithMessage($"role must be at most {OwnerDescriptionBody.MaxLength} characters.");
        RuleFor(o => o.Address).MaximumLength(OwnerDescriptionBody.MaxLength).WithMessage($"address must be at most {OwnerDescriptionBody.MaxLength} characters.")
            .Must(a => a is null || !a.Any(c => char.IsWhiteSpace(c) || char.IsControl(c))).WithMessage("address must not contain spaces or control characters.");
        RuleFor(o => o.DescriptionText).MaximumLength(OwnerDescriptionBody.MaxLength)
            .WithMessage($"descriptionText must be at most {OwnerDescriptionBody.MaxLength} characters.");
    }
}

/// <summary>Checks a <see cref="CreateChannelsRequest"/>.</summary>
public sealed class CreateChannelsRequestValidator : AbstractValidator<CreateChannelsRequest>
{
    public CreateChannelsRequestValidator()
    {
        RuleFor(r => r.OwnerDescription).NotNull().WithMessage("ownerDescription is required.")
            .SetValidator(new OwnerDescriptionBodyValidator()!);
        RuleFor(r => r.NumChannels).NotNull().WithMessage("numChannels is required.")
            .InclusiveBetween(1, ChannelService.MaxChannels).WithMessage($"numChannels must be between 1 and {ChannelService.MaxChannels}.");
    }
}

/// <summary>Checks a <see cref="PutChannelRequest"/>.</summary>
public sealed class PutChannelRequestValidator : AbstractValidator<PutChannelRequest>
{
    public PutChannelRequestValidator() => RuleFor(r => r.OwnerDescription).SetValidator(new OwnerDescriptionBodyValidator()!);
}

/// <summary>Checks a <see cref="ChannelNamesRequest"/>.</summary>
public sealed class ChannelNamesRequestValidator : AbstractValidator<ChannelNamesRequest>
{
    public ChannelNamesRequestValidator()
    {
        RuleFor(r => r.ChannelNames).NotNull().WithMessage("channelNames is required.")
            .Must(n => n is { Count: > 0 and <= ChannelService.MaxChannels }).WithMessage($"channelNames must hold 1 to {ChannelService.MaxChannels} names.");
        RuleForEach(r => r.ChannelNames).Must(MqNames.IsValid)
            .WithMessage((_, name) => $"'{name}' is not a valid channel name: use 1 to 255 letters, digits, '_', '-' or '.'.");
    }
}
