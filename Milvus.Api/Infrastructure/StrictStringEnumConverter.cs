using System.Text.Json;
using System.Text.Json.Serialization;

namespace Milvus.Api.Infrastructure;

/// <summary>
/// Enums as their names, as <see cref="JsonStringEnumConverter"/> writes and reads them (numbers are accepted too, as
/// API.md allows), except that a name padded with whitespace, an empty one or a list of names is refused: the
/// underlying parse would take <c>"EARLIEST "</c> or <c>"Earliest,Latest"</c> for a value.
/// </summary>
public sealed class StrictStringEnumConverter : JsonConverterFactory
{
    private readonly JsonStringEnumConverter _names = new();

    public override bool CanConvert(Type typeToConvert) => _names.CanConvert(typeToConvert);

    public override JsonConverter CreateConverter(Type typeToConvert, JsonSerializerOptions options) =>
        (JsonConverter)Activator.CreateInstance(typeof(Strict<>).MakeGenericType(typeToConvert), _names.CreateConverter(typeToConvert, options))!;

    private sealed class Strict<T>(JsonConverter names) : JsonConverter<T>
        where T : struct, Enum
    {
        private readonly JsonConverter<T> _names = (JsonConverter<T>)names;

        public override T Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            if (reader.TokenType == JsonTokenType.String && reader.GetString() is { } text
                && (text.Length == 0 || char.IsWhiteSpace(text[0]) || char.IsWhiteSpace(text[^1]) || text.Contains(',', StringComparison.Ordinal)))
            {
                throw new JsonException($"'{text}' is not one of the names of {typeof(T).Name}: {string.Join(", ", Enum.GetNames<T>())}.");
            }
            return _names.Read(ref reader, typeToConvert, options);
        }

        public override void Write(Utf8JsonWriter writer, T value, JsonSerializerOptions options) => _names.Write(writer, value, options);
    }
}
