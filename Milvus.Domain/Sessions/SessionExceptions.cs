namespace Milvus.Domain.Sessions;

/// <summary>A registration could not be made: its key is taken, or the id counter holds something else than a number.</summary>
public sealed class SessionConflictException(string message) : Exception(message), IMilvusError
{
    public ErrorKind Kind => ErrorKind.Conflict;
}
