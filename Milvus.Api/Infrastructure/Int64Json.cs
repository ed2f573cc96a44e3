using System.Buffers.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Milvus.Api.Infrastructure;

/// <summary>
/// 64-bit integers for clients whose numbers are doubles (JavaScript), as Milvus's REST API does: a request with
/// <c>Accept-Type-Allow-Int64: false</c> gets every int64 and uint64 value of its answer as a JSON string of its digits;
/// every request may give them either way. The default stays JSON numbers.
/// </summary>
public static class Int64Json
{
    /// <summary>The request header that asks for 64-bit values as strings.</summary>
    public const string HeaderName = "Accept-Type-Allow-Int64";

    private static readonly AsyncLocal<bool> AsStrings = new();

    /// <summary>Whether the current request asked for 64-bit values as strings.</summary>
    public static bool WritesStrings => AsStrings.Value;

    /// <summary>Adds the converters to <paramref name="options"/>.</summary>
    public static void AddConverters(JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Converters.Add(new Int64Converter());
        options.Converters.Add(new UInt64Converter());
    }

    /// <summary>Reads the header of each request, for the answer's serialization.</summary>
    public static IApplicationBuilder UseInt64Json(this IApplicationBuilder app) => app.Use((context, next) =>
    {
        AsStrings.Value = context.Request.Headers.TryGetValue(HeaderName, out var value) && string.Equals(value.ToString().Trim(), "false", StringComparison.OrdinalIgnoreCase);
        return next(context);
    });

    private static ReadOnlySpan<byte> Digits(ref Utf8JsonReader reader)
    {
        if (reader.ValueIsEscaped || reader.HasValueSequence)
        {
            // Digits need no escaping, and a short value is never split: anything else is not a number.
            throw new JsonException("A 64-bit value given as a string must hold only its digits.");
        }
        return reader.ValueSpan;
    }

    private sealed class Int64Converter : JsonConverter<long>
    {
        public override long Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            if (reader.TokenType == JsonTokenType.String)
            {
                return Utf8Parser.TryParse(Digits(ref reader), out long value, out var used) && used == reader.ValueSpan.Length
                    ? value
                    : throw new JsonException("A 64-bit value given as a string must hold only its digits.");
            }
            return reader.GetInt64();
        }

        public override void Write(Utf8JsonWriter writer, long value, JsonSerializerOptions options)
        {
            if (WritesStrings)
            {
                Span<byte> buffer = stackalloc byte[20];
                Utf8Formatter.TryFormat(value, buffer, out var written);
                writer.WriteStringValue(buffer[..written]);
            }
            else
            {
                writer.WriteNumberValue(value);
            }
        }
    }

    private sealed class UInt64Converter : JsonConverter<ulong>
    {
        public override ulong Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            if (reader.TokenType == JsonTokenType.String)
            {
                return Utf8Parser.TryParse(Digits(ref reader), out ulong value, out var used) && used == reader.ValueSpan.Length
                    ? value
                    : throw new JsonException("A 64-bit value given as a string must hold only its digits.");
            }
            return reader.GetUInt64();
        }

        public override void Write(Utf8JsonWriter writer, ulong value, JsonSerializerOptions options)
        {
            if (WritesStrings)
            {
                Span<byte> buffer = stackalloc byte[20];
                Utf8Formatter.TryFormat(value, buffer, out var written);
                writer.WriteStringValue(buffer[..written]);
            }
            else
            {
                writer.WriteNumberValue(value);
            }
        }
    }
}
