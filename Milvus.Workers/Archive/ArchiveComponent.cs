using Microsoft.Extensions.Options;
using Milvus.Domain.Archive;
using Milvus.Domain.Components;

namespace Milvus.Workers.Archive;

/// <summary>
/// The archiver in the component states (role <c>archiver</c>), with one subcomponent per channel graph
/// (<c>archiver/&lt;channel&gt;</c>) that carries its input's time tick lag.
/// </summary>
public sealed class ArchiveComponent(ArchiveSupervisor supervisor, IOptions<ArchiveOptions> options) : ComponentBase
{
    public const string ComponentRole = "archiver";

    public override string Role => ComponentRole;

    public override async Task<ComponentStates> GetComponentStatesAsync(CancellationToken cancellationToken)
    {
        var own = await base.GetComponentStatesAsync(cancellationToken).ConfigureAwait(false);
        var info = own.State with { ExtraInfo = [new ExtraInfoPair("enabled", options.Value.Enabled ? "true" : "false")] };
        return own with { State = info, SubcomponentStates = supervisor.GetStates(NodeId) };
    }
}
