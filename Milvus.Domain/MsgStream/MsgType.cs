namespace Milvus.Domain.MsgStream;

/// <summary>The type of a stream message, with the numbers of the design's list (message-stream seed, A.3).</summary>
public enum MsgType : uint
{
    Undefined = 0,

    // Definition requests: collection.
    CreateCollection = 100,
    DropCollection = 101,
    HasCollection = 102,
    DescribeCollection = 103,
    ShowCollections = 104,
    GetSystemConfigs = 105,
    LoadCollection = 106,
    ReleaseCollection = 107,

    // Definition requests: partition.
    CreatePartition = 200,
    DropPartition = 201,
    HasPartition = 202,
    DescribePartition = 203,
    ShowPartitions = 204,
    LoadPartitions = 205,
    ReleasePartitions = 206,

    // Definition requests: segment.
    ShowSegments = 250,
    DescribeSegment = 251,

    // Definition requests: index.
    CreateIndex = 300,
    DescribeIndex = 301,
    DropIndex = 302,

    // Manipulation requests.
    Insert = 400,
    Delete = 401,
    Flush = 402,

    // Query.
    Search = 500,
    SearchResult = 501,
    GetIndexState = 502,
    GetCollectionStatistics = 503,
    GetPartitionStatistics = 504,

    // Data service.
    SegmentInfo = 600,

    // System control.
    TimeTick = 1200,
    QueryNodeStats = 1201,
    LoadIndex = 1202,
    RequestID = 1203,
    RequestTSO = 1204,
    AllocateSegment = 1205,
    SegmentStatistics = 1206,
    SegmentFlushDone = 1207,
}
