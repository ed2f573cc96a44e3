using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Milvus.Domain.Mq;

/// <summary>
/// An idempotency key of a produce (<see cref="IMqClient.ProduceAsync(string, IReadOnlyList{ReadOnlyMemory{byte}}, MqProduceKey, CancellationToken)"/>):
/// the client's <see cref="Key"/>, the <see cref="Fingerprint"/> of what the call asks for (so that a key used again
/// for another batch is told apart from a retry), how long the queue keeps the key, and a <see cref="Note"/> that the
/// queue stores with the record and hands back on a replay (the msgstream layer keeps its timestamps there).
/// </summary>
public sealed record MqProduceKey
{
    /// <summary>The longest key.</summary>
    public const int MaxKeyLength = 255;

    /// <summary>The longest a key may be kept.</summary>
    public static readonly TimeSpan MaxLifetime = TimeSpan.FromDays(30);

    /// <summary>The longest note.</summary>
    public const int MaxNoteBytes = 1024 * 1024;

    /// <exception cref="MqInvalidArgumentException">The key, fingerprint, lifetime or note is out of range.</exception>
    public MqProduceKey(string key, ReadOnlyMemory<byte> fingerprint, TimeSpan lifetime, ReadOnlyMemory<byte> note = default)
    {
        if (!IsValid(key))
        {
            throw new MqInvalidArgumentException(InvalidKeyMessage);
        }
        if (fingerprint.Length != FingerprintBytes)
        {
            throw new MqInvalidArgumentException($"A fingerprint has {FingerprintBytes} bytes, not {fingerprint.Length}.");
        }
        if (lifetime <= TimeSpan.Zero || lifetime > MaxLifetime)
        {
            throw new MqInvalidArgumentException($"An idempotency key's lifetime is above 0 and at most {MaxLifetime.TotalDays:0} days.");
        }
        if (note.Length > MaxNoteBytes)
        {
            throw new MqInvalidArgumentException($"A note has at most {MaxNoteBytes} bytes.");
        }
        Key = key;
        Fingerprint = fingerprint;
        Lifetime = lifetime;
        Note = note;
    }

    /// <summary>The number of bytes of a fingerprint (SHA-256).</summary>
    public const int FingerprintBytes = 32;

    /// <summary>What a valid key is, for error answers.</summary>
    public const string InvalidKeyMessage =
        "An idempotency key has 1 to 255 printable ASCII characters (from '!' to '~'; no spaces or control characters).";

    /// <summary>The client's key: 1 to 255 printable ASCII characters.</summary>
    public string Key { get; }

    /// <summary>The SHA-256 of what the call asks for.</summary>
    public ReadOnlyMemory<byte> Fingerprint { get; }

    /// <summary>How long the queue keeps the key after the batch is stored.</summary>
    public TimeSpan Lifetime { get; }

    /// <summary>The caller's bytes, stored with the record and handed back on a replay.</summary>
    public ReadOnlyMemory<byte> Note { get; }

    /// <summary>Whether <paramref name="key"/> is a valid idempotency key.</summary>
    public static bool IsValid(string? key) =>
        key is { Length: > 0 and <= MaxKeyLength } && key.All(c => c is >= '!' and <= '~');

    /// <summary>The key's UTF-8 (here ASCII) bytes.</summary>
    internal byte[] KeyBytes() => Encoding.ASCII.GetBytes(Key);

    /// <summary>
    /// The SHA-256 of a sequence of parts, each length-prefixed so that no two different sequences hash alike by
    /// moving bytes from one part to the next.
    /// </summary>
    public static byte[] FingerprintOf(IEnumerable<ReadOnlyMemory<byte>> parts)
    {
        ArgumentNullException.ThrowIfNull(parts);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Span<byte> length = stackalloc byte[sizeof(long)];
        foreach (var part in parts)
        {
            BinaryPrimitives.WriteInt64BigEndian(length, part.Length);
            hash.AppendData(length);
            hash.AppendData(part.Span);
        }
        return hash.GetHashAndReset();
    }
}

/// <summary>
/// What a keyed produce stored, or had stored: the batch's ids in order, whether this call was a replay (nothing
/// stored now, the ids of the call that first used the key), and the note stored with the key.
/// </summary>
public sealed record MqProduced(IReadOnlyList<long> Ids, bool Replayed, ReadOnlyMemory<byte> Note);
