namespace Milvus.Domain.Params;

/// <summary>A parameter is missing, malformed, or cannot be parsed as the requested type.</summary>
public class ParamException : Exception
{
    public ParamException(string message) : base(message) { }

    public ParamException(string message, Exception inner) : base(message, inner) { }
}

/// <summary>The parameter table has no value for the key.</summary>
public sealed class ParamNotFoundException(string key)
    : ParamException($"Parameter '{key}' is not set.")
{
    /// <summary>The dotted key that was asked for.</summary>
    public string Key { get; } = key;
}
