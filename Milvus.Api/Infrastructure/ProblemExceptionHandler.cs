using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Mvc;
using Milvus.Domain;

namespace Milvus.Api.Infrastructure;

/// <summary>
/// Turns every exception into an RFC 9457 problem: bad requests keep their 4xx status, domain errors map by
/// their <see cref="ErrorKind"/>, and anything else is a 500 whose detail says nothing of the internals.
/// </summary>
public sealed partial class ProblemExceptionHandler(IProblemDetailsService problems, ILogger<ProblemExceptionHandler> logger) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        var (status, title, detail) = exception switch
        {
            _ when IsStorageFull(exception) => (StatusCodes.Status507InsufficientStorage, TitleFor(507),
                "The gateway's storage is full, so nothing was written. Free space or enlarge the data directory's volume; if /health/ready stays 503 afterwards, restart the gateway."),
            BadHttpRequestException bad => (bad.StatusCode, TitleFor(bad.StatusCode), Describe(bad)),
            IMilvusError error => (StatusFor(error.Kind), TitleFor(StatusFor(error.Kind)), exception.Message),
            ArgumentException => (StatusCodes.Status400BadRequest, TitleFor(400), exception.Message),
            OperationCanceledException when httpContext.RequestAborted.IsCancellationRequested => (499, "Client closed request", "The client closed the request."),
            _ => (StatusCodes.Status500InternalServerError, TitleFor(500), "An unexpected error occurred. The request id names it in the gateway's log."),
        };
        if (status == StatusCodes.Status500InternalServerError)
        {
            Log.Unhandled(logger, exception, httpContext.Request.Method, httpContext.Request.Path);
        }
        else if (status >= 500)
        {
            // An expected problem (a backend down, a full disk): the operator needs to know, without a stack trace.
            Log.Answered(logger, status, httpContext.Request.Method, httpContext.Request.Path, exception.GetType().Name, exception.Message);
        }
        if (httpContext.Response.HasStarted)
        {
            return true;
        }
        httpContext.Response.StatusCode = status;
        return await problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = httpContext,
            Exception = exception,
            ProblemDetails = new ProblemDetails { Status = status, Title = title, Detail = detail },
        }).ConfigureAwait(false);
    }

    /// <summary>The status code for a kind of domain error.</summary>
    public static int StatusFor(ErrorKind kind) => kind switch
    {
        ErrorKind.Invalid => StatusCodes.Status400BadRequest,
        ErrorKind.NotFound => StatusCodes.Status404NotFound,
        ErrorKind.Conflict => StatusCodes.Status409Conflict,
        ErrorKind.KeyReused => StatusCodes.Status422UnprocessableEntity,
        ErrorKind.TooLarge => StatusCodes.Status413PayloadTooLarge,
        ErrorKind.Unavailable or ErrorKind.Busy => StatusCodes.Status503ServiceUnavailable,
        ErrorKind.TooMany => StatusCodes.Status429TooManyRequests,
        ErrorKind.InsufficientStorage => StatusCodes.Status507InsufficientStorage,
        _ => StatusCodes.Status500InternalServerError,
    };

    /// <summary>A short human title for a status code.</summary>
    public static string TitleFor(int status) => status switch
    {
        400 => "Bad request",
        401 => "Unauthorized",
        404 => "Not found",
        405 => "Method not allowed",
        409 => "Conflict",
        413 => "Payload too large",
        415 => "Unsupported media type",
        422 => "Idempotency key reused",
        429 => "Too many requests",
        503 => "Service unavailable",
        507 => "Insufficient storage",
        _ when status >= 500 => "Internal server error",
        _ => "Error",
    };

    /// <summary>
    /// Whether an error, or one it wraps, is a full disk: an <see cref="ErrorKind.InsufficientStorage"/> error, an
    /// <see cref="IOException"/> with ENOSPC or ERROR_DISK_FULL, or a storage engine's "No space left on device"
    /// (RocksDB reports it in its message only).
    /// </summary>
    public static bool IsStorageFull(Exception exception)
    {
        for (var error = exception; error is not null; error = error.InnerException)
        {
            if (error is IMilvusError { Kind: ErrorKind.InsufficientStorage }
                || error is IOException { HResult: Enospc or DiskFull or HandleDiskFull }
                || error.Message.Contains("No space left on device", StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }
        return false;
    }

    private const int Enospc = 28;
    private const int DiskFull = unchecked((int)0x80070070);
    private const int HandleDiskFull = unchecked((int)0x80070027);

    private static string Describe(BadHttpRequestException bad)
    {
        if (bad.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return "The request body is larger than Milvus:Limits:MaxRequestBytes allows.";
        }
        // Minimal APIs name the parameter as "Type name" and the JSON reader names CLR types; a client needs
        // neither, so both are cut down to the field and the place where the body broke.
        var message = ParameterName().Replace(bad.Message, "parameter '$1'");
        if (bad.InnerException is System.Text.Json.JsonException json)
        {
            var reason = ClrType().Replace(DuringType().Replace(json.Message.Split(" Path:", 2)[0], "."), "has the wrong type for this field.");
            message += $" {reason} At {json.Path ?? "$"}, line {json.LineNumber ?? 0}, byte {json.BytePositionInLine ?? 0}.";
        }
        return message;
    }

    [GeneratedRegex("parameter \"(?:[^\"]* )?([^\" ]+)\"")]
    private static partial Regex ParameterName();

    [GeneratedRegex("could not be converted to [^ ]+\\.?")]
    private static partial Regex ClrType();

    [GeneratedRegex(" during deserialization of type '[^']*'\\.?")]
    private static partial Regex DuringType();

    private static partial class Log
    {
        [LoggerMessage(EventId = 2001, Level = LogLevel.Error, Message = "Unhandled error on {Method} {Path}.")]
        public static partial void Unhandled(ILogger logger, Exception exception, string method, string path);

        [LoggerMessage(EventId = 2002, Level = LogLevel.Warning, Message = "Answered {Status} to {Method} {Path}: {ErrorType}: {Reason}")]
        public static partial void Answered(ILogger logger, int status, string method, string path, string errorType, string reason);
    }
}
