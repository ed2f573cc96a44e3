using Milvus.Domain.Mq;

namespace Milvus.Domain.MsgStream;

/// <summary>The gateway's own time tick producer (section <c>Milvus:TimeTick</c>).</summary>
public sealed class TimeTickOptions
{
    public const string SectionName = "Milvus:TimeTick";

    /// <summary>The channel into which the ticker also writes every tick, as a <c>TimeTickProvider</c> does.</summary>
    public const string DefaultChannel = "gateway-timetick";

    public bool Enabled { get; set; } = true;

    public int IntervalMs { get; set; } = 200;

    /// <summary>The time tick channel (<c>Milvus:TimeTick:Channel</c>).</summary>
    public string Channel { get; set; } = DefaultChannel;

    /// <summary>The first invalid setting, named by its key, or null when all are valid.</summary>
    public string? Validate() => IntervalMs is >= 1 and <= 60_000 && MqNames.IsValid(Channel)
        ? null
        : "Milvus:TimeTick:IntervalMs must be between 1 and 60000, and Milvus:TimeTick:Channel a valid channel name.";
}
