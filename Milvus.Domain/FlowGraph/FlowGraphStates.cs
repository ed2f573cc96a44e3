namespace Milvus.Domain.FlowGraph;

/// <summary>A snapshot of a graph's progress (seed A.4.1).</summary>
/// <param name="StartTick">The time tick of the first message an input node produced; 0 before any.</param>
/// <param name="NumActiveTasks">Operate calls running now, per node.</param>
/// <param name="NumCompletedTasks">Operate calls finished, per node.</param>
/// <param name="LastTick">The latest time tick each node has emitted.</param>
public sealed record FlowGraphStates(
    ulong StartTick,
    IReadOnlyDictionary<string, int> NumActiveTasks,
    IReadOnlyDictionary<string, long> NumCompletedTasks,
    IReadOnlyDictionary<string, ulong> LastTick);
