using System.Buffers.Binary;

namespace Milvus.Domain.Mq.Nats;

/// <summary>
/// One produce call's batch as the body of one JetStream message, so that JetStream stores it whole or not at all:
/// a version byte (1), the count (u32), each payload's length (u32), then the payloads back to back (little-endian).
/// A message's msg id is its stream sequence plus <see cref="SeqOffset"/>, shifted left by <see cref="IndexBits"/>, plus
/// its index in the batch, so ids increase with the stream's sequence, which JetStream assigns in order for the whole
/// queue. The offset puts every id above 2^40, far from a plain counter as the other backends' ids are, and leaves room
/// for 2^43 − 2^20 batches.
/// </summary>
internal static class NatsMqBatch
{
    /// <summary>Bits of the index within the batch.</summary>
    public const int IndexBits = 20;

    /// <summary>The most payloads in one batch.</summary>
    public const int MaxCount = 1 << IndexBits;

    /// <summary>What is added to the stream sequence before the shift.</summary>
    public const ulong SeqOffset = 1UL << 20;

    private const byte Version = 1;
    private const int CountOffset = 1;
    private const int LengthsOffset = 5;

    /// <summary>The msg id of the payload at <paramref name="index"/> of the JetStream message at <paramref name="seq"/>.</summary>
    public static long MsgId(ulong seq, int index) => ((long)(seq + SeqOffset) << IndexBits) | (uint)index;

    /// <summary>The JetStream sequence that holds <paramref name="msgId"/>; 0 (no message) for an id below the first.</summary>
    public static ulong Seq(long msgId) => msgId >> IndexBits is var shifted && (ulong)shifted > SeqOffset ? (ulong)shifted - SeqOffset : 0;

    /// <summary>The index of <paramref name="msgId"/> within its batch.</summary>
    public static int Index(long msgId) => (int)(msgId & (MaxCount - 1));

    /// <summary>The framed size of <paramref name="payloads"/>.</summary>
    public static long Size(IReadOnlyList<ReadOnlyMemory<byte>> payloads)
    {
        long size = LengthsOffset + (4L * payloads.Count);
        for (var i = 0; i < payloads.Count; i++)
        {
            size += payloads[i].Length;
        }
        return size;
    }

    /// <summary>Frames the batch into a new array of <see cref="Size"/> bytes.</summary>
    public static byte[] Encode(IReadOnlyList<ReadOnlyMemory<byte>> payloads, int size)
    {
        var body = new byte[size];
        body[0] = Version;
        BinaryPrimitives.WriteUInt32LittleEndian(body.AsSpan(CountOffset), (uint)payloads.Count);
        var data = LengthsOffset + (4 * payloads.Count);
        for (var i = 0; i < payloads.Count; i++)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(body.AsSpan(LengthsOffset + (4 * i)), (uint)payloads[i].Length);
            payloads[i].Span.CopyTo(body.AsSpan(data));
            data += payloads[i].Length;
        }
        return body;
    }

    /// <summary>How many payloads a framed batch holds.</summary>
    /// <exception cref="FormatException">The body is not a batch of this queue.</exception>
    public static int Count(ReadOnlySpan<byte> body)
    {
        if (body.Length < LengthsOffset || body[0] != Version)
        {
            throw new FormatException("A JetStream message of the queue's data stream is not a framed batch.");
        }
        var count = BinaryPrimitives.ReadUInt32LittleEndian(body[CountOffset..]);
        return count > MaxCount || LengthsOffset + (4L * count) > body.Length
            ? throw new FormatException("A framed batch's count runs past its body.")
            : (int)count;
    }

    /// <summary>The payloads from <paramref name="start"/> on, at most <paramref name="take"/>, as slices of <paramref name="body"/>.</summary>
    /// <exception cref="FormatException">The body is not a batch of this queue.</exception>
    public static void Decode(ReadOnlyMemory<byte> body, ulong seq, int start, int take, List<MqMessage> into)
    {
        var count = Count(body.Span);
        var span = body.Span;
        long offset = LengthsOffset + (4L * count);
        for (var i = 0; i < count && i < start + take; i++)
        {
            var length = BinaryPrimitives.ReadUInt32LittleEndian(span[(LengthsOffset + (4 * i))..]);
            if (offset + length > body.Length)
            {
                throw new FormatException("A framed batch's payload runs past its body.");
            }
            if (i >= start)
            {
                into.Add(new MqMessage(MsgId(seq, i), body.Slice((int)offset, (int)length)));
            }
            offset += length;
        }
    }
}
