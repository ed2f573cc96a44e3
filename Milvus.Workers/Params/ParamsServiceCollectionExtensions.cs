using Microsoft.Extensions.DependencyInjection;
using Milvus.Domain.Components;
using Milvus.Domain.Params;

namespace Milvus.Workers.Params;

/// <summary>Registers the cluster's run-time parameter overrides.</summary>
public static class ParamsServiceCollectionExtensions
{
    /// <summary>
    /// The overrides kept in the meta store (<see cref="ParamOverrideStore"/>) and the component (role <c>params</c>)
    /// that loads them into the parameter table as it starts and follows every change. The host registers the
    /// <see cref="BaseTable"/>, whose configuration it layers.
    /// </summary>
    public static IServiceCollection AddMilvusParams(this IServiceCollection services)
    {
        services.AddSingleton<ParamOverrideStore>();
        services.AddSingleton<ParamOverridesComponent>();
        services.AddSingleton<IComponent>(sp => sp.GetRequiredService<ParamOverridesComponent>());
        return services;
    }
}
