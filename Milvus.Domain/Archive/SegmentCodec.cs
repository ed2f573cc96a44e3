using System.Buffers.Binary;

namespace Milvus.Domain.Archive;

/// <summary>
/// The stored form of a segment: a version byte, then each msg's wire form (<c>TsMsg.Marshal</c>) behind its
/// length as a 4-byte little-endian integer; the whole as base64, because the object store holds strings.
/// </summary>
public static class SegmentCodec
{
    /// <summary>The format version written in the first byte.</summary>
    public const byte FormatVersion = 1;

    /// <summary>The size of the binary form of <paramref name="msgs"/>.</summary>
    public static int BinarySize(IReadOnlyList<byte[]> msgs)
    {
        ArgumentNullException.ThrowIfNull(msgs);
        var size = 1;
        foreach (var msg in msgs)
        {
            size += sizeof(int) + msg.Length;
        }
        return size;
    }

    /// <summary>Encodes the msgs' wire forms as one object.</summary>
    public static string Encode(IReadOnlyList<byte[]> msgs)
    {
        var buffer = new byte[BinarySize(msgs)];
        buffer[0] = FormatVersion;
        var offset = 1;
        foreach (var msg in msgs)
        {
            BinaryPrimitives.WriteInt32LittleEndian(buffer.AsSpan(offset), msg.Length);
            offset += sizeof(int);
            msg.CopyTo(buffer, offset);
            offset += msg.Length;
        }
        return Convert.ToBase64String(buffer);
    }

    /// <summary>The msgs' wire forms, in order.</summary>
    /// <exception cref="SegmentFormatException">The object is not a segment of a known version.</exception>
    public static IReadOnlyList<ReadOnlyMemory<byte>> Decode(string stored)
    {
        ArgumentNullException.ThrowIfNull(stored);
        byte[] buffer;
        try
        {
            buffer = Convert.FromBase64String(stored);
        }
        catch (FormatException ex)
        {
            throw new SegmentFormatException($"A segment object is not base64: {ex.Message}");
        }
        if (buffer.Length == 0 || buffer[0] != FormatVersion)
        {
            throw new SegmentFormatException($"A segment object has format version {(buffer.Length == 0 ? "none" : buffer[0])}; this gateway reads {FormatVersion}.");
        }
        var msgs = new List<ReadOnlyMemory<byte>>();
        var offset = 1;
        while (offset < buffer.Length)
        {
            if (buffer.Length - offset < sizeof(int))
            {
                throw new SegmentFormatException("A segment object ends inside a length prefix.");
            }
            var length = BinaryPrimitives.ReadInt32LittleEndian(buffer.AsSpan(offset));
            offset += sizeof(int);
            if (length < 0 || length > buffer.Length - offset)
            {
                throw new SegmentFormatException("A segment object holds a msg longer than the object.");
            }
            msgs.Add(buffer.AsMemory(offset, length));
            offset += length;
        }
        return msgs;
    }
}
